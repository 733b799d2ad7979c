package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
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
