package trace

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/hostnet"
)

// evpn is a canned zebra view; the e2e suite's TestCLI traces through a real zebra and
// kernel (programmed, then not).
type evpn struct {
	macs   []frr.EVPNMAC
	neighs []frr.EVPNNeighbor
}

func (e evpn) EVPNMACs(context.Context) ([]frr.EVPNMAC, error)           { return e.macs, nil }
func (e evpn) EVPNNeighbors(context.Context) ([]frr.EVPNNeighbor, error) { return e.neighs, nil }

func TestRun(t *testing.T) {
	remote := frr.EVPNMAC{VNI: 110, MAC: "02:00:00:00:6e:02", Type: "remote", RemoteVTEP: "10.255.1.2"}
	local := frr.EVPNMAC{VNI: 110, MAC: "02:00:00:00:6e:01", Type: "local", Interface: "pe-110"}
	programmed := []hostnet.FDBEntry{{Device: "vni110", VTEP: netip.MustParseAddr("10.255.1.2")}, {Device: "vni110", Master: "br-pe-110"}}
	dup := local
	dup.Duplicate = true
	tests := []struct {
		name   string
		e      evpn
		fdb    []hostnet.FDBEntry
		query  string
		ok     bool
		want   string
		errMsg string
	}{
		{"remote, programmed", evpn{macs: []frr.EVPNMAC{remote}}, programmed, "02:00:00:00:6E:02", true, "programmed: vni110 → 10.255.1.2 in br-pe-110", ""},
		{"remote, other VTEP in the kernel", evpn{macs: []frr.EVPNMAC{remote}}, []hostnet.FDBEntry{{Device: "vni110", VTEP: netip.MustParseAddr("10.255.1.3")}, {Device: "vni110", Master: "br-pe-110"}}, "02-00-00-00-6e-02", false, "NOT programmed: vni110 has no entry towards 10.255.1.2", ""},
		{"remote, bridge misses it", evpn{macs: []frr.EVPNMAC{remote}}, programmed[:1], "02:00:00:00:6e:02", false, "NOT programmed: br-pe-110 does not point", ""},
		{"remote, programmed on the single VXLAN device", evpn{macs: []frr.EVPNMAC{remote}},
			[]hostnet.FDBEntry{{Device: "vni-svd", VTEP: netip.MustParseAddr("10.255.1.2")}, {Device: "vni-svd", Master: "br-pe-svd"}}, "02:00:00:00:6e:02", true, "programmed: vni-svd → 10.255.1.2 in br-pe-svd", ""},
		{"remote, single VXLAN device's bridge misses it", evpn{macs: []frr.EVPNMAC{remote}},
			[]hostnet.FDBEntry{{Device: "vni-svd", VTEP: netip.MustParseAddr("10.255.1.2")}}, "02:00:00:00:6e:02", false, "NOT programmed: br-pe-svd does not point", ""},
		{"local", evpn{macs: []frr.EVPNMAC{local}}, []hostnet.FDBEntry{{Device: "pe-110", Master: "br-pe-110"}}, "02:00:00:00:6e:01", true, "local, on pe-110", ""},
		{"local, not in the kernel", evpn{macs: []frr.EVPNMAC{local}}, []hostnet.FDBEntry{{Device: "vni110", Master: "br-pe-110"}}, "02:00:00:00:6e:01", false, "NOT in the kernel's forwarding database on pe-110", ""},
		{"local, frozen", evpn{macs: []frr.EVPNMAC{dup}}, []hostnet.FDBEntry{{Device: "pe-110", Master: "br-pe-110"}}, "02:00:00:00:6e:01", false, "FROZEN by duplicate-address detection", ""},
		{"unknown MAC", evpn{}, nil, "02:00:00:00:6e:09", false, "not known to EVPN", ""},
		{"IP through the ARP cache", evpn{macs: []frr.EVPNMAC{remote}, neighs: []frr.EVPNNeighbor{{VNI: 110, IP: netip.MustParseAddr("192.168.110.12"), MAC: remote.MAC, Type: "remote", RemoteVTEP: "10.255.1.2"}}},
			programmed, "192.168.110.12", true, "192.168.110.12: VNI 110: MAC 02:00:00:00:6e:02 (remote, behind VTEP 10.255.1.2", ""},
		{"unknown IP", evpn{}, nil, "192.168.110.99", false, "not in any L2VNI's ARP/ND cache", ""},
		{"neither", evpn{}, nil, "web2", false, "", `"web2" is neither a MAC address`},
		{"EUI-64 is not a MAC here", evpn{}, nil, "02-00-00-ff-fe-00-6e-02", false, "", "is neither a MAC address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fdb := func(net.HardwareAddr) ([]hostnet.FDBEntry, error) { return tt.fdb, nil }
			res, err := Run(context.Background(), tt.e, fdb, tt.query)
			if tt.errMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errMsg) {
					t.Fatalf("error %v, want %q", err, tt.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.OK() != tt.ok || !strings.Contains(res.Text(), tt.want) {
				t.Errorf("OK %t (want %t), text lacks %q:\n%s", res.OK(), tt.ok, tt.want, res.Text())
			}
		})
	}
}
