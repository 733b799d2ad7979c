package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cuelight/cuelight/config"
)

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cuelight test CA"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write(t, certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	write(t, keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})))
	return certFile, keyFile
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Every file that cannot be used is an error naming its key; good files
// give the settings they stand for.
func TestClient(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	empty := filepath.Join(dir, "empty.pem")
	write(t, empty, "")
	notPEM := filepath.Join(dir, "junk.pem")
	write(t, notPEM, "not a certificate")
	missing := filepath.Join(dir, "none.pem")
	for _, tc := range []struct {
		name string
		tls  config.TLS
		want string // error text; "" for none
		ok   func(*tls.Config) bool
	}{
		{name: "insecure only", tls: config.TLS{InsecureSkipVerify: true},
			ok: func(c *tls.Config) bool {
				return c.InsecureSkipVerify && c.RootCAs == nil && c.MinVersion == tls.VersionTLS12
			}},
		{name: "a CA", tls: config.TLS{CAFile: cert},
			ok: func(c *tls.Config) bool {
				return c.RootCAs != nil && !c.InsecureSkipVerify && c.MinVersion == tls.VersionTLS12
			}},
		{name: "a client certificate", tls: config.TLS{CertFile: cert, KeyFile: key},
			ok: func(c *tls.Config) bool { return len(c.Certificates) == 1 && c.RootCAs == nil }},
		{name: "missing CA", tls: config.TLS{CAFile: missing}, want: "tlsconf: mqtt.tls.ca_file: open " + missing},
		{name: "CA is a directory", tls: config.TLS{CAFile: dir}, want: "tlsconf: mqtt.tls.ca_file: read " + dir},
		{name: "empty CA", tls: config.TLS{CAFile: empty}, want: "tlsconf: mqtt.tls.ca_file: " + empty + " is empty"},
		{name: "CA not PEM", tls: config.TLS{CAFile: notPEM}, want: "tlsconf: mqtt.tls.ca_file: " + notPEM + " holds no PEM certificate"},
		{name: "empty certificate", tls: config.TLS{CertFile: empty, KeyFile: key}, want: "tlsconf: mqtt.tls.cert_file: " + empty + " is empty"},
		{name: "missing certificate", tls: config.TLS{CertFile: missing, KeyFile: key}, want: "tlsconf: mqtt.tls.cert_file: open " + missing},
		{name: "missing key", tls: config.TLS{CertFile: cert, KeyFile: missing}, want: "tlsconf: mqtt.tls.key_file: open " + missing},
		{name: "empty key", tls: config.TLS{CertFile: cert, KeyFile: empty}, want: "tlsconf: mqtt.tls.key_file: " + empty + " is empty"},
		{name: "key not PEM", tls: config.TLS{CertFile: cert, KeyFile: notPEM}, want: "tlsconf: mqtt.tls.cert_file " + cert + " / key_file " + notPEM + ": "},
		{name: "certificate without key", tls: config.TLS{CertFile: cert}, want: "tlsconf: mqtt.tls.cert_file and mqtt.tls.key_file go together"},
		{name: "key without certificate", tls: config.TLS{KeyFile: key}, want: "tlsconf: mqtt.tls.cert_file and mqtt.tls.key_file go together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Client(tc.tls)
			if tc.want != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.want) || c != nil {
					t.Fatalf("Client: %v, %v; want nil and an error starting %q", c, err, tc.want)
				}
				return
			}
			if err != nil || c == nil || !tc.ok(c) {
				t.Fatalf("Client: %+v, %v", c, err)
			}
		})
	}
	if c, err := Client(config.TLS{}); c != nil || err != nil {
		t.Errorf("no TLS settings: %v, %v; want nil, nil (the system roots)", c, err)
	}
}

// A file the process may not read (not testable as root, who reads all).
func TestClientUnreadable(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads every file; the directory and missing-file cases cover the read error")
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	write(t, ca, "x")
	if err := os.Chmod(ca, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Client(config.TLS{CAFile: ca}); err == nil || !strings.Contains(err.Error(), "mqtt.tls.ca_file: open "+ca+": permission denied") {
		t.Errorf("Client: %v, want permission denied naming mqtt.tls.ca_file", err)
	}
}
