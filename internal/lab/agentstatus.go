package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", agentPort, path), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agent of %s: %w", node, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("agent of %s: %s %s: %s", node, path, resp.Status, body)
	}
	return body, nil
}
