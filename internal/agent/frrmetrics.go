package agent

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weftnet/weft/internal/frr"
)

// FRRState is what the metrics read from FRR at scrape time; *frr.Reloader implements it
// with one vtysh run per method.
type FRRState interface {
	BGPPeers(ctx context.Context) ([]frr.BGPPeer, error)
	BFDPeers(ctx context.Context) ([]frr.BFDPeer, error)
	EVPNVNIs(ctx context.Context) ([]frr.ZebraVNI, error)
	EVPNMACs(ctx context.Context) ([]frr.EVPNMAC, error)
	EVPNRouteCounts(ctx context.Context) (map[string]int, error)
}

var _ FRRState = (*frr.Reloader)(nil)

// The FRR queries, as the query label of weft_frr_scrape_errors_total names them.
const (
	queryBGP        = "bgp"
	queryBFD        = "bfd"
	queryEVPNVNIs   = "evpn_vnis"
	queryEVPNMACs   = "evpn_macs"
	queryEVPNRoutes = "evpn_routes"
)

var frrQueries = []string{queryBGP, queryBFD, queryEVPNVNIs, queryEVPNMACs, queryEVPNRoutes}

const (
	// frrStatsMaxAge is how long one read of FRR's state serves scrapes: several scrapers,
	// or one scraping often, start the vtysh runs at most this often.
	frrStatsMaxAge = 5 * time.Second
	// frrStatsTimeout bounds one read of all the queries (each costs ~50 ms here).
	frrStatsTimeout = 5 * time.Second
)

var (
	descSessionUp = prometheus.NewDesc("weft_bgp_session_up",
		"1 when the BGP session is established, 0 when not.", []string{"vrf", "peer"}, nil)
	descSessionUptime = prometheus.NewDesc("weft_bgp_session_uptime_seconds",
		"How long the BGP session has been established; 0 when it is not.", []string{"vrf", "peer"}, nil)
	descPrefixesReceived = prometheus.NewDesc("weft_bgp_prefixes_received",
		"Prefixes accepted from the BGP peer, by address family as FRR names it (ipv4Unicast, ipv6Unicast, l2VpnEvpn).", []string{"vrf", "peer", "afi"}, nil)
	descBFDUp = prometheus.NewDesc("weft_bfd_peer_up",
		"1 when the BFD session with the peer is up (every one, if the peer has several), 0 when not.", []string{"peer"}, nil)
	descVNIs = prometheus.NewDesc("weft_evpn_vnis",
		"VNIs zebra knows, by type (l2 or l3).", []string{"type"}, nil)
	descRoutes = prometheus.NewDesc("weft_evpn_routes",
		"Routes (prefixes) in bgpd's EVPN table, local and received, by route type: 2 (MAC/IP), 3 (inclusive multicast), 5 (IP prefix).", []string{"type"}, nil)
	descMACs = prometheus.NewDesc("weft_evpn_macs",
		"MAC addresses zebra knows per L2VNI, by origin: local (learned on this node) or remote (from a type-2 route).", []string{"vni", "origin"}, nil)
)

// FRRCollector exports FRR's state (BGP and BFD sessions, EVPN VNIs, MACs and routes) read
// with vtysh when scraped. One read serves the scrapes of frrStatsMaxAge, and reads run one
// at a time. It takes none of the agent's locks and so never delays a reconcile pass. A
// query that fails leaves its metrics out of the scrape and counts in
// weft_frr_scrape_errors_total; the others are exported.
type FRRCollector struct {
	src    FRRState
	log    *slog.Logger
	errors *prometheus.CounterVec

	mu   sync.Mutex
	snap frrSnapshot
	at   time.Time
	// failing are the queries whose last read failed; a failure is logged when it starts.
	failing map[string]bool
}

// frrSnapshot is one read of FRR's state; ok says which queries succeeded.
type frrSnapshot struct {
	ok     map[string]bool
	bgp    []frr.BGPPeer
	bfd    []frr.BFDPeer
	vnis   []frr.ZebraVNI
	macs   []frr.EVPNMAC
	routes map[string]int
}

// NewFRRCollector returns a collector reading src; register it with the agent's registry.
func NewFRRCollector(src FRRState, log *slog.Logger) *FRRCollector {
	c := &FRRCollector{
		src: src, log: log, failing: map[string]bool{},
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weft_frr_scrape_errors_total", Help: "Reads of FRR's state for the metrics that failed, by query (bgp, bfd, evpn_vnis, evpn_macs, evpn_routes).",
		}, []string{"query"}),
	}
	for _, q := range frrQueries {
		c.errors.WithLabelValues(q)
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *FRRCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSessionUp, descSessionUptime, descPrefixesReceived, descBFDUp, descVNIs, descRoutes, descMACs} {
		ch <- d
	}
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *FRRCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.snapshot()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if s.ok[queryBGP] {
		for _, p := range s.bgp {
			gauge(descSessionUp, boolFloat(p.Established()), p.VRF, p.Peer)
			gauge(descSessionUptime, p.Uptime.Seconds(), p.VRF, p.Peer)
			for _, afi := range slices.Sorted(maps.Keys(p.PrefixesReceived)) {
				gauge(descPrefixesReceived, float64(p.PrefixesReceived[afi]), p.VRF, p.Peer, afi)
			}
		}
	}
	if s.ok[queryBFD] {
		// The label is the peer's address alone: a peer with several sessions (in two VRFs,
		// say) is up only when all of them are.
		up := map[string]bool{}
		for _, p := range s.bfd {
			if was, seen := up[p.Peer]; seen {
				up[p.Peer] = was && p.Up()
			} else {
				up[p.Peer] = p.Up()
			}
		}
		for _, peer := range slices.Sorted(maps.Keys(up)) {
			gauge(descBFDUp, boolFloat(up[peer]), peer)
		}
	}
	if s.ok[queryEVPNVNIs] {
		n := map[string]int{"l2": 0, "l3": 0}
		for _, v := range s.vnis {
			n[strings.ToLower(v.Type)]++
		}
		for _, t := range slices.Sorted(maps.Keys(n)) {
			gauge(descVNIs, float64(n[t]), t)
		}
	}
	if s.ok[queryEVPNMACs] {
		type key struct {
			vni    uint32
			origin string
		}
		n := map[key]int{}
		// Every L2VNI has both series, 0 when it has no MAC of that origin.
		if s.ok[queryEVPNVNIs] {
			for _, v := range s.vnis {
				if v.Type == "L2" {
					n[key{v.VNI, "local"}], n[key{v.VNI, "remote"}] = 0, 0
				}
			}
		}
		for _, m := range s.macs {
			for _, o := range []string{"local", "remote"} {
				if _, ok := n[key{m.VNI, o}]; !ok {
					n[key{m.VNI, o}] = 0
				}
			}
			n[key{m.VNI, m.Type}]++
		}
		for k, v := range n {
			gauge(descMACs, float64(v), strconv.FormatUint(uint64(k.vni), 10), k.origin)
		}
	}
	if s.ok[queryEVPNRoutes] {
		n := map[string]int{"2": 0, "3": 0, "5": 0}
		maps.Copy(n, s.routes)
		for _, t := range slices.Sorted(maps.Keys(n)) {
			gauge(descRoutes, float64(n[t]), t)
		}
	}
	c.errors.Collect(ch)
}

// snapshot returns FRR's state, read now unless the last read is recent. Concurrent scrapes
// wait for the one read in progress and share it.
func (c *FRRCollector) snapshot() frrSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < frrStatsMaxAge {
		return c.snap
	}
	ctx, cancel := context.WithTimeout(context.Background(), frrStatsTimeout)
	defer cancel()
	s := frrSnapshot{ok: map[string]bool{}}
	errs := map[string]error{}
	s.bgp, errs[queryBGP] = c.src.BGPPeers(ctx)
	s.bfd, errs[queryBFD] = c.src.BFDPeers(ctx)
	s.vnis, errs[queryEVPNVNIs] = c.src.EVPNVNIs(ctx)
	s.macs, errs[queryEVPNMACs] = c.src.EVPNMACs(ctx)
	s.routes, errs[queryEVPNRoutes] = c.src.EVPNRouteCounts(ctx)
	for _, q := range frrQueries {
		err := errs[q]
		s.ok[q] = err == nil
		if err != nil {
			c.errors.WithLabelValues(q).Inc()
			if !c.failing[q] && c.log != nil {
				c.log.Warn("metrics: read FRR state", "query", q, "error", err)
			}
		}
		c.failing[q] = err != nil
	}
	c.snap, c.at = s, time.Now()
	return s
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
