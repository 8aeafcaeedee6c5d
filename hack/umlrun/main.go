// Command umlrun runs one program inside a user-mode-linux guest (internal/umltest) and exits
// with the program's exit code: for running whole test binaries or lab scripts on a kernel
// with VRF, 8021q, dummy and openvswitch.
//
//	go run ./hack/umlrun -modules vrf,8021q -dir internal/hostnet -- ./hostnet.test -test.v
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/weftnet/weft/internal/umltest"
)

func main() {
	modules := flag.String("modules", "vrf,8021q,dummy,bridge,vxlan,veth", "comma-separated modules to load in the guest")
	dir := flag.String("dir", "", "working directory of the program (default: the current one)")
	mem := flag.Int("mem", 512, "guest memory in MiB")
	timeout := flag.Duration("timeout", 10*time.Minute, "limit for the whole run")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: umlrun [flags] -- program [args...]")
		os.Exit(2)
	}
	argv := flag.Args()
	// The guest sees the host's files at the same paths; relative ones need anchoring.
	if p, err := filepath.Abs(argv[0]); err == nil && strings.Contains(argv[0], "/") {
		argv[0] = p
	}
	if *dir != "" {
		if p, err := filepath.Abs(*dir); err == nil {
			*dir = p
		}
	}
	var mods []string
	if *modules != "" {
		mods = strings.Split(*modules, ",")
	}
	out, err := umltest.Run(context.Background(), umltest.Config{Modules: mods, MemoryMB: *mem, Timeout: *timeout, Dir: *dir}, argv...)
	os.Stdout.Write(out.Output)
	if err != nil {
		fmt.Fprintln(os.Stderr, "umlrun:", err)
		os.Exit(125)
	}
	os.Exit(out.ExitCode)
}
