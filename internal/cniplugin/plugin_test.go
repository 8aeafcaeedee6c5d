package cniplugin

import (
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
)

// TestLoad: a network configuration names an L2VNI; bad fields are refused with the field
// named; the MAC comes from runtimeConfig, then CNI_ARGS, then the configuration.
func TestLoad(t *testing.T) {
	tests := []struct {
		name, conf, args, ifName string
		wantMAC, wantErr         string
	}{
		{"minimal", `{"cniVersion":"1.0.0","name":"web","type":"weft","l2vni":"web"}`, "", "eth0", "", ""},
		{"mac precedence", `{"cniVersion":"1.0.0","name":"web","type":"weft","l2vni":"web","mac":"02:00:00:00:00:01","runtimeConfig":{"mac":"02:00:00:00:00:03"}}`, "MAC=02:00:00:00:00:02", "eth0", "02:00:00:00:00:03", ""},
		{"cni args mac", `{"cniVersion":"1.0.0","name":"web","type":"weft","l2vni":"web","mac":"02:00:00:00:00:01"}`, "IgnoreUnknown=1;MAC=02:00:00:00:00:02", "eth0", "02:00:00:00:00:02", ""},
		{"no l2vni", `{"cniVersion":"1.0.0","name":"web","type":"weft"}`, "", "eth0", "", `"l2vni" is required`},
		{"l2vni injection", `{"cniVersion":"1.0.0","name":"web","type":"weft","l2vni":"web\n-c x"}`, "", "eth0", "", `"l2vni" "web\n-c x" is not an object name`},
		{"bad namespace", `{"cniVersion":"1.0.0","name":"web","type":"weft","l2vni":"web","namespace":"A/B"}`, "", "eth0", "", `"namespace" "A/B"`},
		{"multicast mac", `{"cniVersion":"1.0.0","name":"web","type":"weft","l2vni":"web","runtimeConfig":{"mac":"01:00:5e:00:00:01"}}`, "", "eth0", "", `runtimeConfig "mac" "01:00:5e:00:00:01" is not a unicast MAC`},
		{"long mac", `{"cniVersion":"1.0.0","name":"web","type":"weft","l2vni":"web","mac":"02:00:00:00:00:00:00:01"}`, "", "eth0", "", `"mac" "02:00:00:00:00:00:00:01" is not an Ethernet MAC`},
		{"bad agent addr", `{"cniVersion":"1.0.0","name":"web","type":"weft","l2vni":"web","agentAddr":"localhost"}`, "", "eth0", "", `"agentAddr" "localhost"`},
		{"bad ifname", `{"cniVersion":"1.0.0","name":"web","type":"weft","l2vni":"web"}`, "", "eth0/../x", "", `CNI_IFNAME "eth0/../x"`},
		{"long ifname", `{"cniVersion":"1.0.0","name":"web","type":"weft","l2vni":"web"}`, "", "abcdefghijklmnop", "", `CNI_IFNAME "abcdefghijklmnop"`},
		{"not json", `{"l2vni":`, "", "eth0", "", "network configuration:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conf, mac, err := loadAttachment(&skel.CmdArgs{StdinData: []byte(tt.conf), Args: tt.args, IfName: tt.ifName})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := mac.String(); got != tt.wantMAC {
				t.Errorf("MAC %q, want %q", got, tt.wantMAC)
			}
			if conf.SegmentsFile == "" {
				t.Error("no default segments file")
			}
		})
	}
	if a, b := PortName("c1", "eth0"), PortName("c1", "net1"); a == b || len(a) != 13 || !strings.HasPrefix(a, "wf") {
		t.Errorf("port names %q %q: want distinct 13-character names starting with wf", a, b)
	}
}
