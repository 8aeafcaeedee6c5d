package frr

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/frrtest"
)

// reloadConfig is a small but complete node: an underlay session, EVPN with vni blocks, one
// L3VNI with a host session. extraVNIs adds that many more vni blocks.
func reloadConfig(extraVNIs int) *Config {
	cfg := &Config{
		IPForwarding: true, IPv6Forwarding: true,
		BFDProfiles: []BFDProfile{{Name: "fast", ReceiveIntervalMs: u32p(100), TransmitIntervalMs: u32p(100)}},
		Router: Router{
			ASN: 65001, RouterID: netip.MustParseAddr("10.255.0.1"),
			Neighbors: []Neighbor{{
				Address: netip.MustParseAddr("192.168.1.0"), RemoteAS: "65000",
				BFD: true, BFDProfile: "fast", IPv4Unicast: true, EVPN: true,
			}},
			IPv4Networks: []netip.Prefix{netip.MustParsePrefix("10.255.0.1/32")},
			EVPN: EVPN{
				AdvertiseAllVNI:  true,
				DupAddrDetection: DupAddrDetection{MaxMoves: 10, TimeSeconds: 60},
				VNIs: []EVPNVNI{
					{VNI: 100, RD: "10.255.0.1:100", ImportRTs: []string{"65000:100"}, ExportRTs: []string{"65000:100"}},
				},
			},
		},
		VRFs: []VRF{{
			Name: "red", VNI: 200, ASN: 65001, RouterID: netip.MustParseAddr("10.255.0.1"),
			Neighbors: []Neighbor{{
				Address: netip.MustParseAddr("192.169.10.2"), RemoteAS: "65100", IPv4Unicast: true,
				RouteMapIn: "host_red_in", RouteMapOut: "host_red_out",
			}},
			AdvertiseIPv4: true, ImportRTs: []string{"65000:200"}, ExportRTs: []string{"65000:200"},
		}},
		RouteMaps: []RouteMap{
			{Name: "host_red_in", Entries: []RouteMapEntry{{Seq: 10, Action: Permit}}},
			{Name: "host_red_out", Entries: []RouteMapEntry{{Seq: 10, Action: Permit}}},
		},
	}
	for i := 0; i < extraVNIs; i++ {
		v := uint32(101 + i)
		cfg.Router.EVPN.VNIs = append(cfg.Router.EVPN.VNIs, EVPNVNI{VNI: v, RD: "10.255.0.1:" + u32(v)})
	}
	return cfg
}

func mustRender(t *testing.T, cfg *Config) string {
	t.Helper()
	s, err := Render(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runningAs returns FRR's running configuration in the form of a rendered file (see
// TestGoldenAcceptedByFRR for the two normalizations).
func runningAs(t *testing.T, f *frrtest.FRR) string {
	t.Helper()
	rc, err := f.RunningConfig()
	if err != nil {
		t.Fatal(err)
	}
	got := sortVNIBlocks(frrtest.StripHeader(rc))
	if f.Install().Major >= 10 {
		return canonicalBlocks(strings.ReplaceAll(got, " ebgp-multihop\n", " ebgp-multihop 255\n"))
	}
	return got
}

// wantRunning is conf as runningAs returns it when FRR runs conf.
func wantRunning(f *frrtest.FRR, conf string) string {
	want := sortVNIBlocks(withoutPositiveForwarding(conf))
	if f.Install().Major >= 10 {
		return canonicalBlocks(want)
	}
	return want
}

func TestReloaderApply(t *testing.T) {
	f := frrtest.Start(t, frrtest.Options{})
	ctx := context.Background()
	path := filepath.Join(f.ConfDir(), "frr.conf")
	r := &Reloader{Pathspace: f.Pathspace(), Vtysh: f.Install().Vtysh, ReloadScript: f.Install().ReloadScript, ConfigPath: path}

	base := mustRender(t, reloadConfig(0))
	plusOne := mustRender(t, reloadConfig(1))

	steps := []struct {
		name        string
		text        string
		wantChanged bool
		wantErr     string
		// wantRunning is the configuration FRR must run afterwards.
		wantRunning string
	}{
		{name: "apply from empty", text: base, wantChanged: true, wantRunning: base},
		{name: "same text is skipped", text: base, wantChanged: false, wantRunning: base},
		{name: "one more vni block", text: plusOne, wantChanged: true, wantRunning: plusOne},
		{
			name: "value FRR refuses is rejected by --test",
			// Shape-valid, but restart-time is 0..4095: vtysh refuses the line.
			text:    strings.Replace(plusOne, " no bgp default ipv4-unicast\n", " no bgp default ipv4-unicast\n bgp graceful-restart restart-time 5000\n bgp graceful-restart\n", 1),
			wantErr: "--test rejected the configuration (running configuration unchanged)", wantRunning: plusOne,
		},
		{
			name:    "injected line is rejected by the shape check",
			text:    strings.Replace(plusOne, "exit-vrf\n", "exit-vrf\nline vty\n", 1),
			wantErr: "has no known shape", wantRunning: plusOne,
		},
		{name: "last good text is still known", text: plusOne, wantChanged: false, wantRunning: plusOne},
		{
			name: "change bgpd refuses while applying is rolled back",
			// Syntax is fine, so --test passes; bgpd refuses ebgp-multihop on an unnumbered
			// session when the line is applied.
			text: strings.Replace(plusOne, " neighbor 192.168.1.0 remote-as 65000\n",
				" neighbor eth9 interface remote-as external\n neighbor eth9 ebgp-multihop 3\n neighbor 192.168.1.0 remote-as 65000\n", 1),
			wantErr: "rolled back", wantRunning: plusOne,
		},
		{name: "back to base", text: base, wantChanged: true, wantRunning: base},
	}
	for _, s := range steps {
		start := time.Now()
		changed, err := r.Apply(ctx, s.text)
		took := time.Since(start)
		t.Logf("%s: changed=%v in %v, err: %v", s.name, changed, took.Round(time.Millisecond), err)
		switch {
		case s.wantErr == "" && err != nil:
			t.Fatalf("%s: %v", s.name, err)
		case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
			t.Fatalf("%s: error %v, want one containing %q", s.name, err, s.wantErr)
		case changed != s.wantChanged:
			t.Fatalf("%s: changed = %v, want %v", s.name, changed, s.wantChanged)
		}
		if s.wantErr == "" && !s.wantChanged && took > 50*time.Millisecond {
			t.Errorf("%s: a skipped apply took %v", s.name, took)
		}
		if got, want := runningAs(t, f), wantRunning(f, s.wantRunning); got != want {
			t.Fatalf("%s: FRR runs something else:\n%s", s.name, lineDiff(want, got))
		}
		saved, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(saved) != s.wantRunning {
			t.Fatalf("%s: %s does not hold the applied configuration:\n%s", s.name, path, lineDiff(s.wantRunning, string(saved)))
		}
	}
	if leftovers, _ := filepath.Glob(filepath.Join(f.ConfDir(), ".frr.conf.new-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

// TestReloaderSkipTest measures the +1 change with and without the separate --test run.
func TestReloaderSkipTest(t *testing.T) {
	f := frrtest.Start(t, frrtest.Options{})
	ctx := context.Background()
	for _, skip := range []bool{false, true} {
		if err := f.Reset(); err != nil {
			t.Fatal(err)
		}
		r := &Reloader{Pathspace: f.Pathspace(), Vtysh: f.Install().Vtysh, ReloadScript: f.Install().ReloadScript, ConfigPath: filepath.Join(f.ConfDir(), "frr.conf"), SkipTest: skip}
		if _, err := r.Apply(ctx, mustRender(t, reloadConfig(0))); err != nil {
			t.Fatal(err)
		}
		plusOne := mustRender(t, reloadConfig(1))
		start := time.Now()
		if changed, err := r.Apply(ctx, plusOne); err != nil || !changed {
			t.Fatalf("skipTest=%v: changed=%v err=%v", skip, changed, err)
		}
		t.Logf("+1 vni block with SkipTest=%v: %v", skip, time.Since(start).Round(time.Millisecond))
		if got, want := runningAs(t, f), wantRunning(f, plusOne); got != want {
			t.Fatalf("skipTest=%v: %s", skip, lineDiff(want, got))
		}
	}
}

// TestReloaderInvalidate: a Reloader skips a text it applied, even when FRR lost it; after
// Invalidate (what the agent does when FRR restarted) the same text is loaded again.
func TestReloaderInvalidate(t *testing.T) {
	f := frrtest.Start(t, frrtest.Options{})
	ctx := context.Background()
	r := &Reloader{Pathspace: f.Pathspace(), Vtysh: f.Install().Vtysh, ReloadScript: f.Install().ReloadScript, ConfigPath: filepath.Join(f.ConfDir(), "frr.conf")}
	text := mustRender(t, reloadConfig(0))
	if _, err := r.Apply(ctx, text); err != nil {
		t.Fatal(err)
	}
	if err := f.Reset(); err != nil { // FRR forgets its configuration, as after a restart
		t.Fatal(err)
	}
	running := func() string {
		rc, err := f.RunningConfig()
		if err != nil {
			t.Fatal(err)
		}
		return rc
	}
	if changed, err := r.Apply(ctx, text); err != nil || changed {
		t.Fatalf("same text: changed %v, err %v; want a skipped apply", changed, err)
	}
	if strings.Contains(running(), "router bgp") {
		t.Fatal("control: the reset did not clear FRR's configuration")
	}
	r.Invalidate()
	if changed, err := r.Apply(ctx, text); err != nil || !changed {
		t.Fatalf("after Invalidate: changed %v, err %v; want a reload", changed, err)
	}
	if !strings.Contains(running(), "router bgp") {
		t.Errorf("after Invalidate the configuration is not back:\n%s", running())
	}
}

func TestReloaderSessions(t *testing.T) {
	f := frrtest.Start(t, frrtest.Options{})
	ctx := context.Background()
	r := &Reloader{Pathspace: f.Pathspace(), Vtysh: f.Install().Vtysh, ReloadScript: f.Install().ReloadScript, ConfigPath: filepath.Join(f.ConfDir(), "frr.conf")}

	got, err := r.Sessions(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("without bgp: sessions %v, err %v", got, err)
	}
	cfg := reloadConfig(0)
	cfg.Router.Neighbors = append(cfg.Router.Neighbors, Neighbor{Interface: "eth7", RemoteAS: RemoteASExternal, EVPN: true})
	if _, err := r.Apply(ctx, mustRender(t, cfg)); err != nil {
		t.Fatal(err)
	}
	got, err = r.Sessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Session{{VRF: "default", Neighbor: "192.168.1.0"}, {VRF: "default", Neighbor: "eth7"}, {VRF: "red", Neighbor: "192.169.10.2"}}
	if len(got) != len(want) {
		t.Fatalf("sessions %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].VRF != want[i].VRF || got[i].Neighbor != want[i].Neighbor {
			t.Errorf("session %d is %+v, want %+v", i, got[i], want[i])
		}
		// Nothing answers on the other side: the session cannot be up.
		if !slices.Contains([]string{"Idle", "Connect", "Active"}, got[i].State) {
			t.Errorf("session %+v: state %q, want Idle, Connect or Active", got[i], got[i].State)
		}
	}
}

// TestReloaderInterfaceAddrs reads a real zebra's view of the namespace's addresses.
func TestReloaderInterfaceAddrs(t *testing.T) {
	f := frrtest.Start(t, frrtest.Options{})
	r := &Reloader{Pathspace: f.Pathspace(), Vtysh: f.Install().Vtysh, ReloadScript: f.Install().ReloadScript, ConfigPath: filepath.Join(f.ConfDir(), "frr.conf")}
	p := netip.MustParsePrefix("10.255.0.42/32")
	if out, err := exec.Command("ip", "-n", f.Netns(), "addr", "add", p.String(), "dev", "lo").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := r.InterfaceAddrs(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(got["lo"], p) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("zebra never listed %s on lo: %v", p, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReloaderVersion asks a real FRR for its release: the one frrtest started.
func TestReloaderVersion(t *testing.T) {
	f := frrtest.Start(t, frrtest.Options{})
	r := &Reloader{Pathspace: f.Pathspace(), Vtysh: f.Install().Vtysh, ReloadScript: f.Install().ReloadScript, ConfigPath: filepath.Join(f.ConfDir(), "frr.conf")}
	v, err := r.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.Major != f.Install().Major || !strings.HasPrefix(v.Text, fmt.Sprintf("%d.%d", v.Major, v.Minor)) {
		t.Errorf("FRR says release %+v; frrtest started FRR %d", v, f.Install().Major)
	}
	t.Logf("FRR %s: zebra address check %v", v, v.ZebraMissesAddresses())
}

func TestParseVersion(t *testing.T) {
	for _, tt := range []struct {
		in           string
		major, minor int
		text         string
		missesAddrs  bool
	}{
		{"FRRouting 10.3 (lab-node1-rt) on Linux(6.1.0-28-amd64).\nCopyright 1996-2005 Kunihiro Ishiguro, et al.\n", 10, 3, "10.3", false},
		{"FRRouting 8.4.4 (node) on Linux(6.1.0).\n", 8, 4, "8.4.4", true},
		{"FRRouting 9.1.2 (x) on Linux(6.1).\n", 9, 1, "9.1.2", true},
		{"FRRouting 10.5-dev-my-build (x) on Linux(6.1).\n", 10, 5, "10.5-dev-my-build", false},
		{"FRRouting 11.0 (x) on Linux(6.12).\n", 11, 0, "11.0", false},
	} {
		v, err := ParseVersion(tt.in)
		if err != nil || v.Major != tt.major || v.Minor != tt.minor || v.Text != tt.text || v.ZebraMissesAddresses() != tt.missesAddrs {
			t.Errorf("ParseVersion(%q) = %+v, %v (misses addresses %v); want %d.%d %q, misses %v", tt.in, v, err, v.ZebraMissesAddresses(), tt.major, tt.minor, tt.text, tt.missesAddrs)
		}
	}
	for _, bad := range []string{"", "% Unknown command", "Quagga 1.2 (x)", "FRRouting x.y"} {
		if v, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) = %+v, want an error", bad, v)
		}
	}
	if !(Version{}).ZebraMissesAddresses() {
		t.Error("an unknown release must keep zebra's address check")
	}
}

func TestParseInterfaceAddrs(t *testing.T) {
	flat := `{"lo":{"status":"up","vrfName":"default","addresses":["10.255.0.1/32","::1/128"]},
		"br-pe-110":{"status":"up","vrfName":"red","addresses":[]},"pe-100":{"status":"up","vrfName":"red","addresses":["192.169.10.1/24"]}}`
	perVRF := `{"default":{"lo":{"status":"up","addresses":["10.255.0.1/32","::1/128"]}},
		"red":{"br-pe-110":{"status":"up","addresses":[]},"pe-100":{"status":"up","addresses":["192.169.10.1/24"]}}}`
	want := map[string][]netip.Prefix{
		"lo":     {netip.MustParsePrefix("10.255.0.1/32"), netip.MustParsePrefix("::1/128")},
		"pe-100": {netip.MustParsePrefix("192.169.10.1/24")},
	}
	for name, in := range map[string]string{"flat": flat, "per VRF": perVRF} {
		got, err := parseInterfaceAddrs([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(want) || !slices.Equal(got["lo"], want["lo"]) || !slices.Equal(got["pe-100"], want["pe-100"]) {
			t.Errorf("%s: got %v, want %v", name, got, want)
		}
	}
	if _, err := parseInterfaceAddrs([]byte("% Unknown command")); err == nil {
		t.Error("want an error for output that is not JSON")
	}
}

func TestParseSessions(t *testing.T) {
	tests := []struct {
		name string
		json string
		want []Session
	}{
		{name: "no bgp", json: "{\n}\n"},
		{name: "instance without neighbors", json: `{"default":{"vrfId":0,"vrfName":"default"}}`},
		{
			name: "two vrfs",
			json: `{"red":{"vrfId":-1,"vrfName":"red","192.169.10.2":{"remoteAs":0,"bgpState":"Idle"}},
				"default":{"vrfId":0,"vrfName":"default","veth1":{"bgpState":"Established","hostname":"x"},"192.168.9.2":{"bgpState":"Active"}}}`,
			want: []Session{
				{VRF: "default", Neighbor: "192.168.9.2", State: "Active"},
				{VRF: "default", Neighbor: "veth1", State: "Established"},
				{VRF: "red", Neighbor: "192.169.10.2", State: "Idle"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSessions([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if _, err := parseSessions([]byte("% BGP instance not found")); err == nil {
		t.Error("garbage parsed without an error")
	}
}

func TestRedact(t *testing.T) {
	in := "line 3: % Invalid value:  neighbor 10.0.0.1 password s3cr3t!x\nmore"
	got := string(redact([]byte(in)))
	if strings.Contains(got, "s3cr3t") || !strings.Contains(got, "password <redacted>") {
		t.Errorf("redact(%q) = %q", in, got)
	}
}
