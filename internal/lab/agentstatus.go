package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/weftnet/weft/internal/agent"
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
	body, err := agent.Get(ctx, client, fmt.Sprintf("127.0.0.1:%d", agentPort), path)
	if err != nil {
		return body, fmt.Errorf("%s: %w", node, err)
	}
	return body, nil
}
