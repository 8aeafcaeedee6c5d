package hostnet

import (
	"net"
	"net/netip"
	"reflect"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TestFDBEntries checks the conversion of the kernel's fdb dump on the entries a remote EVPN
// MAC has (as the e2e suite's TestCLI reads them from a real kernel through FDB): the VXLAN
// device's own entry with the VTEP, the bridge's entry on the VXLAN port, a local port's.
func TestFDBEntries(t *testing.T) {
	mac, _ := net.ParseMAC("02:00:00:00:6e:02")
	other, _ := net.ParseMAC("02:00:00:00:6e:01")
	names := map[int]string{4: "vni110", 3: "br-pe-110", 5: "pe-110"}
	neighs := []netlink.Neigh{
		{LinkIndex: 4, HardwareAddr: mac, Flags: unix.NTF_SELF | unix.NTF_EXT_LEARNED, IP: net.ParseIP("10.255.1.2")},
		{LinkIndex: 4, HardwareAddr: mac, Flags: unix.NTF_MASTER | unix.NTF_EXT_LEARNED, MasterIndex: 3},
		{LinkIndex: 5, HardwareAddr: other, Flags: unix.NTF_MASTER, MasterIndex: 3},
		{LinkIndex: 3, HardwareAddr: mac, Flags: unix.NTF_SELF, State: unix.NUD_PERMANENT, MasterIndex: 3},
	}
	got := fdbEntries(neighs, names, mac)
	want := []FDBEntry{
		{Device: "br-pe-110", Master: "br-pe-110", Static: true},
		{Device: "vni110", VTEP: netip.MustParseAddr("10.255.1.2"), ExternLearned: true},
		{Device: "vni110", Master: "br-pe-110", ExternLearned: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
