// Package ipam derives a node's addresses from its stable index and the CIDRs in the API.
// It is stateless: the same index and CIDR always give the same address, on every node and
// after every restart.
package ipam

import (
	"fmt"
	"math/big"
	"net/netip"

	"github.com/weftnet/weft/api/v1alpha1"
)

// MaxNodeIndex is the largest node index (the API's limit, see v1alpha1.MaxNodeIndex).
const MaxNodeIndex = v1alpha1.MaxNodeIndex

// CheckNodeIndex reports an index outside 0..MaxNodeIndex.
func CheckNodeIndex(index int) error {
	if index < 0 || index > MaxNodeIndex {
		return fmt.Errorf("node index %d is outside 0..%d", index, MaxNodeIndex)
	}
	return nil
}

// NodeAddress is the address of node index in cidr: the network address + 1 + index, so that
// index 0 never yields the network address. It fails when the address would leave the CIDR or
// be the IPv4 broadcast address. The result has the prefix length of a host (/32 or /128).
func NodeAddress(cidr netip.Prefix, index int) (netip.Prefix, error) {
	a, err := offset(cidr, 1, index)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// RouterSide is the router end of a host veth: the first usable address of cidr, the same on
// every node, with cidr's prefix length.
func RouterSide(cidr netip.Prefix) (netip.Prefix, error) {
	a, err := offset(cidr, 1, 0)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, cidr.Bits()), nil
}

// HostSide is the host end of a host veth on node index: the address after the router side
// + index, with cidr's prefix length.
func HostSide(cidr netip.Prefix, index int) (netip.Prefix, error) {
	a, err := offset(cidr, 2, index)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, cidr.Bits()), nil
}

// offset returns network + base + index, checked to lie inside cidr (and below the IPv4
// broadcast address).
func offset(cidr netip.Prefix, base, index int) (netip.Addr, error) {
	if !cidr.IsValid() {
		return netip.Addr{}, fmt.Errorf("invalid CIDR")
	}
	if index < 0 {
		return netip.Addr{}, fmt.Errorf("node index %d is negative", index)
	}
	cidr = cidr.Masked()
	hostBits := cidr.Addr().BitLen() - cidr.Bits()
	n := new(big.Int).Add(big.NewInt(int64(base)), big.NewInt(int64(index)))
	size := new(big.Int).Lsh(big.NewInt(1), uint(hostBits))
	limit := new(big.Int).Set(size) // n must be < limit
	if cidr.Addr().Is4() {
		limit.Sub(limit, big.NewInt(1)) // exclude broadcast
	}
	if n.Cmp(limit) >= 0 {
		return netip.Addr{}, fmt.Errorf("%s is too small for node index %d", cidr, index)
	}
	raw := cidr.Addr().AsSlice()
	v := new(big.Int).SetBytes(raw)
	v.Add(v, n)
	out := v.FillBytes(make([]byte, len(raw)))
	a, _ := netip.AddrFromSlice(out)
	return a, nil
}
