package hostnet

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/weftnet/weft/internal/plan"
)

// TestObjectErrorJSON: /status shows a kernel failure's owner and text (a node-level failure
// has no owner), and a client reads the same failure back.
func TestObjectErrorJSON(t *testing.T) {
	for _, c := range []struct {
		e    *ObjectError
		want string
	}{
		{&ObjectError{Owner: plan.Ref{Kind: "L2VNI", Namespace: "ns", Name: "web"}, Err: errors.New("bridge: file exists")},
			`{"owner":{"kind":"L2VNI","namespace":"ns","name":"web"},"error":"bridge: file exists"}`},
		{&ObjectError{Err: errors.New("remove stale devices: busy")}, `{"error":"remove stale devices: busy"}`},
	} {
		got, err := json.Marshal(c.e)
		if err != nil || string(got) != c.want {
			t.Errorf("json.Marshal(%v) = %s, %v; want %s", c.e, got, err, c.want)
		}
		var back ObjectError
		if err := json.Unmarshal(got, &back); err != nil || back.Owner != c.e.Owner || back.Error() != c.e.Error() {
			t.Errorf("read back %s: %v, %v; want %v", got, &back, err, c.e)
		}
	}
}
