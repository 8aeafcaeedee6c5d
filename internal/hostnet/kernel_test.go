package hostnet

import (
	"testing"

	"github.com/weftnet/weft/internal/umltest"
)

// needVRF runs the calling test here when the kernel has VRF, else inside UML; it returns
// false when the test already ran there (the caller returns).
func needVRF(t *testing.T) bool {
	t.Helper()
	requireRoot(t)
	return umltest.Need(t, HasVRF, "vrf", "bridge", "vxlan", "veth")
}
