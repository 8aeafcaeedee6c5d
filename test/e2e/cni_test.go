package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/weftnet/weft/internal/cniplugin"
	"github.com/weftnet/weft/internal/lab"
	"github.com/weftnet/weft/internal/netnamespace"
)

// cniRuntime runs libcni, the reference runtime library, as a container runtime on a lab node
// would: inside the node's host namespace, so the plugins it executes start there.
type cniRuntime struct {
	node string // the node's host namespace
	cfg  *libcni.CNIConfig
}

func (r cniRuntime) do(f func() error) error { return netnamespace.Do(r.node, f) }

func (r cniRuntime) add(ctx context.Context, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) (*current.Result, error) {
	var res types.Result
	err := r.do(func() error {
		var err error
		res, err = r.cfg.AddNetworkList(ctx, list, rt)
		return err
	})
	if err != nil {
		return nil, err
	}
	return current.NewResultFromResult(res)
}

// podNS makes an empty network namespace for a pod, with IPv6 off so the pod's kernel sends
// nothing by itself: what reaches the fabric comes from the plugin.
func podNS(t *testing.T, name string) string {
	t.Helper()
	ns := labName + "-" + name
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns, err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
	for _, c := range [][]string{
		{"ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"},
		{"ip", "-n", ns, "link", "set", "lo", "up"},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", c, err, out)
		}
	}
	return ns
}

// TestCNI attaches a pod to the L2VNI web by name with weft-cni through libcni: a fixed MAC,
// host-local IPAM, the type-2 route in the fabric before the pod sends anything, pings across
// nodes, CHECK and STATUS; an L2VNI not applied on the node is refused by name; DEL leaves
// nothing behind and is idempotent.
// Long: one pod's life (ADD, CHECK, STATUS, DEL), step by step.
func TestCNI(t *testing.T) {
	ctx := context.Background()
	w2 := workload(t, "web2")
	node1 := node(t, "node1")
	var other string
	for _, n := range st.Nodes {
		if n.Name != node1.Name {
			other = n.Name
		}
	}
	ipamDir := t.TempDir()
	conf := func(l2vni string) *libcni.NetworkConfigList {
		t.Helper()
		text := fmt.Sprintf(`{"cniVersion": "1.1.0", "name": "web", "plugins": [{
  "type": "weft", "l2vni": %q, "segmentsFile": %q, "capabilities": {"mac": true},
  "ipam": {"type": "host-local", "dataDir": %q,
           "ranges": [[{"subnet": "192.168.110.0/24", "rangeStart": "192.168.110.200", "rangeEnd": "192.168.110.209"}]]}}]}`,
			l2vni, lab.SegmentsFile(st, node1.Name), ipamDir)
		list, err := libcni.ConfListFromBytes([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	rtm := cniRuntime{node: node1.Netns, cfg: libcni.NewCNIConfigWithCacheDir([]string{cniDir}, t.TempDir(), nil)}
	list := conf("web")

	if err := rtm.do(func() error { return rtm.cfg.GetStatusNetworkList(ctx, list) }); err != nil {
		t.Fatalf("STATUS with the agent running: %v", err)
	}
	// STATUS fails, with CNI's "plugin not available", when the agent does not answer (here:
	// an address where no agent listens).
	noAgent, err := libcni.ConfListFromBytes([]byte(fmt.Sprintf(`{"cniVersion": "1.1.0", "name": "web", "plugins": [{
  "type": "weft", "l2vni": "web", "segmentsFile": %q, "agentAddr": "127.0.0.1:1"}]}`, lab.SegmentsFile(st, node1.Name))))
	if err != nil {
		t.Fatal(err)
	}
	var cniErr *types.Error
	if err := rtm.do(func() error { return rtm.cfg.GetStatusNetworkList(ctx, noAgent) }); !errors.As(err, &cniErr) || cniErr.Code != types.ErrPluginNotAvailable {
		t.Errorf("STATUS without an agent: %v; want CNI error %d", err, types.ErrPluginNotAvailable)
	}

	// An L2VNI that is not applied on the node is refused, naming it; nothing is left.
	bad := podNS(t, "cnibad")
	rtBad := &libcni.RuntimeConf{ContainerID: "e2e-cni-bad", NetNS: "/run/netns/" + bad, IfName: "eth0"}
	if _, err := rtm.add(ctx, conf("nope"), rtBad); err == nil || !strings.Contains(err.Error(), `L2VNI "nope" is not applied on node "node1"`) {
		t.Errorf("ADD to an L2VNI the node does not have: %v", err)
	}
	if out, _ := exec.Command("ip", "-n", bad, "-br", "link").CombinedOutput(); strings.Contains(string(out), "eth0") {
		t.Errorf("a refused ADD left eth0 in the pod:\n%s", out)
	}

	pod := podNS(t, "cnipod")
	const mac = "02:00:00:00:6e:c8"
	rt := &libcni.RuntimeConf{ContainerID: "e2e-cni-1", NetNS: "/run/netns/" + pod, IfName: "eth0",
		CapabilityArgs: map[string]interface{}{"mac": mac}}
	res, err := rtm.add(ctx, list, rt)
	if err != nil {
		t.Fatalf("ADD: %v", err)
	}
	t.Cleanup(func() { _ = rtm.do(func() error { return rtm.cfg.DelNetworkList(ctx, list, rt) }) })
	if len(res.IPs) != 1 || len(res.Interfaces) != 2 || res.Interfaces[1].Mac != mac || res.Interfaces[1].Sandbox != rt.NetNS {
		t.Fatalf("ADD result: %s", res)
	}
	podIP := res.IPs[0].Address.IP.String()

	// The announcement: the pod has sent nothing, yet another node has its MAC+IP route.
	poll(t, 20*time.Second, "the pod's type-2 route on "+other, func() error {
		out, err := lab.Vtysh(ctx, st, other, "show bgp l2vpn evpn route type macip")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "["+mac+"]:[32]:["+podIP+"]") {
			return fmt.Errorf("no MAC+IP route for %s %s:\n%s", mac, podIP, out)
		}
		return nil
	})
	port := cniplugin.PortName(rt.ContainerID, rt.IfName)
	link, err := exec.Command("ip", "-n", node1.Netns, "-d", "link", "show", "dev", port).CombinedOutput()
	if err != nil || !strings.Contains(string(link), "master br-hs-110") || !strings.Contains(string(link), "addrgenmode none") {
		t.Errorf("host port %s: want it in br-hs-110 with addrgenmode none: %v\n%s", port, err, link)
	}
	poll(t, 20*time.Second, "the pod pings "+w2.Name+" on "+w2.Node, func() error {
		_, err := lab.Exec(ctx, st, "node1", []string{"ip", "netns", "exec", pod, "ping", "-c", "1", "-W", "1", addr(w2.IP)})
		return err
	})
	if err := rtm.do(func() error { return rtm.cfg.CheckNetworkList(ctx, list, rt) }); err != nil {
		t.Errorf("CHECK of a good attachment: %v", err)
	}
	// CHECK notices a port taken out of the bridge.
	if out, err := exec.Command("ip", "-n", node1.Netns, "link", "set", port, "nomaster").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if err := rtm.do(func() error { return rtm.cfg.CheckNetworkList(ctx, list, rt) }); err == nil || !strings.Contains(err.Error(), "not in bridge br-hs-110") {
		t.Errorf("CHECK of a port outside the bridge: %v", err)
	}

	// DEL: nothing left on the node, in the pod or in IPAM; twice, and after the pod is gone.
	for i := range 2 {
		if err := rtm.do(func() error { return rtm.cfg.DelNetworkList(ctx, list, rt) }); err != nil {
			t.Fatalf("DEL %d: %v", i+1, err)
		}
	}
	if _, err := net.InterfaceByName(port); err == nil {
		t.Errorf("%s is in this namespace?", port)
	}
	if out, err := exec.Command("ip", "-n", node1.Netns, "link", "show", "dev", port).CombinedOutput(); err == nil {
		t.Errorf("DEL left the host port:\n%s", out)
	}
	if out, _ := exec.Command("ip", "-n", pod, "-br", "link").CombinedOutput(); strings.Contains(string(out), "eth0") {
		t.Errorf("DEL left eth0 in the pod:\n%s", out)
	}
	entries, _ := os.ReadDir(filepath.Join(ipamDir, "web"))
	for _, e := range entries {
		if net.ParseIP(e.Name()) != nil {
			t.Errorf("DEL left the address %s allocated in host-local", e.Name())
		}
	}
	if out, err := exec.Command("ip", "netns", "del", pod).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if err := rtm.do(func() error { return rtm.cfg.DelNetworkList(ctx, list, rt) }); err != nil {
		t.Errorf("DEL after the pod's namespace is gone: %v", err)
	}
}
