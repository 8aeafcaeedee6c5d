package lab

// Kubernetes mode (Options.Kubernetes): the lab runs a control plane of its own (etcd and
// kube-apiserver as background processes, like the agents), weft-controller, and agents in
// --mode kubernetes that take the desired state, their labels and their node index from the
// API server, as on a real cluster. Nodes are Node objects without kubelets.
//
// The agents run inside their node namespaces, where 127.0.0.1 is not the host's loopback.
// Like cluster nodes they reach the API server over a management network: each node gets a
// veth to the host namespace, and the API server listens on an address of its own on a device
// in the host namespace (<lab>-api), which the host's tools (kubectl, the controller) reach
// directly. The agents stay unchanged: they see the same node namespace as in host mode.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/frrproc"
	"github.com/weftnet/weft/internal/ipam"
)

// KubeNamespace is the namespace of weft's objects in a Kubernetes-mode lab, as in the chart.
const KubeNamespace = "weft-system"

// The management network of a Kubernetes-mode lab is one /24 of 198.18.0.0/15 (reserved for
// network tests, RFC 2544, so it clashes with no real network): node i's veth is
// .2i (host) – .2i+1 (node), the API server is .254. Each lab takes the first /24 not yet
// on the host, so several labs can run at once.
const (
	mgmtBase   = "198.18"
	mgmtAPI    = 254
	mgmtDev    = "mgmt0"
	kubeDir    = "kube"
	fieldOwner = "weft-lab"
)

// ControlPlane is the Kubernetes control plane of a lab in Kubernetes mode.
type ControlPlane struct {
	// Server is the API server's URL, reachable from the host and from every node namespace.
	Server string `json:"server"`
	// Assets is the directory with kube-apiserver, etcd and kubectl (KUBEBUILDER_ASSETS).
	Assets string `json:"assets"`
	// Manifests is the directory of the lab's weft objects as applied, for kubectl apply -f.
	Manifests     string `json:"manifests"`
	EtcdPID       int    `json:"etcdPID"`
	APIServerPID  int    `json:"apiServerPID"`
	ControllerPID int    `json:"controllerPID"`
}

// Kubectl is the path of the lab's kubectl: the one built with its API servers, else PATH's.
func (s *State) Kubectl() (string, error) {
	for _, c := range s.Clusters {
		if c.ControlPlane != nil {
			p := filepath.Join(c.ControlPlane.Assets, "kubectl")
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return exec.LookPath("kubectl")
}

// Kubeconfig is the admin kubeconfig of cluster (the lab's only cluster when empty).
func (s *State) Kubeconfig(cluster string) (string, error) {
	if !s.Kubernetes {
		return "", fmt.Errorf("lab %s does not run in Kubernetes mode (weft lab up --kubernetes)", s.Name)
	}
	if cluster == "" {
		if len(s.Clusters) != 1 {
			return "", fmt.Errorf("lab %s has %d clusters: say which (--cluster)", s.Name, len(s.Clusters))
		}
		cluster = s.Clusters[0].Name
	}
	c, err := s.Cluster(cluster)
	if err != nil {
		return "", err
	}
	return c.Kubeconfig, nil
}

// checkKubeOptions finds the binaries of Kubernetes mode before anything is built.
func checkKubeOptions(o Options) error {
	if o.KubeAssets == "" {
		return errors.New("Kubernetes mode needs kube-apiserver, etcd and kubectl, and none were found in the cache: build them once with `hack/envtest-assets.sh` in a checkout of weft (about 5 min; it prints KUBEBUILDER_ASSETS=DIR), then run again, or pass --kube-assets DIR")
	}
	for _, bin := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(o.KubeAssets, bin)); err != nil {
			return fmt.Errorf("Kubernetes mode needs %s (hack/envtest-assets.sh builds it): %w", bin, err)
		}
	}
	if _, err := os.Stat(o.ControllerBinary); err != nil {
		return fmt.Errorf("weft-controller binary: %w", err)
	}
	return nil
}

// startKubernetes builds the management network and brings up every cluster's control
// plane (startControlPlane), each with its own API server and controller on the one API
// address, on ports of their own.
func (s *State) startKubernetes(ctx context.Context, o Options) error {
	s.Kubernetes = true
	for i := range s.Nodes {
		// The desired state lives in the API server: no files to fall back on.
		s.Nodes[i].ConfigDir = ""
	}
	apiIP, err := s.buildMgmtNet(ctx)
	if err != nil {
		return err
	}
	for i := range s.Clusters {
		if err := s.startControlPlane(ctx, o, &s.Clusters[i], apiIP); err != nil {
			return fmt.Errorf("cluster %s: %w", s.Clusters[i].Name, err)
		}
	}
	return nil
}

// startControlPlane brings up cluster c's control plane and weft-controller on apiIP,
// installs the CRDs and the cluster's objects and creates its Node objects; it returns once
// the controller has given each of its nodes an index (which the agents need to start),
// recorded in s.Nodes.
// It is long because the steps run in this order and each needs the last (etcd, API server, CRDs, webhooks, controller, objects, Nodes).
func (s *State) startControlPlane(ctx context.Context, o Options, c *Cluster, apiIP string) error {
	dir := filepath.Join(Dir(s.Name), kubeDir, c.Name)
	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o700); err != nil {
		return err
	}
	c.ControlPlane = &ControlPlane{Assets: o.KubeAssets, Manifests: filepath.Join(dir, "manifests")}
	token, err := writeAuth(dir)
	if err != nil {
		return err
	}
	if c.ControlPlane.EtcdPID, err = startEtcd(o.KubeAssets, s.Name+"-"+c.Name, dir); err != nil {
		return err
	}
	if err := s.save(); err != nil {
		return err
	}
	port, err := freePort(apiIP)
	if err != nil {
		return err
	}
	c.ControlPlane.Server = "https://" + net.JoinHostPort(apiIP, strconv.Itoa(port))
	pid, err := startDaemon(dir, "kube-apiserver", nil, filepath.Join(o.KubeAssets, "kube-apiserver"),
		"--etcd-servers="+etcdURL(dir),
		"--bind-address="+apiIP, "--advertise-address="+apiIP, "--secure-port="+strconv.Itoa(port),
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file="+filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/24",
	)
	if err != nil {
		return err
	}
	c.ControlPlane.APIServerPID = pid
	if err := s.save(); err != nil {
		return err
	}
	if err := waitReady(ctx, c.ControlPlane.Server, token, pid); err != nil {
		return err
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(c.Kubeconfig, c.ControlPlane.Server, filepath.Join(dir, "certs", "apiserver.crt"), token); err != nil {
		return err
	}
	if err := s.save(); err != nil {
		return err
	}
	kc, err := kubeClient(c.Kubeconfig)
	if err != nil {
		return err
	}
	if err := installCRDs(ctx, kc); err != nil {
		return err
	}
	// A new client: the first one's REST mapper was filled before the CRDs existed.
	if kc, err = kubeClient(c.Kubeconfig); err != nil {
		return err
	}
	if err := s.writeObjects(ctx, kc, c); err != nil {
		return err
	}
	// The webhooks as in a cluster, reached by URL on the management network.
	whPort, err := freePort(apiIP)
	if err != nil {
		return err
	}
	if err := installWebhooks(ctx, kc, apiIP, whPort); err != nil {
		return err
	}
	pid, err = startDaemon(dir, "weft-controller", []string{"KUBECONFIG=" + c.Kubeconfig}, o.ControllerBinary,
		"--namespace", KubeNamespace,
		"--webhook-ip", apiIP,
		"--webhook-port", strconv.Itoa(whPort),
		"--cert-dir", filepath.Join(dir, "webhook-certs"),
		"--leader-elect=false",
		"--metrics-bind-address=0",
		"--health-probe-bind-address=0",
	)
	if err != nil {
		return err
	}
	c.ControlPlane.ControllerPID = pid
	if err := s.save(); err != nil {
		return err
	}
	if err := s.kubectlApply(ctx, c, c.ControlPlane.Manifests); err != nil {
		return fmt.Errorf("apply the lab's objects: %w", err)
	}
	if err := s.createNodes(ctx, kc, c); err != nil {
		return err
	}
	return s.waitNodeIndexes(ctx, kc, c)
}

// buildMgmtNet creates the API server's address on the host and a veth from the host to
// every node namespace, and returns the API server's address.
func (s *State) buildMgmtNet(ctx context.Context) (string, error) {
	net24, err := freeMgmtNet(ctx)
	if err != nil {
		return "", err
	}
	apiIP := fmt.Sprintf("%s.%d", net24, mgmtAPI)
	// The address needs a device of its own in the host namespace. Not every kernel has dummy
	// devices, so it is a veth whose other end sits in an otherwise empty namespace: deleting
	// that namespace (as Down does with every namespace of the lab) removes both ends.
	anchor, dev := s.ns(kubeDir), s.Name+"-api"
	if err := addNS(ctx, anchor); err != nil {
		return "", err
	}
	for _, args := range [][]string{
		{"link", "add", dev, "type", "veth", "peer", "name", "eth0", "netns", anchor},
		{"addr", "add", apiIP + "/32", "dev", dev},
		{"-n", anchor, "link", "set", "eth0", "up"},
		{"link", "set", dev, "up"},
	} {
		if err := ip(ctx, args...); err != nil {
			return "", err
		}
	}
	for i, n := range s.Nodes {
		host, node := fmt.Sprintf("%s.%d", net24, 2*(i+1)), fmt.Sprintf("%s.%d", net24, 2*(i+1)+1)
		port := fmt.Sprintf("%s-m%d", s.Name, i+1)
		for _, args := range [][]string{
			{"link", "add", port, "type", "veth", "peer", "name", mgmtDev, "netns", n.Netns},
			{"addr", "add", host + "/31", "dev", port},
			{"link", "set", port, "up"},
			{"-n", n.Netns, "addr", "add", node + "/31", "dev", mgmtDev},
			{"-n", n.Netns, "link", "set", mgmtDev, "up"},
			// Only the API server: the node's own routes stay weft's business.
			{"-n", n.Netns, "route", "add", apiIP + "/32", "via", host},
		} {
			if err := ip(ctx, args...); err != nil {
				return "", err
			}
		}
	}
	return apiIP, nil
}

// freeMgmtNet picks the first 198.18.x.0/24 that no host address is in.
func freeMgmtNet(ctx context.Context) (string, error) {
	out, err := run(ctx, "ip", "-4", "-o", "addr", "show")
	if err != nil {
		return "", err
	}
	for x := 0; x < 256; x++ {
		p := netip.MustParsePrefix(fmt.Sprintf("%s.%d.0/24", mgmtBase, x))
		used := false
		for _, f := range strings.Fields(out) {
			if a, err := netip.ParsePrefix(f); err == nil && p.Contains(a.Addr()) {
				used = true
				break
			}
		}
		if !used {
			return fmt.Sprintf("%s.%d", mgmtBase, x), nil
		}
	}
	return "", fmt.Errorf("no free /24 in %s.0.0/16 for the management network", mgmtBase)
}

// writeAuth writes the API server's token file (one admin token, returned) and its service
// account signing key pair.
func writeAuth(dir string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := hex.EncodeToString(b)
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(token+",weft-lab-admin,weft-lab-admin,system:masters\n"), 0o600); err != nil {
		return "", err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "sa.pub"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return "", err
	}
	return token, nil
}

func etcdURL(dir string) string {
	data, _ := os.ReadFile(filepath.Join(dir, "etcd.url"))
	return strings.TrimSpace(string(data))
}

// startEtcd runs etcd (from assets) called name on a free loopback port, with its data in
// dir, and returns its PID; only the API server talks to it.
func startEtcd(assets, name, dir string) (int, error) {
	port, err := freePort("127.0.0.1")
	if err != nil {
		return 0, err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := os.WriteFile(filepath.Join(dir, "etcd.url"), []byte(url+"\n"), 0o644); err != nil {
		return 0, err
	}
	bin := filepath.Join(assets, "etcd")
	args := []string{
		"--name", name, "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", url, "--advertise-client-urls", url,
		// A one-member cluster: the peer port is never dialled (envtest does the same).
		"--listen-peer-urls", "http://localhost:0",
		"--initial-advertise-peer-urls", "http://localhost:0",
		"--initial-cluster", name + "=http://localhost:0",
	}
	// The lab's data dies with the lab: fsync buys nothing (older etcds lack the flag).
	if help, _ := exec.Command(bin, "--help").CombinedOutput(); strings.Contains(string(help), "--unsafe-no-fsync") {
		args = append(args, "--unsafe-no-fsync")
	}
	return startDaemon(dir, "etcd", nil, bin, args...)
}

// freePort returns a TCP port free on addr right now.
func freePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startDaemon runs bin in its own session (it outlives `weft lab up`, like the agents), with
// its output in <dir>/<name>.log.
func startDaemon(dir, name string, env []string, bin string, args ...string) (int, error) {
	logf, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", name, err)
	}
	// Reap it when it exits while this process still runs (the demo, the e2e suite), so no
	// zombie waits for us; after `weft lab up` exits, init does.
	go func() { _ = cmd.Wait() }()
	return cmd.Process.Pid, nil
}

// waitReady polls the API server's /readyz until it answers ok, failing early if the process
// died (its log says why).
func waitReady(ctx context.Context, server, token string, pid int) error {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		// Only readiness is asked here; the kubeconfig written next verifies the certificate.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}}
	return pollWhileRunning(ctx, 90*time.Second, "kube-apiserver", pid, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, server+"/readyz", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("kube-apiserver not ready: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("kube-apiserver not ready: %s", resp.Status)
		}
		return nil
	})
}

// writeKubeconfig writes an admin kubeconfig whose context defaults to weft's namespace.
func writeKubeconfig(path, server, caFile, token string) error {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("API server certificate: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["lab"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["lab"] = &clientcmdapi.Context{Cluster: "lab", AuthInfo: "admin", Namespace: KubeNamespace}
	cfg.CurrentContext = "lab"
	return clientcmd.WriteToFile(*cfg, path)
}

// client is an admin client of the lab's API server, from its kubeconfig.
func kubeClient(kubeconfig string) (client.Client, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}

// writeObjects creates weft's namespace and writes cluster cl's weft objects (the files host
// mode would read) to its ControlPlane.Manifests, which kubectlApply applies.
func (s *State) writeObjects(ctx context.Context, c client.Client, cl *Cluster) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: KubeNamespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", KubeNamespace, err)
	}
	if err := os.MkdirAll(cl.ControlPlane.Manifests, 0o755); err != nil {
		return err
	}
	files := s.clusterFiles(*cl)
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(cl.ControlPlane.Manifests, name), []byte(files[name]), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// createNodes creates one Node per node of cluster cl, labelled with its hostname as a
// kubelet would.
func (s *State) createNodes(ctx context.Context, c client.Client, cl *Cluster) error {
	for _, n := range s.Nodes {
		if n.Cluster != cl.Name {
			continue
		}
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:   n.Name,
			Labels: map[string]string{"kubernetes.io/hostname": n.Name},
		}}
		if err := c.Create(ctx, node); err != nil {
			return fmt.Errorf("create node %s: %w", n.Name, err)
		}
	}
	return nil
}

// waitNodeIndexes waits until cluster cl's weft-controller has annotated each of its Nodes
// with its index, and records the indexes and the VTEP addresses they give.
func (s *State) waitNodeIndexes(ctx context.Context, c client.Client, cl *Cluster) error {
	cidr, err := netip.ParsePrefix(cl.VTEPCIDR)
	if err != nil {
		return err
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if n.Cluster != cl.Name {
			continue
		}
		if err := pollWhileRunning(ctx, 60*time.Second, "weft-controller", cl.ControlPlane.ControllerPID, func() error {
			node := &corev1.Node{}
			if err := c.Get(ctx, client.ObjectKey{Name: n.Name}, node); err != nil {
				return err
			}
			idx, ok := v1alpha1.NodeIndex(node.Annotations)
			if !ok {
				return fmt.Errorf("node %s has no %s annotation yet", n.Name, v1alpha1.NodeIndexAnnotation)
			}
			vtep, err := ipam.NodeAddress(cidr, idx)
			if err != nil {
				return err
			}
			n.Index, n.VTEP = idx, vtep.Addr().String()
			return nil
		}); err != nil {
			return err
		}
	}
	return s.save()
}

// kubeAgentArgs are the flags of an agent in Kubernetes mode (startAgent adds the rest).
func kubeAgentArgs(n *Node) []string {
	return []string{"--mode", "kubernetes", "--node-name", n.Name, "--namespace", KubeNamespace}
}

// downKubernetes stops weft-controller, kube-apiserver and etcd of lab name (st may be nil
// for a lab whose state was lost) and removes the API server's address from the host; the
// node ends of the management veths go with the node namespaces.
func downKubernetes(ctx context.Context, name string, st *State) error {
	var errs []error
	if st != nil {
		for _, c := range st.Clusters {
			if c.ControlPlane == nil {
				continue
			}
			for _, pid := range []int{c.ControlPlane.ControllerPID, c.ControlPlane.APIServerPID, c.ControlPlane.EtcdPID} {
				if pid > 0 {
					if err := frrproc.StopMarked(pid, Dir(name)+"/"); err != nil {
						errs = append(errs, err)
					}
				}
			}
		}
	}
	out, _ := run(ctx, "ip", "-o", "link", "show")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		dev, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if dev == name+"-api" || (strings.HasPrefix(dev, name+"-m") && isDigits(strings.TrimPrefix(dev, name+"-m"))) {
			if err := ip(ctx, "link", "del", dev); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
