package plan

import (
	"reflect"
	"testing"
)

// TestKernelObjectsNameTheirResource: every entry of the kernel plan carries the resource
// that asked for it, so a kernel failure is reported on that resource and no other.
func TestKernelObjectsNameTheirResource(t *testing.T) {
	p := mustBuild(t, validResources())
	var got []Ref
	got = append(got, p.Kernel.Underlay.Owner)
	for _, v := range p.Kernel.L3VNIs {
		got = append(got, v.Owner)
	}
	for _, v := range p.Kernel.L2VNIs {
		got = append(got, v.Owner)
	}
	if p.Kernel.Passthrough != nil {
		got = append(got, p.Kernel.Passthrough.Owner)
	}
	// Applied lists the same resources; each kernel entry must name its own.
	sortRefs(got)
	if !reflect.DeepEqual(got, p.Applied) {
		t.Errorf("kernel plan owners = %v, want %v", got, p.Applied)
	}
}

// TestGeneratedNamesAreRecognised: the names weft generates are the names the kernel layer
// treats as weft's, and names users choose are not.
func TestGeneratedNamesAreRecognised(t *testing.T) {
	for _, vni := range []uint32{1, 110, 16777215} {
		for _, n := range []string{BridgeName(vni), VXLANName(vni), RouterVethName(vni)} {
			if !IsRouterDeviceName(n) || IsHostVethName(n) {
				t.Errorf("%s: router name %v, host veth name %v; want true, false", n, IsRouterDeviceName(n), IsHostVethName(n))
			}
		}
		if n := HostVethName(vni); !IsHostVethName(n) || IsRouterDeviceName(n) {
			t.Errorf("%s: host veth name %v, router name %v; want true, false", n, IsHostVethName(n), IsRouterDeviceName(n))
		}
	}
	if !IsRouterDeviceName(PassthroughRouterVeth) || !IsHostVethName(PassthroughHostVeth) {
		t.Error("the passthrough veth ends are not recognised")
	}
	for _, n := range []string{"eth0", "lo", "br-pe-", "vnix", "pe-1a", "host-", "br-hs-5", "blue", "vni99999999999"} {
		if IsRouterDeviceName(n) || IsHostVethName(n) {
			t.Errorf("%q is taken for a generated name", n)
		}
	}
}
