package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A show file whose mqtt.tls CA file cannot be used stops cuectl with an
// error naming the key, before it connects: it never falls back to the
// system roots (the station refuses to start on the same file).
func TestBrokerTLSFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	broker := fmt.Sprintf("ssl://127.0.0.1:%d", freePort(t)) // nothing listens: the error must come first
	for _, tc := range []struct {
		name, ca, want string
	}{
		{"missing CA file", filepath.Join(dir, "none.pem"), `mqtt\.tls\.ca_file: open .*none\.pem: no such file or directory`},
		{"CA file that cannot be read", dir, `mqtt\.tls\.ca_file: read .*: is a directory`},
		{"empty CA file", empty, `mqtt\.tls\.ca_file: .*empty\.pem is empty`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			show := filepath.Join(t.TempDir(), "show.yaml")
			text := fmt.Sprintf(showTemplate, broker, "  tls:\n    ca_file: "+tc.ca, "127.0.0.1:53100", "127.0.0.1:8080", "")
			if err := os.WriteFile(show, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			want := `^cuectl: cannot use the show file's TLS settings for broker ` + regexp.QuoteMeta(broker) + `: ` + tc.want +
				` \(fix the show file .*show\.yaml, or give another with --config\)$`
			for _, args := range [][]string{
				{"standby", "--mqtt", "fly", "1"},
				{"watch", "--plain"},
				{"check", "--mqtt"},
			} {
				expect(t, ctl(t, append([]string{"--config", show, "--timeout", "5s"}, args...)...), exitUsage, nil, []string{want})
			}
		})
	}
}

// The show file's CA is the one cuectl trusts: a broker whose certificate
// that CA signed completes the TLS handshake (the fake broker then reads
// MQTT's CONNECT), which the system's CAs would refuse.
func TestBrokerTLSUsesTheCA(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caFile, cert := writeTestCA(t, dir)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	connect := make(chan byte, 4) // the first byte each client sent after the handshake
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 1)
				if _, err := io.ReadFull(c, b); err == nil {
					connect <- b[0]
				}
			}()
		}
	}()
	broker := "ssl://" + l.Addr().String()
	show := filepath.Join(dir, "show.yaml")
	text := fmt.Sprintf(showTemplate, broker, "  tls:\n    ca_file: "+caFile, "127.0.0.1:53100", "127.0.0.1:8080", "")
	if err := os.WriteFile(show, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r := ctl(t, "--config", show, "--timeout", "2s", "standby", "--mqtt", "fly", "1")
	if r.code != exitUnreachable || strings.Contains(r.stderr, "x509") || strings.Contains(r.stderr, "certificate") {
		t.Fatalf("want the handshake to pass and the fake broker to be unreachable as MQTT:\n%s", r)
	}
	select {
	case b := <-connect:
		if b>>4 != 1 { // MQTT CONNECT
			t.Errorf("first byte after the handshake %#x, want an MQTT CONNECT", b)
		}
	case <-time.After(waitFor):
		t.Fatal("no MQTT CONNECT arrived over TLS")
	}
}

// writeTestCA writes a self-signed CA for 127.0.0.1 and returns its file
// and the certificate a server presents.
func writeTestCA(t *testing.T, dir string) (caFile string, cert tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cuectl test broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
