package frrtest

import (
	"strings"
)

// headerLines are lines of "show running-config" that say nothing about the configuration a
// test pushed: vtysh's framing, the version and defaults banner, the machine's hostname, and
// the vtysh.conf setting Start writes.
func isHeader(l string) bool {
	switch {
	case l == "", l == "Building configuration...", l == "Current configuration:", l == "end",
		l == "service integrated-vtysh-config",
		strings.HasPrefix(l, "frr version "), strings.HasPrefix(l, "frr defaults "),
		strings.HasPrefix(l, "hostname "):
		return true
	}
	return false
}

// StripHeader removes the header lines from a "show running-config" output, and the "!" that
// vtysh prints before them, leaving the configuration as a file would hold it.
func StripHeader(rc string) string {
	var b strings.Builder
	for _, l := range strings.Split(rc, "\n") {
		if !isHeader(l) {
			b.WriteString(l)
			b.WriteByte('\n')
		}
	}
	return strings.TrimPrefix(b.String(), "!\n")
}

// IsEmptyConfig reports whether a running configuration holds nothing but header lines,
// separators and forwarding settings (which follow the namespace's sysctls and cannot be
// deleted).
func IsEmptyConfig(rc string) bool {
	for _, l := range strings.Split(rc, "\n") {
		switch {
		case isHeader(l), l == "!", l == "ip forwarding", l == "no ip forwarding",
			l == "ipv6 forwarding", l == "no ipv6 forwarding":
		default:
			return false
		}
	}
	return true
}

// resetCommands returns the configuration commands that delete every top-level block of rc,
// in an order FRR accepts (VRF instances before the default one, which they depend on). ok is
// false when rc holds a block it does not know how to delete.
func resetCommands(rc string) (cmds []string, ok bool) {
	var vrfRouters, routers, routeMaps, prefixLists, vrfs []string
	var bfd bool
	seen := map[string]bool{}
	add := func(list *[]string, cmd string) {
		if !seen[cmd] {
			seen[cmd] = true
			*list = append(*list, cmd)
		}
	}
	for _, l := range strings.Split(rc, "\n") {
		if l == "" || l[0] == ' ' {
			continue
		}
		f := strings.Fields(l)
		switch {
		case isHeader(l), l == "!", l == "exit", l == "exit-vrf",
			l == "ip forwarding", l == "no ip forwarding", l == "ipv6 forwarding", l == "no ipv6 forwarding":
		case len(f) == 5 && f[0] == "router" && f[1] == "bgp" && f[3] == "vrf":
			add(&vrfRouters, "no "+l)
		case len(f) == 3 && f[0] == "router" && f[1] == "bgp":
			add(&routers, "no "+l)
		case len(f) >= 2 && f[0] == "route-map":
			add(&routeMaps, "no route-map "+f[1])
		case len(f) >= 3 && (f[0] == "ip" || f[0] == "ipv6") && f[1] == "prefix-list":
			add(&prefixLists, "no "+f[0]+" prefix-list "+f[2])
		case l == "bfd":
			bfd = true
		case len(f) == 2 && f[0] == "vrf":
			add(&vrfs, "no "+l)
		default:
			return nil, false
		}
	}
	cmds = append(cmds, vrfRouters...)
	cmds = append(cmds, routers...)
	cmds = append(cmds, routeMaps...)
	cmds = append(cmds, prefixLists...)
	if bfd {
		cmds = append(cmds, "no bfd")
	}
	cmds = append(cmds, vrfs...)
	return cmds, true
}

// ReloadDiff splits the output of "frr-reload.py --test" into the lines it would delete and
// the lines it would add, each with its context lines as frr-reload.py prints them.
func ReloadDiff(out string) (del, add []string) {
	var cur *[]string
	for _, l := range strings.Split(out, "\n") {
		switch l {
		case "Lines To Delete":
			cur = &del
			continue
		case "Lines To Add":
			cur = &add
			continue
		case "", "===============", "============":
			continue
		}
		if cur != nil {
			*cur = append(*cur, l)
		}
	}
	return del, add
}
