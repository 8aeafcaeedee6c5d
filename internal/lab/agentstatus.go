package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/netnamespace"
)

// AgentStatus fetches a node agent's /status (its last reconcile report) as raw JSON. The
// agent listens on 127.0.0.1 inside the node's namespace, so the connection is made there.
func AgentStatus(ctx context.Context, s *State, node string) (json.RawMessage, error) {
	body, err := agentGet(ctx, s, node, "/status")
	if err != nil {
		return nil, err
	}
	return json.RawMessage(body), nil
}

// agentGet performs a GET on a node agent's status server.
func agentGet(ctx context.Context, s *State, node, path string) ([]byte, error) {
	n, err := s.Node(node)
	if err != nil {
		return nil, err
	}
	client := &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return netnamespace.Dial(ctx, n.Netns, network, addr)
			},
		},
	}
	body, err := agentapi.Get(ctx, client, fmt.Sprintf("127.0.0.1:%d", agentPort), path)
	if err != nil {
		return body, fmt.Errorf("%s: %w", node, err)
	}
	return body, nil
}

// NodeHealth is what weft lab status shows of a node: its agent's last pass and its BGP
// sessions.
type NodeHealth struct {
	// Agent is "converged", "NOT CONVERGED: <why>", "no pass yet" or "unreachable: <why>".
	Agent string `json:"agent"`
	// Failed counts the resources the agent could not apply.
	Failed int `json:"failed"`
	// BGP is "<established>/<sessions> Established", and the other sessions' states.
	BGP string `json:"bgp"`
	// Sessions and BFDPeers are the router's BGP and BFD sessions, read from its FRR now.
	Sessions []frr.Session `json:"sessions"`
	BFDPeers []BFDPeer     `json:"bfdPeers,omitempty"`
}

// Health asks a node's agent for its last pass, and the node's FRR for its BGP and BFD
// sessions now.
func Health(ctx context.Context, s *State, node string) NodeHealth {
	var h NodeHealth
	raw, err := AgentStatus(ctx, s, node)
	var st agentapi.Status
	if err == nil {
		err = json.Unmarshal(raw, &st)
	}
	switch {
	case err != nil:
		h.Agent = "unreachable: " + err.Error()
	case st.Generation == 0:
		h.Agent = "no pass yet"
	case st.Error != "":
		h.Agent = "NOT CONVERGED: " + st.Error
	default:
		h.Agent = "converged"
	}
	h.Failed = len(st.Failed)
	h.Sessions, err = Sessions(ctx, s, node)
	if err != nil {
		h.BGP = "? (" + err.Error() + ")"
	} else {
		est := 0
		var other []string
		for _, x := range h.Sessions {
			if x.State == "Established" {
				est++
			} else {
				other = append(other, x.Neighbor+" "+x.State)
			}
		}
		h.BGP = fmt.Sprintf("%d/%d Established", est, len(h.Sessions))
		if len(other) > 0 {
			h.BGP += " (" + strings.Join(other, ", ") + ")"
		}
	}
	if peers, err := BFDPeers(ctx, s, node); err == nil {
		h.BFDPeers = peers
	}
	return h
}
