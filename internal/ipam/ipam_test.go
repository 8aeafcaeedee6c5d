package ipam

import (
	"net/netip"
	"testing"
)

func TestNodeAddress(t *testing.T) {
	for _, tc := range []struct {
		cidr  string
		index int
		want  string
		err   bool
	}{
		{"10.255.0.0/24", 0, "10.255.0.1/32", false},
		{"10.255.0.0/24", 5, "10.255.0.6/32", false},
		{"10.255.0.0/24", 253, "10.255.0.254/32", false},
		{"10.255.0.0/24", 254, "", true},             // would be broadcast
		{"10.255.0.7/24", 0, "10.255.0.1/32", false}, // host bits are ignored
		{"10.255.0.0/31", 0, "", true},
		{"10.255.0.0/30", 1, "10.255.0.2/32", false},
		{"10.255.0.0/30", 2, "", true},
		{"fd00::/64", 0, "fd00::1/128", false},
		{"fd00::/120", 254, "fd00::ff/128", false},
		{"fd00::/120", 255, "", true},
		{"fd00::/127", 0, "fd00::1/128", false},
		{"10.0.0.0/8", -1, "", true},
	} {
		got, err := NodeAddress(netip.MustParsePrefix(tc.cidr), tc.index)
		checkIndexed(t, "NodeAddress", tc.cidr, tc.index, got, err, tc.want, tc.err)
	}
}

// checkIndexed checks what fn(cidr, index) returned: an error if wantErr, else want.
func checkIndexed(t *testing.T, fn, cidr string, index int, got netip.Prefix, err error, want string, wantErr bool) {
	t.Helper()
	switch {
	case wantErr && err == nil:
		t.Errorf("%s(%s, %d) = %s, want error", fn, cidr, index, got)
	case !wantErr && (err != nil || got.String() != want):
		t.Errorf("%s(%s, %d) = %s, %v; want %s", fn, cidr, index, got, err, want)
	}
}

func TestVethSides(t *testing.T) {
	for _, tc := range []struct {
		cidr    string
		index   int
		router  string
		host    string
		hostErr bool
	}{
		{"192.169.10.0/24", 0, "192.169.10.1/24", "192.169.10.2/24", false},
		{"192.169.10.0/24", 3, "192.169.10.1/24", "192.169.10.5/24", false},
		{"192.169.10.0/24", 252, "192.169.10.1/24", "192.169.10.254/24", false},
		{"192.169.10.0/24", 253, "192.169.10.1/24", "", true},
		{"192.169.10.0/30", 0, "192.169.10.1/30", "192.169.10.2/30", false},
		{"192.169.10.0/30", 1, "192.169.10.1/30", "", true},
		{"fd00:10::/64", 7, "fd00:10::1/64", "fd00:10::9/64", false},
	} {
		p := netip.MustParsePrefix(tc.cidr)
		r, err := RouterSide(p)
		if err != nil || r.String() != tc.router {
			t.Errorf("RouterSide(%s) = %s, %v; want %s", tc.cidr, r, err, tc.router)
		}
		h, err := HostSide(p, tc.index)
		checkIndexed(t, "HostSide", tc.cidr, tc.index, h, err, tc.host, tc.hostErr)
	}
}
