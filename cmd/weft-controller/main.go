// Command weft-controller is weft's cluster-wide controller: it allocates node indexes, serves
// the validating webhooks and aggregates per-resource status from the agents' reports.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/certs"
	"github.com/weftnet/weft/internal/nodeindex"
	"github.com/weftnet/weft/internal/status"
	weftwebhook "github.com/weftnet/weft/internal/webhook"
)

// Leader election and its events live in the controller's namespace.
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=weft-system,resources=leases,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",namespace=weft-system,resources=events,verbs=create;patch

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "weft-controller:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		namespace      = flag.String("namespace", envOr("POD_NAMESPACE", "weft-system"), "namespace of weft's objects (the agents read only this one)")
		metricsAddr    = flag.String("metrics-bind-address", ":8080", "metrics listen address; 0 disables")
		probeAddr      = flag.String("health-probe-bind-address", ":8081", "/healthz and /readyz listen address")
		leaderElect    = flag.Bool("leader-elect", true, "elect one active allocator and status writer among replicas")
		webhooks       = flag.Bool("webhooks", true, "serve the validating webhooks")
		webhookPort    = flag.Int("webhook-port", 9443, "webhook server port")
		certDir        = flag.String("cert-dir", "/tmp/weft-webhook-certs", "where the serving certificate is written")
		webhookService = flag.String("webhook-service", "weft-webhook", "name of the webhook Service (the certificate's DNS names)")
		webhookConfig  = flag.String("webhook-config", "weft-validating-webhook-configuration", "ValidatingWebhookConfiguration whose caBundle is kept")
		webhookSecret  = flag.String("webhook-secret", "weft-webhook-cert", "Secret holding the webhook CA and certificate")
		webhookIP      = flag.String("webhook-ip", "", "serve the webhooks on this address only and put it in the certificate (an API server outside the cluster network calls it by URL, as in weft lab up --kubernetes)")
		logLevel       = flag.String("log-level", "info", "debug, info, warn or error")
	)
	flag.Parse()

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	slog.SetDefault(log)
	ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts := ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: *metricsAddr},
		HealthProbeBindAddress:  *probeAddr,
		LeaderElection:          *leaderElect,
		LeaderElectionID:        "weft-controller",
		LeaderElectionNamespace: *namespace,
		// Namespaced kinds are cached from weft's namespace only; Nodes are cluster-scoped
		// and cached as metadata only (see the controllers).
		Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{*namespace: {}}},
	}
	var cm *certs.Manager
	if *webhooks {
		var ips []net.IP
		if *webhookIP != "" {
			ip := net.ParseIP(*webhookIP)
			if ip == nil {
				return fmt.Errorf("--webhook-ip %q: not an IP address", *webhookIP)
			}
			ips = []net.IP{ip}
		}
		opts.WebhookServer = webhook.NewServer(webhook.Options{Host: *webhookIP, Port: *webhookPort, CertDir: *certDir})
		// Uncached: the controller reads one Secret and one webhook configuration, and must
		// not watch every Secret of the namespace.
		direct, err := client.New(cfg, client.Options{Scheme: scheme})
		if err != nil {
			return err
		}
		cm = &certs.Manager{
			Client: direct, Namespace: *namespace, SecretName: *webhookSecret,
			DNSNames: []string{
				fmt.Sprintf("%s.%s.svc", *webhookService, *namespace),
				fmt.Sprintf("%s.%s.svc.cluster.local", *webhookService, *namespace),
			},
			IPAddresses: ips,
			CertDir:     *certDir, WebhookConfig: *webhookConfig, Log: log,
		}
		// The webhook server reads the files when it starts: they must exist first.
		if err := cm.Ensure(ctx); err != nil {
			return fmt.Errorf("webhook certificate: %w", err)
		}
	}
	mgr, err := newManager(cfg, opts, *namespace, log, cm)
	if err != nil {
		return err
	}
	log.Info("weft-controller starting", "namespace", *namespace, "webhooks", *webhooks, "leaderElect", *leaderElect)
	return mgr.Start(ctx)
}

func newManager(cfg *rest.Config, opts ctrl.Options, namespace string, log *slog.Logger, cm *certs.Manager) (ctrl.Manager, error) {
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return nil, fmt.Errorf("manager: %w", err)
	}
	if err := (&nodeindex.Allocator{Client: mgr.GetClient(), Log: log.With("controller", "nodeindex")}).SetupWithManager(mgr); err != nil {
		return nil, err
	}
	if err := (&status.Aggregator{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Namespace: namespace, Log: log.With("controller", "status")}).SetupWithManager(mgr); err != nil {
		return nil, err
	}
	if cm != nil {
		if err := (&weftwebhook.Validator{Reader: mgr.GetCache(), Namespace: namespace}).SetupWithManager(mgr); err != nil {
			return nil, err
		}
		if err := mgr.Add(cm); err != nil {
			return nil, err
		}
		if err := mgr.AddReadyzCheck("webhook", mgr.GetWebhookServer().StartedChecker()); err != nil {
			return nil, err
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	return mgr, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
