package frr

import (
	"embed"
	"fmt"
	"net/netip"
	"strings"
	"text/template"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

// confTemplate is parsed once, at start-up: Render runs on every reconcile and must not pay for
// parsing, and a broken template stops the program (and every test) at once.
var confTemplate = template.Must(template.New("frr").ParseFS(templateFS, "templates/*.tmpl"))

// Secrets resolves neighbor password references when a configuration is rendered.
type Secrets interface {
	// Password returns the value of ref and whether it exists.
	Password(ref SecretRef) (string, bool)
}

// SecretMap is a Secrets backed by a map.
type SecretMap map[SecretRef]string

// Password returns the value stored under ref.
func (m SecretMap) Password(ref SecretRef) (string, bool) {
	p, ok := m[ref]
	return p, ok
}

// ValidPassword reports whether p can be a TCP MD5 password in frr.conf: 1..80 printable ASCII
// characters without whitespace (vtysh splits words on it) and without ! # " ' \ ` (comment
// markers and quoting that vtysh or frr-reload.py would mangle).
func ValidPassword(p string) error {
	if len(p) == 0 || len(p) > 80 {
		return fmt.Errorf("password must be 1..80 characters long, got %d", len(p))
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c <= ' ' || c > '~' {
			return fmt.Errorf("password character %d is not printable ASCII or is whitespace", i+1)
		}
		if strings.IndexByte("!#\"'\\`", c) >= 0 {
			return fmt.Errorf("password character %d is one of ! # \" ' \\ `", i+1)
		}
	}
	return nil
}

// Render turns cfg into frr.conf text, line for line as FRR 8.4.4 prints it back in
// "show running-config", so that reloading an unchanged configuration changes nothing. It
// assumes FRR's "traditional" defaults (no "frr defaults" line, daemons without -F): the
// values it leaves out as defaults are that profile's. Passwords are looked up in secrets here
// and nowhere else; an error names the neighbor but never contains a password.
func Render(cfg *Config, secrets Secrets) (string, error) {
	v, err := newView(cfg, secrets)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(v.sizeHint)
	if err := confTemplate.ExecuteTemplate(&b, "frr.conf.tmpl", v); err != nil {
		return "", fmt.Errorf("execute frr.conf template: %w", err)
	}
	return b.String(), nil
}

// The view types hold exactly what the templates print, already validated, formatted and in
// FRR's order. Empty strings and nil pointers mean "not rendered".
type (
	view struct {
		IPForwarding   bool
		IPv6Forwarding bool
		VRFs           []vrfView
		Routers        []routerView
		PrefixLists4   []prefixLine
		PrefixLists6   []prefixLine
		RouteMaps      []routeMapView
		BFDProfiles    []bfdView
		sizeHint       int
	}
	vrfView struct {
		Name, VNI string
	}
	routerView struct {
		ASN, VRF, RouterID string
		GR                 *grView
		Neighbors          []neighborView
		IPv4, IPv6         *unicastView
		EVPN               *evpnView
	}
	grView struct {
		StalePathTime, RestartTime string
	}
	neighborView struct {
		// Model is the neighbor as given: the template reads a setting FRR prints as it is
		// stored from here (.Model.X); the fields below are the ones FRR prints otherwise
		// (defaults left out, numbers formatted, secrets looked up).
		Model           *Neighbor
		ID              string
		Interface       bool
		RemoteAS        string
		BFD             bool
		BFDProfile      string
		Password        string
		Port            string
		EBGPMultihop    string
		Keepalive, Hold string
		ConnectTime     string
		// Not printed in the neighbor block: the address families and the sort key.
		ipv4, ipv6, evpn        bool
		routeMapIn, routeMapOut string
		addr                    netip.Addr
	}
	unicastView struct {
		Networks  []string
		Neighbors []afNeighborView
	}
	afNeighborView struct {
		ID, RouteMapIn, RouteMapOut string
		NextHopSelf                 bool
	}
	evpnView struct {
		Neighbors       []string
		AdvertiseAllVNI bool
		VNIs            []vniView
		// DADOff renders "no dup-addr-detection"; DADMaxMoves and DADTime are empty for FRR's
		// default thresholds, which bgpd does not print.
		DADOff                       bool
		DADMaxMoves, DADTime         string
		AdvertiseIPv4, AdvertiseIPv6 bool
		RD                           string
		ImportRTs, ExportRTs         []string
	}
	vniView struct {
		VNI, RD              string
		ImportRTs, ExportRTs []string
	}
	prefixLine struct {
		Name, Seq, Action, Prefix, GE, LE string
	}
	routeMapView struct {
		Name, Action, Seq, MatchIPv4, MatchIPv6 string
	}
	bfdView struct {
		Name                                                     string
		DetectMultiplier, TransmitInterval, ReceiveInterval, TTL string
		PassiveMode, EchoMode                                    bool
	}
)
