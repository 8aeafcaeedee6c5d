package certs

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weftnet/weft/internal/testenv"
)

var cp testenv.ControlPlane

func TestMain(m *testing.M) { testenv.Main(m, &cp, testenv.Options{}) }

// TestEnsure issues, reuses, renews and shares the webhook certificate against the real API
// server.
func TestEnsure(t *testing.T) {
	c := cp.Client(t)
	ctx := context.Background()
	cfg := testenv.InertWebhookConfiguration("weft-validating-webhook-configuration")
	if err := c.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m := &Manager{
		Client: c, Namespace: testenv.Namespace, SecretName: "weft-webhook-cert",
		DNSNames:      []string{"weft-webhook.weft-system.svc", "weft-webhook.weft-system.svc.cluster.local"},
		CertDir:       t.TempDir(),
		WebhookConfig: cfg.Name,
		Log:           slog.New(slog.DiscardHandler),
		Now:           func() time.Time { return now },
	}
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	sec := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: m.Namespace, Name: m.SecretName}, sec); err != nil {
		t.Fatal(err)
	}
	ca := parse(t, sec.Data[keyCACert])
	served := parse(t, read(t, m.CertDir, keyTLSCert))
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := served.Verify(x509.VerifyOptions{Roots: pool, DNSName: "weft-webhook.weft-system.svc", CurrentTime: now}); err != nil {
		t.Fatalf("served certificate does not verify against the Secret's CA: %v", err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(cfg), cfg); err != nil {
		t.Fatal(err)
	}
	if string(cfg.Webhooks[0].ClientConfig.CABundle) != string(sec.Data[keyCACert]) {
		t.Fatal("caBundle is not the Secret's CA")
	}

	// A second replica (or a restart) adopts the same certificate.
	other := *m
	other.CertDir = t.TempDir()
	if err := other.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if string(read(t, other.CertDir, keyTLSCert)) != string(read(t, m.CertDir, keyTLSCert)) {
		t.Error("a second replica issued its own certificate")
	}

	// Close to expiry the serving certificate is renewed under the same CA.
	later := now.Add(servingLifetime - renewBefore/2)
	m.Now = func() time.Time { return later }
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	renewed := parse(t, read(t, m.CertDir, keyTLSCert))
	if renewed.SerialNumber.Cmp(served.SerialNumber) == 0 {
		t.Error("certificate not renewed before expiry")
	}
	if err := renewed.CheckSignatureFrom(ca); err != nil {
		t.Errorf("renewed certificate is not signed by the same CA: %v", err)
	}

	// An API server that calls the webhook by URL at an address (the lab's) gets a
	// certificate for that address: adding it renews the certificate, under the same CA.
	m.IPAddresses = []net.IP{net.ParseIP("198.18.0.254")}
	if err := m.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	byIP := parse(t, read(t, m.CertDir, keyTLSCert))
	if _, err := byIP.Verify(x509.VerifyOptions{Roots: pool, DNSName: "198.18.0.254", CurrentTime: later}); err != nil {
		t.Errorf("certificate does not verify for 198.18.0.254: %v", err)
	}
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM block")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
