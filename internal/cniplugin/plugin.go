// Package cniplugin is weft-cni, the CNI plugin that attaches a pod or a KubeVirt VM to an
// L2VNI by name: a veth into the pod's network namespace, its host end in the L2VNI's host
// bridge (found in the agent's segments file; the plugin has no API server access), IPAM
// delegated to any IPAM plugin, and an announcement at once, so the workload's type-2 route
// is in the fabric before the workload sends anything.
package cniplugin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ipam"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/segments"
)

// Versions are the CNI spec versions weft-cni speaks.
var Versions = version.PluginSupports("0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")

// Funcs are the plugin's commands, for skel.
var Funcs = skel.CNIFuncs{Add: Add, Del: Del, Check: Check, GC: GC, Status: Status}

// NetConf is weft-cni's network configuration: it names the network (an L2VNI), not a device.
type NetConf struct {
	types.NetConf
	// L2VNI is the name of the L2VNI to attach to; Namespace its namespace when the name
	// alone is ambiguous on the node.
	L2VNI     string `json:"l2vni"`
	Namespace string `json:"namespace,omitempty"`
	// SegmentsFile is the agent's --segments-file; segments.DefaultPath when empty.
	SegmentsFile string `json:"segmentsFile,omitempty"`
	// AgentAddr is the agent's --status-addr, asked by STATUS; by default the address the
	// agent wrote into the segments file.
	AgentAddr string `json:"agentAddr,omitempty"`
	// MAC fixes the workload interface's MAC (a VM keeps its MAC across migrations); the
	// runtimeConfig's and CNI_ARGS' MAC take precedence.
	MAC           string `json:"mac,omitempty"`
	RuntimeConfig struct {
		MAC string `json:"mac,omitempty"`
	} `json:"runtimeConfig,omitempty"`
}

// cniArgs are the CNI_ARGS weft-cni reads.
type cniArgs struct {
	types.CommonArgs
	MAC types.UnmarshallableString `json:"mac,omitempty"`
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// load parses and checks the configuration of one call; mac is the MAC to give the workload
// interface (nil: the kernel's).
func load(args *skel.CmdArgs) (*NetConf, net.HardwareAddr, error) {
	conf := &NetConf{}
	if err := json.Unmarshal(args.StdinData, conf); err != nil {
		return nil, nil, fmt.Errorf("network configuration: %w", err)
	}
	if conf.L2VNI == "" {
		return nil, nil, errors.New(`network configuration: "l2vni" is required: the name of the L2VNI to attach to`)
	}
	if !nameRE.MatchString(conf.L2VNI) {
		return nil, nil, fmt.Errorf(`network configuration: "l2vni" %q is not an object name`, conf.L2VNI)
	}
	if conf.Namespace != "" && !nameRE.MatchString(conf.Namespace) {
		return nil, nil, fmt.Errorf(`network configuration: "namespace" %q is not a namespace name`, conf.Namespace)
	}
	if conf.SegmentsFile == "" {
		conf.SegmentsFile = segments.DefaultPath
	}
	if conf.AgentAddr != "" {
		if _, _, err := net.SplitHostPort(conf.AgentAddr); err != nil {
			return nil, nil, fmt.Errorf(`network configuration: "agentAddr" %q: %w`, conf.AgentAddr, err)
		}
	}
	a := cniArgs{}
	if err := types.LoadArgs(args.Args, &a); err != nil {
		return nil, nil, fmt.Errorf("CNI_ARGS: %w", err)
	}
	macText, field := conf.MAC, `"mac"`
	if a.MAC != "" {
		macText, field = string(a.MAC), "CNI_ARGS MAC"
	}
	if conf.RuntimeConfig.MAC != "" {
		macText, field = conf.RuntimeConfig.MAC, `runtimeConfig "mac"`
	}
	var mac net.HardwareAddr
	if macText != "" {
		var err error
		if mac, err = net.ParseMAC(macText); err != nil || len(mac) != 6 {
			return nil, nil, fmt.Errorf("%s %q is not an Ethernet MAC address", field, macText)
		}
		if mac[0]&1 != 0 || macText == "00:00:00:00:00:00" {
			return nil, nil, fmt.Errorf("%s %q is not a unicast MAC address", field, macText)
		}
	}
	return conf, mac, nil
}

// loadAttachment is load for the commands about one attachment (ADD, DEL, CHECK), which also
// name the interface.
func loadAttachment(args *skel.CmdArgs) (*NetConf, net.HardwareAddr, error) {
	if len(args.IfName) == 0 || len(args.IfName) > 15 || strings.ContainsAny(args.IfName, "/ \t\n:%") || args.IfName == "." || args.IfName == ".." {
		return nil, nil, fmt.Errorf("CNI_IFNAME %q is not an interface name", args.IfName)
	}
	return load(args)
}

// PortName is the host end of a workload's veth: derived from the container and interface,
// so DEL and CHECK find it without state.
func PortName(containerID, ifName string) string {
	sum := sha256.Sum256([]byte(containerID + "/" + ifName))
	return "wf" + hex.EncodeToString(sum[:])[:11]
}

// segment finds the L2VNI of conf on this node and checks its bridge exists.
func segment(conf *NetConf) (segments.Segment, netlink.Link, error) {
	f, err := segments.Read(conf.SegmentsFile)
	if err != nil {
		return segments.Segment{}, nil, err
	}
	seg, err := f.Find(conf.Namespace, conf.L2VNI)
	if err != nil {
		return seg, nil, err
	}
	br, err := netlink.LinkByName(seg.Bridge)
	if err != nil {
		return seg, nil, fmt.Errorf("host bridge %s of L2VNI %q: %w", seg.Bridge, conf.L2VNI, err)
	}
	if br.Type() != "bridge" {
		return seg, nil, fmt.Errorf("host %s of L2VNI %q is a %s, not a bridge", seg.Bridge, conf.L2VNI, br.Type())
	}
	return seg, br, nil
}

// mtu is the L2VNI's MTU: the plan's, else that of the L2VNI's own port in the bridge.
func mtu(seg segments.Segment, br netlink.Link) int {
	if seg.MTU > 0 {
		return seg.MTU
	}
	if l, err := netlink.LinkByName(seg.HostVeth); err == nil {
		return l.Attrs().MTU
	}
	return br.Attrs().MTU
}

// Add attaches the workload: veth, port in the bridge (silent: addrgenmode none, a static FDB
// entry for the workload's MAC), IPAM, addresses and routes in the pod, announcement.
// It is long because each step undoes the earlier ones when it fails, in one deferred
// rollback that needs them all in scope.
func Add(args *skel.CmdArgs) (err error) {
	conf, mac, err := loadAttachment(args)
	if err != nil {
		return err
	}
	seg, br, err := segment(conf)
	if err != nil {
		return err
	}
	m := mtu(seg, br)
	pod, err := ns.GetNS(args.Netns)
	if err != nil {
		return fmt.Errorf("open netns %q: %w", args.Netns, err)
	}
	defer pod.Close()

	port := PortName(args.ContainerID, args.IfName)
	la := netlink.NewLinkAttrs()
	la.Name, la.MTU = port, m
	veth := &netlink.Veth{LinkAttrs: la, PeerName: args.IfName, PeerHardwareAddr: mac, PeerNamespace: netlink.NsFd(int(pod.Fd())), PeerMTU: uint32(m)}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth %s/%s: %w", port, args.IfName, err)
	}
	var ipamDone bool
	defer func() {
		if err == nil {
			return
		}
		_ = netlink.LinkDel(veth)
		if ipamDone {
			_ = ipam.ExecDel(conf.IPAM.Type, args.StdinData)
		}
	}()
	hostPort, err := netlink.LinkByName(port)
	if err != nil {
		return err
	}
	// Silent before it comes up: no link-local address, no frame of the host's own on the
	// tenant segment (docs/design.md, "Tenant segments and the node's own stack").
	if err := os.WriteFile(filepath.Join("/proc/sys/net/ipv6/conf", port, "addr_gen_mode"), []byte("1"), 0o644); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("addrgenmode none on %s: %w", port, err)
	}
	if err := netlink.LinkSetMaster(hostPort, br); err != nil {
		return fmt.Errorf("put %s into %s: %w", port, br.Attrs().Name, err)
	}
	if err := netlink.LinkSetUp(hostPort); err != nil {
		return fmt.Errorf("set %s up: %w", port, err)
	}

	result := &current.Result{CNIVersion: current.ImplementedSpecVersion}
	if conf.IPAM.Type != "" {
		r, err := ipam.ExecAdd(conf.IPAM.Type, args.StdinData)
		if err != nil {
			return fmt.Errorf("IPAM plugin %s: %w", conf.IPAM.Type, err)
		}
		ipamDone = true
		ir, err := current.NewResultFromResult(r)
		if err != nil {
			return fmt.Errorf("IPAM plugin %s result: %w", conf.IPAM.Type, err)
		}
		result.IPs, result.Routes, result.DNS = ir.IPs, ir.Routes, ir.DNS
	}
	podIf := &current.Interface{Name: args.IfName, Sandbox: args.Netns, Mtu: m}
	result.Interfaces = []*current.Interface{{Name: port, Mac: hostPort.Attrs().HardwareAddr.String()}, podIf}
	var podMAC net.HardwareAddr
	err = pod.Do(func(ns.NetNS) error {
		l, err := netlink.LinkByName(args.IfName)
		if err != nil {
			return err
		}
		podMAC = l.Attrs().HardwareAddr
		podIf.Mac = podMAC.String()
		for _, ip := range result.IPs {
			ip.Interface = current.Int(1)
		}
		if len(result.IPs) > 0 {
			return ipam.ConfigureIface(args.IfName, result)
		}
		return netlink.LinkSetUp(l)
	})
	if err != nil {
		return fmt.Errorf("set up %s in %s: %w", args.IfName, args.Netns, err)
	}
	// The announcement must find the bridge port forwarding, or the bridge drops it.
	if err := waitForwarding(port, operUpTimeout); err != nil {
		return err
	}
	err = pod.Do(func(ns.NetNS) error {
		l, err := netlink.LinkByName(args.IfName)
		if err != nil {
			return err
		}
		return announce(l, result.IPs)
	})
	if err != nil {
		return fmt.Errorf("announce %s: %w", args.IfName, err)
	}
	// A static entry (NUD_NOARP; NUD_PERMANENT would make the MAC the bridge's own): the
	// bridge knows the workload at once and forgets it only with the port.
	if err := netlink.NeighAppend(&netlink.Neigh{LinkIndex: hostPort.Attrs().Index, Family: unix.AF_BRIDGE, State: netlink.NUD_NOARP, Flags: netlink.NTF_MASTER, HardwareAddr: podMAC}); err != nil {
		return fmt.Errorf("static FDB entry for %s on %s: %w", podMAC, port, err)
	}
	return types.PrintResult(result, conf.CNIVersion)
}

// Del detaches the workload. It succeeds when there is nothing left to remove: no netns, no
// veth, or an L2VNI that is gone.
func Del(args *skel.CmdArgs) error {
	conf, _, err := loadAttachment(args)
	if err != nil {
		return err
	}
	if conf.IPAM.Type != "" {
		if err := ipam.ExecDel(conf.IPAM.Type, args.StdinData); err != nil {
			return fmt.Errorf("IPAM plugin %s: %w", conf.IPAM.Type, err)
		}
	}
	if l, err := netlink.LinkByName(PortName(args.ContainerID, args.IfName)); err == nil {
		if err := netlink.LinkDel(l); err != nil && !errors.As(err, new(netlink.LinkNotFoundError)) {
			return fmt.Errorf("delete %s: %w", l.Attrs().Name, err)
		}
	}
	if args.Netns == "" {
		return nil
	}
	err = ns.WithNetNSPath(args.Netns, func(ns.NetNS) error {
		l, err := netlink.LinkByName(args.IfName)
		if err != nil {
			return nil
		}
		return netlink.LinkDel(l)
	})
	if _, gone := err.(ns.NSPathNotExistErr); gone {
		return nil
	}
	return err
}

// Check verifies the attachment: the port is in the L2VNI's bridge and up, the workload
// interface has the MAC and MTU of the result, and the bridge has the workload's MAC on the
// port.
func Check(args *skel.CmdArgs) error {
	conf, _, err := loadAttachment(args)
	if err != nil {
		return err
	}
	if conf.RawPrevResult == nil {
		return errors.New("CHECK needs a prevResult")
	}
	if err := version.ParsePrevResult(&conf.NetConf); err != nil {
		return fmt.Errorf("prevResult: %w", err)
	}
	prev, err := current.NewResultFromResult(conf.PrevResult)
	if err != nil {
		return fmt.Errorf("prevResult: %w", err)
	}
	seg, br, err := segment(conf)
	if err != nil {
		return err
	}
	port := PortName(args.ContainerID, args.IfName)
	hostPort, err := netlink.LinkByName(port)
	if err != nil {
		return fmt.Errorf("host port %s: %w", port, err)
	}
	if hostPort.Attrs().MasterIndex != br.Attrs().Index {
		return fmt.Errorf("host port %s is not in bridge %s", port, br.Attrs().Name)
	}
	if hostPort.Attrs().Flags&net.FlagUp == 0 {
		return fmt.Errorf("host port %s is down", port)
	}
	var want *current.Interface
	for _, i := range prev.Interfaces {
		if i.Name == args.IfName && i.Sandbox != "" {
			want = i
		}
	}
	if want == nil {
		return fmt.Errorf("prevResult has no interface %s in a sandbox", args.IfName)
	}
	m := mtu(seg, br)
	err = ns.WithNetNSPath(args.Netns, func(ns.NetNS) error {
		l, err := netlink.LinkByName(args.IfName)
		if err != nil {
			return err
		}
		if got := l.Attrs().HardwareAddr.String(); got != want.Mac {
			return fmt.Errorf("%s has MAC %s, the result says %s", args.IfName, got, want.Mac)
		}
		if l.Attrs().MTU != m {
			return fmt.Errorf("%s has MTU %d, L2VNI %q has %d", args.IfName, l.Attrs().MTU, conf.L2VNI, m)
		}
		return nil
	})
	if err != nil {
		return err
	}
	fdb, err := netlink.NeighList(hostPort.Attrs().Index, unix.AF_BRIDGE)
	if err != nil {
		return fmt.Errorf("FDB of %s: %w", port, err)
	}
	found := false
	for _, n := range fdb {
		if n.HardwareAddr.String() == want.Mac {
			found = true
		}
	}
	if !found {
		return fmt.Errorf("bridge %s has no FDB entry for %s on %s", br.Attrs().Name, want.Mac, port)
	}
	if conf.IPAM.Type != "" {
		return ipam.ExecCheck(conf.IPAM.Type, args.StdinData)
	}
	return nil
}

// GC hands garbage collection to the IPAM plugin: weft-cni keeps no state of its own (a
// workload's veth goes with its network namespace).
func GC(args *skel.CmdArgs) error {
	conf, _, err := load(args)
	if err != nil {
		return err
	}
	if conf.IPAM.Type == "" {
		return nil
	}
	return invoke.DelegateGC(context.Background(), conf.IPAM.Type, args.StdinData, nil)
}

// Status says whether the node's agent is ready (it answers /readyz), so the runtime knows
// whether attachments can work.
func Status(args *skel.CmdArgs) error {
	conf, _, err := load(args)
	if err != nil {
		return err
	}
	f, err := segments.Read(conf.SegmentsFile)
	if err != nil {
		return types.NewError(types.ErrPluginNotAvailable, "weft-agent has not listed its L2VNIs", err.Error())
	}
	addr := conf.AgentAddr
	if addr == "" {
		addr = f.AgentAddr
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return types.NewError(types.ErrPluginNotAvailable, "no address of weft-agent: set agentAddr", fmt.Sprintf("%q: %v", addr, err))
	}
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return types.NewError(types.ErrPluginNotAvailable, "weft-agent is not reachable", err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return types.NewError(types.ErrPluginNotAvailable, "weft-agent is not ready", resp.Status)
	}
	return nil
}
