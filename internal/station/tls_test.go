package station

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cuelight/cuelight/config"
)

// A CA file that cannot be used stops the start with an error naming the
// key, instead of connecting with the system roots.
func TestTLSConfigFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, ca, want string }{
		{"missing", filepath.Join(dir, "none.pem"), "mqtt.tls.ca_file: open"},
		{"not PEM", notPEM, "holds no PEM certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := &config.Config{}
			cfg.MQTT.TLS.CAFile = c.ca
			if _, err := tlsConfig(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("tlsConfig: %v, want an error containing %q", err, c.want)
			}
		})
	}
	if c, err := tlsConfig(&config.Config{}); c != nil || err != nil {
		t.Errorf("no TLS settings: %v, %v; want nil, nil", c, err)
	}
}
