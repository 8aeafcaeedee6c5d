package lab

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/weftnet/weft/internal/netnamespace"
)

// ProbeResult summarises a probe run. Outage is the send-time span of the longest run of
// unanswered probes: with 10 ms probes, 11 lost in a row is a 110 ms outage.
type ProbeResult struct {
	Sent     int           `json:"sent"`
	Received int           `json:"received"`
	Lost     int           `json:"lost"`
	Outage   time.Duration `json:"outageNanoseconds"`
	Interval time.Duration `json:"intervalNanoseconds"`
}

func (r ProbeResult) String() string {
	return fmt.Sprintf("sent %d, lost %d, longest outage %.1f ms (probes every %v)", r.Sent, r.Lost, float64(r.Outage.Microseconds())/1000, r.Interval)
}

// Probe sends ICMP echo requests from namespace ns to dst on a strict schedule (each probe at
// start + k·interval, whatever happened before: `ping -i 0.01` cannot keep 10 ms here) for
// duration, then waits one second for late replies.
func Probe(ctx context.Context, ns string, dst netip.Addr, interval, duration time.Duration) (ProbeResult, error) {
	if !dst.Is4() {
		return ProbeResult{}, fmt.Errorf("probe: only IPv4 targets are supported, got %s", dst)
	}
	conn, err := listenICMPIn(ns)
	if err != nil {
		return ProbeResult{}, err
	}
	defer conn.Close()

	n := int(duration / interval)
	id := rand.IntN(0xffff)
	var mu sync.Mutex
	got := make([]bool, n)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			k, _, err := conn.ReadFrom(buf)
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					select {
					case <-ctx.Done():
						return
					default:
					}
					mu.Lock()
					stop := got == nil
					mu.Unlock()
					if stop {
						return
					}
					continue
				}
				return
			}
			m, err := icmp.ParseMessage(1, buf[:k])
			if err != nil || m.Type != ipv4.ICMPTypeEchoReply {
				continue
			}
			e, ok := m.Body.(*icmp.Echo)
			if !ok || e.ID != id {
				continue
			}
			mu.Lock()
			if got != nil && e.Seq >= 0 && e.Seq < n {
				got[e.Seq] = true
			}
			mu.Unlock()
		}
	}()

	start := time.Now()
	dstAddr := &net.IPAddr{IP: dst.AsSlice()}
	sent := 0
	for k := 0; k < n; k++ {
		at := start.Add(time.Duration(k) * interval)
		if d := time.Until(at); d > 0 {
			select {
			case <-ctx.Done():
				return ProbeResult{}, ctx.Err()
			case <-time.After(d):
			}
		}
		msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: k, Data: []byte("weft-lab-probe")}}
		b, _ := msg.Marshal(nil)
		if _, err := conn.WriteTo(b, dstAddr); err == nil {
			sent++
		}
	}
	// Late replies still count.
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
	}
	mu.Lock()
	res := summarise(got, interval)
	got = nil
	mu.Unlock()
	<-done
	res.Sent = sent
	return res, nil
}

func summarise(got []bool, interval time.Duration) ProbeResult {
	r := ProbeResult{Interval: interval}
	run, longest := 0, 0
	for _, ok := range got {
		if ok {
			r.Received++
			run = 0
			continue
		}
		r.Lost++
		run++
		longest = max(longest, run)
	}
	r.Outage = time.Duration(longest) * interval
	return r
}

// listenICMPIn opens a raw ICMP socket inside namespace ns.
func listenICMPIn(ns string) (*icmp.PacketConn, error) {
	var conn *icmp.PacketConn
	err := netnamespace.Do(ns, func() error {
		var err error
		conn, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("icmp socket in %s: %w", ns, err)
	}
	return conn, nil
}
