package main

import (
	"fmt"
	"io"
	"net"

	"github.com/spf13/cobra"

	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/trace"
)

func traceCmd() *cobra.Command {
	var routerNetns, pathspace, output, vtysh string
	var ln labNode
	cmd := &cobra.Command{
		Use:   "trace MAC|IP [--router-netns NAME] [--frr-pathspace NAME] [-o text|json]",
		Short: "Where is this MAC or IP: which VNI, local port or remote VTEP, and is it programmed",
		Long: `trace looks a MAC address, or an IP address through the L2VNIs' ARP/ND caches, up in
this node's EVPN (zebra): the VNI, the local port it was learned on or the remote VTEP behind
which it sits, duplicate-address detection. It then checks the kernel's forwarding database
in the router namespace: a remote MAC is programmed when the VXLAN device points it at that
VTEP and the bridge at the VXLAN device.
--router-netns and --frr-pathspace are the agent's flags of the same names (in the lab:
weft trace MAC --lab lab --node node1, or --router-netns lab-node1-rt). The exit code is 0 when the address was found
and everything agrees, 2 when it was not found or something is not programmed, 1 on errors.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTextOrJSON(output); err != nil {
				return err
			}
			if st, n, err := ln.resolve(); err != nil {
				return err
			} else if n != nil {
				if cmd.Flags().Changed("router-netns") {
					return &exitError{1, fmt.Errorf("--router-netns and --lab/--node both name the router; give one")}
				}
				routerNetns = n.RouterNetns
				if !cmd.Flags().Changed("vtysh") {
					vtysh = st.FRRInstall().Vtysh
				}
			}
			if err := checkNetns("--router-netns", routerNetns); err != nil {
				return err
			}
			if pathspace == "" {
				pathspace = routerNetns
			}
			if err := hostnet.CheckNamespaceName(pathspace); err != nil {
				return &exitError{1, fmt.Errorf("--frr-pathspace: %w", err)}
			}
			ns := hostnet.Namespace{Name: routerNetns}
			fdb := func(mac net.HardwareAddr) ([]hostnet.FDBEntry, error) { return hostnet.FDB(ns, mac) }
			res, err := trace.Run(cmd.Context(), &frr.Reloader{Pathspace: pathspace, Vtysh: vtysh}, fdb, args[0])
			if err != nil {
				return &exitError{1, err}
			}
			return emit(cmd.OutOrStdout(), output, res, func(w io.Writer) { fmt.Fprint(w, res.Text()) }, res.OK())
		},
	}
	f := cmd.Flags()
	f.StringVar(&routerNetns, "router-netns", "weft", "the router network namespace (the agent's --router-netns)")
	f.StringVar(&pathspace, "frr-pathspace", "", "FRR pathspace (-N); default: the router namespace name")
	f.StringVarP(&output, "output", "o", "text", "text or json")
	f.StringVar(&vtysh, "vtysh", frr.DefaultVtysh, "the FRR installation's vtysh (the agent's --vtysh)")
	ln.flags(cmd)
	return cmd
}
