package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/oktawatch/oktawatch/internal/config"
	"github.com/oktawatch/oktawatch/internal/redistest"
)

// writeTestPKI writes a CA and a server certificate for 127.0.0.1 into dir
// and returns the paths of the CA, the server certificate and its key.
func writeTestPKI(t *testing.T, dir string) (caPath, certPath, keyPath string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "oktawatch test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)

	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", der), write("server.key", "EC PRIVATE KEY", keyDER)
}

func TestOpen_TLSWithCAFile(t *testing.T) {
	dir := t.TempDir()
	caPath, certPath, keyPath := writeTestPKI(t, dir)
	tlsPort := redistest.FreePort(t)
	redistest.Server(t, "--tls-port", strconv.Itoa(tlsPort), "--tls-cert-file", certPath,
		"--tls-key-file", keyPath, "--tls-ca-cert-file", caPath, "--tls-auth-clients", "no")
	base := config.Redis{
		URL:         fmt.Sprintf("rediss://127.0.0.1:%d/0", tlsPort),
		DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second,
	}

	trusted := base
	trusted.TLSCAFile = caPath
	client, closeClient, err := Open(trusted, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer closeClient()
	untrusted, closeUntrusted, err := Open(base, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer closeUntrusted()

	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Errorf("ping over TLS with the CA file: %v", err)
	}
	if err := untrusted.Ping(context.Background()).Err(); err == nil {
		t.Error("ping over TLS without the CA file succeeded; the server certificate must not be trusted")
	}
}

func TestOpen_TLSCAFileWithoutCertificates(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.pem")
	if err := os.WriteFile(empty, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}

	_, _, err := Open(config.Redis{URL: "rediss://127.0.0.1:6380/0", TLSCAFile: empty}, zap.NewNop())

	if err == nil {
		t.Fatal("Open accepted a CA file without certificates")
	}
}
