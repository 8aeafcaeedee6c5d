// Package certs keeps the webhook's serving certificate without cert-manager: a CA and a
// serving certificate kept in one Secret (so every controller replica serves the same one),
// written to the webhook server's certificate directory, with the CA put into the
// ValidatingWebhookConfiguration's caBundle so the API server trusts it.
package certs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Keys of the Secret.
const (
	keyCACert  = "ca.crt"
	keyCAKey   = "ca.key"
	keyTLSCert = "tls.crt"
	keyTLSKey  = "tls.key"
)

// Lifetimes: the serving certificate is renewed a month before it expires, which a periodic
// Ensure (every few hours) notices well in time.
const (
	caLifetime      = 10 * 365 * 24 * time.Hour
	servingLifetime = 365 * 24 * time.Hour
	renewBefore     = 30 * 24 * time.Hour
)

// Manager keeps the serving certificate.
type Manager struct {
	// Client reads and writes the Secret and the webhook configuration directly (uncached:
	// the controller does not watch Secrets).
	Client client.Client
	// Namespace and SecretName name the Secret that holds the CA and the certificate.
	Namespace, SecretName string
	// DNSNames are the names the API server uses to reach the webhook Service.
	DNSNames []string
	// IPAddresses are addresses the API server reaches the webhook server at directly (an
	// API server outside the cluster network, as in the lab, calls a URL, not a Service).
	IPAddresses []net.IP
	// CertDir receives tls.crt and tls.key for the webhook server.
	CertDir string
	// WebhookConfig is the ValidatingWebhookConfiguration whose caBundle is kept.
	WebhookConfig string
	Log           *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// +kubebuilder:rbac:groups="",namespace=weft-system,resources=secrets,verbs=create
// +kubebuilder:rbac:groups="",namespace=weft-system,resources=secrets,resourceNames=weft-webhook-cert,verbs=get;update
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,resourceNames=weft-validating-webhook-configuration,verbs=get;update

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) log() *slog.Logger {
	if m.Log != nil {
		return m.Log
	}
	return slog.Default()
}

// Ensure makes the Secret hold a valid CA and serving certificate (creating or renewing them
// when needed), writes the certificate to CertDir and puts the CA into the webhook
// configuration. It is idempotent and safe to run from several replicas at once: the Secret's
// resourceVersion decides which replica's certificate wins, and the others adopt it.
func (m *Manager) Ensure(ctx context.Context) error {
	var data map[string][]byte
	for attempt := 0; ; attempt++ {
		var err error
		data, err = m.ensureSecret(ctx)
		if err == nil {
			break
		}
		if attempt < 3 && (apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)) {
			continue
		}
		return err
	}
	if err := m.writeFiles(data); err != nil {
		return err
	}
	return m.patchCABundle(ctx, data[keyCACert])
}

// Start runs Ensure every interval until ctx ends (a manager.Runnable on every replica).
func (m *Manager) Start(ctx context.Context) error {
	t := time.NewTicker(6 * time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := m.Ensure(ctx); err != nil {
				m.log().Error("refresh webhook certificate", "error", err)
			}
		}
	}
}

// NeedLeaderElection is false: every replica serves the webhook and needs the files.
func (m *Manager) NeedLeaderElection() bool { return false }

func (m *Manager) ensureSecret(ctx context.Context) (map[string][]byte, error) {
	sec := &corev1.Secret{}
	err := m.Client.Get(ctx, client.ObjectKey{Namespace: m.Namespace, Name: m.SecretName}, sec)
	switch {
	case apierrors.IsNotFound(err):
		data, err := m.issue(nil)
		if err != nil {
			return nil, err
		}
		sec = &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: m.Namespace, Name: m.SecretName},
			Type:       corev1.SecretTypeOpaque,
			Data:       data,
		}
		if err := m.Client.Create(ctx, sec); err != nil {
			return nil, fmt.Errorf("create secret %s/%s: %w", m.Namespace, m.SecretName, err)
		}
		m.log().Info("created webhook certificate", "secret", m.SecretName, "dnsNames", m.DNSNames)
		return data, nil
	case err != nil:
		return nil, fmt.Errorf("get secret %s/%s: %w", m.Namespace, m.SecretName, err)
	}
	if reason := m.needsRenewal(sec.Data); reason != "" {
		data, err := m.issue(sec.Data)
		if err != nil {
			return nil, err
		}
		sec.Data = data
		if err := m.Client.Update(ctx, sec); err != nil {
			return nil, fmt.Errorf("update secret %s/%s: %w", m.Namespace, m.SecretName, err)
		}
		m.log().Info("renewed webhook certificate", "reason", reason, "dnsNames", m.DNSNames)
	}
	return sec.Data, nil
}

// needsRenewal says why the Secret's certificates are unusable, or "" when they are fine.
func (m *Manager) needsRenewal(data map[string][]byte) string {
	ca, _, err := parsePair(data[keyCACert], data[keyCAKey])
	if err != nil {
		return "no valid CA: " + err.Error()
	}
	cert, _, err := parsePair(data[keyTLSCert], data[keyTLSKey])
	if err != nil {
		return "no valid serving certificate: " + err.Error()
	}
	now := m.now()
	if now.Add(renewBefore).After(cert.NotAfter) {
		return "serving certificate expires soon"
	}
	if now.Add(renewBefore).After(ca.NotAfter) {
		return "CA expires soon"
	}
	if err := cert.CheckSignatureFrom(ca); err != nil {
		return "serving certificate not signed by the CA"
	}
	if !slices.Equal(sortedCopy(cert.DNSNames), sortedCopy(m.DNSNames)) {
		return "DNS names changed"
	}
	if !slices.EqualFunc(cert.IPAddresses, m.IPAddresses, func(a, b net.IP) bool { return a.Equal(b) }) {
		return "IP addresses changed"
	}
	return ""
}

// issue makes a serving certificate, and a CA unless old holds a valid one: keeping the CA
// keeps the caBundle, so API servers never see a certificate they do not trust yet.
func (m *Manager) issue(old map[string][]byte) (map[string][]byte, error) {
	if len(m.DNSNames) == 0 {
		return nil, errors.New("no DNS names for the webhook certificate")
	}
	now := m.now()
	ca, caKey, err := parsePair(old[keyCACert], old[keyCAKey])
	caPEM, caKeyPEM := old[keyCACert], old[keyCAKey]
	if err != nil || now.Add(renewBefore).After(ca.NotAfter) {
		caKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate CA key: %w", err)
		}
		tmpl := &x509.Certificate{
			SerialNumber:          serial(),
			Subject:               pkix.Name{CommonName: "weft-webhook-ca"},
			NotBefore:             now.Add(-time.Hour),
			NotAfter:              now.Add(caLifetime),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &caKey.PublicKey, caKey)
		if err != nil {
			return nil, fmt.Errorf("create CA certificate: %w", err)
		}
		if ca, err = x509.ParseCertificate(der); err != nil {
			return nil, err
		}
		caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		if caKeyPEM, err = keyPEM(caKey); err != nil {
			return nil, err
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate serving key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: m.DNSNames[0]},
		DNSNames:     m.DNSNames,
		IPAddresses:  m.IPAddresses,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(servingLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create serving certificate: %w", err)
	}
	tlsKeyPEM, err := keyPEM(key)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		keyCACert:  caPEM,
		keyCAKey:   caKeyPEM,
		keyTLSCert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyTLSKey:  tlsKeyPEM,
	}, nil
}

func (m *Manager) writeFiles(data map[string][]byte) error {
	if err := os.MkdirAll(m.CertDir, 0o700); err != nil {
		return err
	}
	for _, k := range []string{keyTLSCert, keyTLSKey} {
		path := filepath.Join(m.CertDir, k)
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, data[k]) {
			continue
		}
		// Write then rename, so the webhook server's file watcher never reads half a file.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, data[k], 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) patchCABundle(ctx context.Context, caPEM []byte) error {
	cfg := &admissionv1.ValidatingWebhookConfiguration{}
	if err := m.Client.Get(ctx, client.ObjectKey{Name: m.WebhookConfig}, cfg); err != nil {
		return fmt.Errorf("get validatingwebhookconfiguration %s: %w", m.WebhookConfig, err)
	}
	changed := false
	for i := range cfg.Webhooks {
		if !bytes.Equal(cfg.Webhooks[i].ClientConfig.CABundle, caPEM) {
			cfg.Webhooks[i].ClientConfig.CABundle = caPEM
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := m.Client.Update(ctx, cfg); err != nil {
		return fmt.Errorf("update caBundle of %s: %w", m.WebhookConfig, err)
	}
	m.log().Info("updated webhook caBundle", "config", m.WebhookConfig)
	return nil
}

func parsePair(certPEM, keyPEMBytes []byte) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEMBytes)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, err
	}
	key, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, errors.New("not an ECDSA key")
	}
	return cert, key, nil
}

func keyPEM(k *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
