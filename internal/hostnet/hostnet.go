// Package hostnet converges a node's kernel to its plan.KernelPlan over netlink: the router
// network namespace, the underlay NIC moved into it, the VTEP addresses, one VRF + bridge +
// VXLAN per L3VNI, bridge + VXLAN + host veth + host bridge per L2VNI, the passthrough veth,
// and the removal of everything weft owns that the plan no longer lists.
//
// Apply reads each namespace once (one link dump, one address dump), diffs in memory and
// writes only differences, so a reconcile with nothing to do sends no netlink write at all:
// spurious RTM_NEWLINK events make FRR flush neighbours and withdraw routes.
//
// Ownership: every device weft creates is in link group OwnedGroup. A device is weft's only
// with that group and a weft name (pe-*, br-pe-*, vni*, host-*, or the device kind for VRFs
// and Managed host bridges, whose names come from the API); anything else is never changed
// or deleted, even with a weft-like name. Bulk removal moves the doomed devices to a second
// group and deletes the group in one request.
//
// Underlay NICs: before moving a NIC into the router namespace, Apply records its host
// addresses and up/down state in a JSON file under Applier.StateDir (per router namespace);
// the record survives restarts of weft and the loss of the router namespace, and is removed
// once the NIC is back in the host with that state.
//
// Veths are created with both ends directly in their namespaces and explicit, different
// ifindexes: equal numbers on the two ends make the kernel hold a moved end down for ~1 s.
package hostnet

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"

	"github.com/vishvananda/netns"

	"github.com/weftnet/weft/internal/plan"
)

// OwnedGroup is the link group that marks a device as weft's. Together with a weft name
// pattern (or the device kind, for VRFs and Managed host bridges whose names come from the
// API) it is what makes a device weft's to change or delete; and it lets the kernel delete
// many of them in one request.
const OwnedGroup uint32 = 0x77656674 // "weft"

// doomedGroup holds weft devices that are about to be deleted in one batch. A device left in
// it by an interrupted Apply is deleted by the next one.
const doomedGroup uint32 = OwnedGroup + 1

// DefaultStateDir is where Apply remembers the host-side state (addresses, up/down) of the
// underlay NICs it moved, one JSON file per NIC and router namespace, so it can restore them
// after a restart of weft.
const DefaultStateDir = "/var/lib/weft/hostnet"

// Result says what one Apply did.
type Result struct {
	// Created, Updated and Deleted count kernel objects (links, addresses, moved NICs).
	Created, Updated, Deleted int
	// AddedRouterAddrs lists the addresses this Apply added in the router namespace, per
	// device: the ones FRR's zebra must learn from the events that followed.
	AddedRouterAddrs map[string][]netip.Prefix `json:",omitempty"`
	// Absent lists the addresses Reannounce did not find in the router namespace (their
	// device or the address itself is gone): nothing to announce, nothing zebra can learn.
	Absent map[string][]netip.Prefix `json:",omitempty"`
	// Writes counts netlink requests that change the kernel; 0 for a reconcile with nothing
	// to do.
	Writes int
	// Reads counts the namespaces read in full (0 when both cached reads were still valid).
	Reads int
	// NamespaceCreated is true when Apply created the router namespace.
	NamespaceCreated bool
	// Failures lists the objects that did not converge; the others did.
	Failures []*ObjectError
	// Warnings are findings that do not stop convergence but that an operator should act
	// on (an External host bridge with addresses of the host's own).
	Warnings []string `json:",omitempty"`
	// HostBridges are the plan's host bridges as this Apply left them: their ifindex and
	// the ports that are not weft's own (the workloads'). HostMasters maps every link of the
	// host namespace to its master's ifindex (0 for none). The agent tells from both whether
	// a bridge lost ports that still exist (detached workloads).
	HostBridges map[string]BridgePorts `json:"-"`
	HostMasters map[string]int         `json:"-"`
}

// BridgePorts is a host bridge and its workload ports.
type BridgePorts struct {
	Index int
	Ports []string
}

// ObjectError is the failure of one planned object: the L3VNI, L2VNI, passthrough or underlay
// it belongs to, so the caller can report it on the right resource.
type ObjectError struct {
	// Owner is the resource whose kernel objects failed (the Owner of the plan entry); it
	// is zero for a node-level failure, such as removing devices no resource asks for.
	Owner plan.Ref
	Err   error
}

// NodeLevel says whether the failure is the node's, not one resource's.
func (e *ObjectError) NodeLevel() bool { return e.Owner == plan.Ref{} }

func (e *ObjectError) Error() string {
	if e.NodeLevel() {
		return fmt.Sprintf("node: %v", e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Owner, e.Err)
}

func (e *ObjectError) Unwrap() error { return e.Err }

// MarshalJSON writes the failure as /status shows it: the owner (absent for a node-level
// failure) and the error's text.
func (e *ObjectError) MarshalJSON() ([]byte, error) {
	out := struct {
		Owner *plan.Ref `json:"owner,omitempty"`
		Error string    `json:"error"`
	}{Error: e.Err.Error()}
	if !e.NodeLevel() {
		out.Owner = &e.Owner
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON wrote (a client of /status): the error keeps its text.
func (e *ObjectError) UnmarshalJSON(b []byte) error {
	var in struct {
		Owner *plan.Ref `json:"owner"`
		Error string    `json:"error"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*e = ObjectError{Err: errors.New(in.Error)}
	if in.Owner != nil {
		e.Owner = *in.Owner
	}
	return nil
}

// Applier converges the kernel to kernel plans. The zero value is ready to use.
type Applier struct {
	// StateDir holds what Apply must remember about moved NICs; DefaultStateDir when empty.
	StateDir string
	// Log receives warnings (unsupported sysctls, NICs that vanished); slog.Default() when nil.
	Log *slog.Logger
	// NoCache makes every Apply read both namespaces in full. By default an Applier keeps its
	// last read of each namespace and reuses it while netlink events show no change that
	// matters to weft (and for at most a minute); Close releases the event sockets.
	NoCache bool

	// maxVLANs replaces maxVLAN, the VLANs of the single-VXLAN-device bridge, when set
	// (tests: exhausting 4094 VLANs takes 4094 veths).
	maxVLANs int

	mu           sync.Mutex // one Apply at a time
	router, host *nsWatch
}

// Close releases the Applier's event sockets; it can be used again afterwards.
func (a *Applier) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, w := range []**nsWatch{&a.router, &a.host} {
		if *w != nil {
			(*w).close()
			*w = nil
		}
	}
	return nil
}

// watchFor returns the event watch of a namespace, replacing one that watched another
// namespace (a router namespace deleted and created again under the same name); nil when
// caching is off or the watch cannot be set up.
func (a *Applier) watchFor(slot **nsWatch, ns netns.NsHandle) *nsWatch {
	if a.NoCache {
		return nil
	}
	if *slot != nil && (*slot).id == ns.UniqueId() {
		return *slot
	}
	if *slot != nil {
		(*slot).close()
		*slot = nil
	}
	w, err := newWatch(ns)
	if err != nil {
		a.log().Warn("cannot watch netns; reading it in full on every apply", "err", err)
		return nil
	}
	*slot = w
	return w
}

func (a *Applier) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}
