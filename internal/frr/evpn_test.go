package frr

import (
	"net/netip"
	"reflect"
	"testing"
)

// The JSON shapes below were printed by FRR 8.4.4's zebra in the lab (`show evpn mac vni all
// json`, `show evpn arp-cache vni all json`); the e2e suite's TestCLI reads them live.
func TestParseEVPNMACs(t *testing.T) {
	data := []byte(`{"110":{"numMacs":2,"macs":{
	  "02:00:00:00:6E:02":{"type":"remote","remoteVtep":"10.255.1.2","localSequence":0,"remoteSequence":3,"detectionCount":0,"isDuplicate":false},
	  "02:00:00:00:6e:01":{"type":"local","intf":"pe-110","localSequence":1,"remoteSequence":0,"detectionCount":0,"isDuplicate":true}}},
	  "120":{"numMacs":0,"macs":{}}}`)
	got, err := parseEVPNMACs(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []EVPNMAC{
		{VNI: 110, MAC: "02:00:00:00:6e:01", Type: "local", Interface: "pe-110", LocalSequence: 1, Duplicate: true},
		{VNI: 110, MAC: "02:00:00:00:6e:02", Type: "remote", RemoteVTEP: "10.255.1.2", RemoteSequence: 3},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := parseEVPNMACs([]byte(`{"x":{}}`)); err == nil {
		t.Error("a VNI key that is not a number must be an error")
	}
}

func TestParseEVPNNeighbors(t *testing.T) {
	data := []byte(`{"110":{"numArpNd":2,
	  "192.168.110.12":{"type":"remote","state":"active","mac":"02:00:00:00:6e:02","remoteVtep":"10.255.1.2","localSequence":0,"remoteSequence":0,"detectionCount":0,"isDuplicate":false},
	  "fe80::ff:fe00:6e01":{"type":"local","state":"active","mac":"02:00:00:00:6e:01","localSequence":0,"remoteSequence":0,"detectionCount":0,"isDuplicate":false}}}`)
	got, err := parseEVPNNeighbors(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []EVPNNeighbor{
		{VNI: 110, IP: netip.MustParseAddr("192.168.110.12"), MAC: "02:00:00:00:6e:02", Type: "remote", State: "active", RemoteVTEP: "10.255.1.2"},
		{VNI: 110, IP: netip.MustParseAddr("fe80::ff:fe00:6e01"), MAC: "02:00:00:00:6e:01", Type: "local", State: "active"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
