// Package tlsconf builds the client TLS settings for an outside MQTT broker
// from a show file's mqtt.tls section. The station daemon and cuectl both
// use it, so a CA or certificate file that cannot be used is an error
// naming its key in both, never a silent fall-back to the system roots.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/cuelight/cuelight/config"
)

// Client returns the TLS settings for a client of an outside broker.
//
// With nothing set (no ca_file, no cert_file, insecure_skip_verify false)
// it returns nil, nil: the caller's default applies (the system roots, no
// client certificate). Otherwise the files are read now: a file that
// cannot be read, or holds no usable PEM data, is an error that names the
// show file key ("mqtt.tls.ca_file: ..."). TLS 1.2 is the minimum.
func Client(t config.TLS) (*tls.Config, error) {
	if t.CAFile == "" && t.CertFile == "" && t.KeyFile == "" && !t.InsecureSkipVerify {
		return nil, nil
	}
	c := &tls.Config{InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if t.CAFile != "" {
		pem, err := readFile("mqtt.tls.ca_file", t.CAFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tlsconf: mqtt.tls.ca_file: %s holds no PEM certificate", t.CAFile)
		}
		c.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		if t.CertFile == "" || t.KeyFile == "" {
			return nil, fmt.Errorf("tlsconf: mqtt.tls.cert_file and mqtt.tls.key_file go together: set both or neither")
		}
		certPEM, err := readFile("mqtt.tls.cert_file", t.CertFile)
		if err != nil {
			return nil, err
		}
		keyPEM, err := readFile("mqtt.tls.key_file", t.KeyFile)
		if err != nil {
			return nil, err
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("tlsconf: mqtt.tls.cert_file %s / key_file %s: %w", t.CertFile, t.KeyFile, err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// readFile reads one of the files, naming its key when that fails or the
// file is empty.
func readFile(key, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: %s: %w", key, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("tlsconf: %s: %s is empty", key, path)
	}
	return b, nil
}
