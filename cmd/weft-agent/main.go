// Command weft-agent reconciles one node: FRR in the router namespace and the kernel objects
// around it, from YAML files (host mode) or the API server (Kubernetes mode).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/agent"
	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/ipam"
	"github.com/weftnet/weft/internal/plan"
	"github.com/weftnet/weft/internal/segments"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "weft-agent:", err)
		os.Exit(1)
	}
}

// run parses the flags, wires the agent's parts and serves until a signal. It is long
// because it is the program's wiring, read top to bottom: each block is one flag group or
// one part, and splitting it would only pass the flags around.
func run() error {
	var (
		mode         = flag.String("mode", "host", "where the desired state comes from: host (YAML files) or kubernetes")
		nodeName     = flag.String("node-name", os.Getenv("NODE_NAME"), "this node's name (required; default $NODE_NAME)")
		namespace    = flag.String("namespace", envOr("POD_NAMESPACE", "weft-system"), "namespace of weft's objects (Kubernetes mode)")
		nodeIndex    = flag.Int("node-index", -1, "this node's index, from which its addresses derive (required in host mode)")
		nodeLabels   = flag.String("node-labels", "", "this node's labels, k=v,k=v (host mode)")
		configDir    = flag.String("config-dir", "/etc/weft", "directory of YAML files of the API kinds (host mode)")
		routerNetns  = flag.String("router-netns", "weft", "name of the router network namespace")
		frrPathspace = flag.String("frr-pathspace", "", "FRR pathspace (-N) of the router's FRR; default: the router namespace name")
		frrConfig    = flag.String("frr-config", "", "frr.conf path the agent writes; default /etc/frr/<pathspace>/frr.conf")
		statusAddr   = flag.String("status-addr", "127.0.0.1:9489", "listen address of /healthz, /readyz, /status, /sessions and /metrics")
		stateDir     = flag.String("state-dir", hostnet.DefaultStateDir, "where the agent remembers moved NICs")
		firstSeen    = flag.String("first-seen-file", "", "where the agent remembers when it first saw each object of --config-dir, its age when two claim one VNI or VRF (host mode; default <state-dir>/first-seen.json)")
		vtysh        = flag.String("vtysh", frr.DefaultVtysh, "the FRR installation's vtysh")
		reloadScript = flag.String("frr-reload-script", frr.DefaultReloadScript, "the FRR installation's frr-reload.py")
		lastApplied  = flag.String("last-applied-file", "/var/lib/weft/last-applied.json", "where the agent keeps the last applied version of each resource, so a failing object keeps its state across restarts (empty: in memory only)")
		resync       = flag.Duration("resync", time.Minute, "period of full reconciles without events")
		logLevel     = flag.String("log-level", "info", "debug, info, warn or error")
		segmentsFile = flag.String("segments-file", segments.DefaultPath, "where the agent lists the applied L2VNIs for weft-cni (empty: nowhere)")
		kernelLayout = flag.String("kernel-layout", plan.LayoutAuto, "router namespace layout: auto (one VLAN-aware bridge and one VXLAN device for every VNI when the kernel can and FRR is release 9 or later, else a bridge and a VXLAN device per VNI), per-vni, or single-vxlan (docs/design.md)")
		refresh      = flag.Bool("neighbour-refresh", true, "keep idle workloads' neighbour entries confirmed, so their MAC+IP routes stay in EVPN while they are silent (off only to see what happens without it)")
	)
	flag.Parse()

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	slog.SetDefault(log)

	switch *mode {
	case "host":
		if *nodeName == "" || *nodeIndex == -1 {
			return errors.New("--node-name and --node-index are required in host mode")
		}
		if err := ipam.CheckNodeIndex(*nodeIndex); err != nil {
			return fmt.Errorf("--node-index: %w", err)
		}
	case "kubernetes":
		// Labels and index come from the Node object (the controller allocates the index).
		if *nodeName == "" {
			return errors.New("--node-name (or $NODE_NAME) is required in kubernetes mode")
		}
	default:
		return fmt.Errorf("--mode %q: want host or kubernetes", *mode)
	}
	singleVXLAN, err := plan.WantsSingleVXLAN(*kernelLayout, hostnet.HasSingleVXLAN())
	if err != nil {
		return fmt.Errorf("--kernel-layout %w", err)
	}
	labels, err := plan.ParseLabels(*nodeLabels)
	if err != nil {
		return fmt.Errorf("--node-labels: %w", err)
	}
	if _, ok := labels["kubernetes.io/hostname"]; !ok {
		labels["kubernetes.io/hostname"] = *nodeName
	}
	pathspace := *frrPathspace
	if pathspace == "" {
		pathspace = *routerNetns
	}
	if err := hostnet.CheckNamespaceName(*routerNetns); err != nil {
		return fmt.Errorf("--router-netns: %w", err)
	}
	if err := hostnet.CheckNamespaceName(pathspace); err != nil {
		return fmt.Errorf("--frr-pathspace: %w", err)
	}
	confPath := *frrConfig
	if confPath == "" {
		confPath = "/etc/frr/" + pathspace + "/frr.conf"
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var (
		src            agent.Source
		triggers       <-chan struct{}
		afterReconcile func(context.Context, agentapi.Report)
	)
	if *mode == "kubernetes" {
		ks, writer, err := kubernetesSource(ctx, *nodeName, *namespace, log)
		if err != nil {
			return err
		}
		// Passwords come from Secrets here: keep them out of every log line.
		log = slog.New(agent.RedactHandler{Handler: log.Handler(), Source: ks})
		slog.SetDefault(log)
		writer.Log = log
		src, triggers, afterReconcile = ks, ks.Triggers(), writer.Write
	} else {
		seenFile := *firstSeen
		if seenFile == "" {
			seenFile = filepath.Join(*stateDir, "first-seen.json")
		}
		fs := &agent.FileSource{Dir: *configDir, StateFile: seenFile, Log: log}
		if triggers, err = fs.Watch(ctx); err != nil {
			return err
		}
		src = fs
	}
	reloader := &frr.Reloader{Pathspace: pathspace, ConfigPath: confPath, Vtysh: *vtysh, ReloadScript: *reloadScript}
	reg.MustRegister(agent.NewFRRCollector(reloader, log))
	a := &agent.Agent{
		Node:    plan.Node{Name: *nodeName, Labels: labels, Index: *nodeIndex, SingleVXLAN: singleVXLAN},
		Source:  src,
		FRR:     reloader,
		Kernel:  &hostnet.Applier{StateDir: *stateDir, Log: log},
		Router:  hostnet.Namespace{Name: *routerNetns},
		Log:     log,
		Metrics: agent.NewMetrics(reg),

		AfterReconcile:  afterReconcile,
		SegmentsFile:    *segmentsFile,
		StatusAddr:      *statusAddr,
		LastAppliedFile: *lastApplied,
	}
	if *refresh {
		a.Refresher = hostnet.NewRefresher(hostnet.Namespace{Name: *routerNetns}, log)
	}

	frrRestarts := agent.WatchFRR(ctx, pathspace, reloader, log)
	merged := agent.Merge(ctx, triggers, frrRestarts)

	srv := &http.Server{Addr: *statusAddr, Handler: a.Handler(reg), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("status server", "error", err)
			stop()
		}
	}()
	log.Info("weft-agent started", "mode", *mode, "node", *nodeName, "index", *nodeIndex, "configDir", *configDir, "routerNetns", *routerNetns, "frrPathspace", pathspace)
	err = a.Run(ctx, merged, *resync)
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	// Leave FRR and the kernel as they are: the data plane keeps forwarding while the agent
	// is away, and the next agent reconciles from there.
	log.Info("weft-agent stopped; data plane left intact")
	return err
}

// kubernetesSource starts the node-scoped cache and returns the source with the writer of the
// node's RouterNodeStatus.
func kubernetesSource(ctx context.Context, node, namespace string, log *slog.Logger) (*agent.KubeSource, *agent.StatusWriter, error) {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, nil, err
	}
	ks, err := agent.NewKubeSource(cfg, scheme, node, namespace, log)
	if err != nil {
		return nil, nil, err
	}
	if err := ks.Start(ctx); err != nil {
		return nil, nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, nil, err
	}
	return ks, &agent.StatusWriter{Client: c, Namespace: namespace, NodeName: node, Source: ks}, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
