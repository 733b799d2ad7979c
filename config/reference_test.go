package config

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// freeKeyParents are the mappings whose keys are names the user chooses:
// their children appear as "*" in key paths.
var freeKeyParents = []string{"stations", "channels", "mqtt.users", "web.users", "intercom.greengo.channels", "stations.*.devices"}

// normalize maps a key path to its schema form: the pin roles share one
// pin section, so channels.*.ack_button.pull becomes channels.*.PIN.pull.
func normalize(p string) string {
	parts := strings.Split(p, ".")
	if len(parts) == 4 && parts[0] == "channels" && slices.Contains(pinRoles, parts[2]) {
		parts[2] = "PIN"
	}
	return strings.Join(parts, ".")
}

// keyPaths records every key path present in a YAML tree, normalized,
// with the line of its first use.
func keyPaths(n *yaml.Node, prefix string, out map[string]int) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if slices.Contains(freeKeyParents, prefix) {
			k = "*"
		}
		p := join(prefix, k)
		if np := normalize(p); out[np] == 0 || n.Content[i].Line < out[np] {
			out[np] = n.Content[i].Line
		}
		keyPaths(n.Content[i+1], p, out)
	}
}

func yamlRoot(t *testing.T, data []byte) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// outsideVariant builds reference.yaml with its mqtt section replaced by
// the outside-broker block written in the "#> " comment lines.
func outsideVariant(t *testing.T) string {
	t.Helper()
	ref, err := os.ReadFile("reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var block []string
	marker := regexp.MustCompile(`^\s*#> ?`)
	for _, line := range strings.Split(string(ref), "\n") {
		if loc := marker.FindStringIndex(line); loc != nil {
			block = append(block, line[loc[1]:])
		}
	}
	if len(block) == 0 {
		t.Fatal("reference.yaml has no #> outside-broker block")
	}
	alt := yamlRoot(t, []byte(strings.Join(block, "\n")))
	root := yamlRoot(t, ref)
	replaced := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "mqtt" {
			root.Content[i+1] = alt.Content[1]
			replaced = true
		}
	}
	if !replaced || alt.Content[0].Value != "mqtt" {
		t.Fatal("the #> block must be one mqtt: section replacing the file's")
	}
	out, err := yaml.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestReferenceDocumentsEveryKey: every key the parser accepts appears in
// reference.yaml, live or in the outside-broker block, and the outside
// variant is a valid show too. Adding a key to the parser without
// documenting it fails here.
func TestReferenceDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	ref, err := os.ReadFile("reference.yaml")
	if err != nil {
		t.Fatal(err)
	}
	alt := outsideVariant(t)
	cfg, err := Parse(strings.NewReader(alt), "reference.yaml (outside broker variant)")
	if err != nil {
		t.Fatalf("the outside-broker block of reference.yaml does not parse:\n%v\n%s", err, alt)
	}
	if cfg.MQTT.Embedded || cfg.MQTT.TLS.CAFile == "" || cfg.MQTT.TLS.CertFile == "" {
		t.Errorf("outside variant: %+v", cfg.MQTT)
	}

	present := map[string]int{}
	keyPaths(yamlRoot(t, ref), "", present)
	outside := map[string]int{}
	keyPaths(yamlRoot(t, []byte(alt)), "", outside)
	var accepted []string
	for _, p := range fileSection.paths("") {
		if np := normalize(p); !slices.Contains(accepted, np) {
			accepted = append(accepted, np)
		}
	}
	if len(accepted) < 50 {
		t.Fatalf("the schema lists only %d key paths; walking it is broken", len(accepted))
	}
	for _, p := range accepted {
		if present[p] == 0 && outside[p] == 0 {
			t.Errorf("reference.yaml does not show key %s", p)
		}
	}
	// And the reverse: every key in reference.yaml is one the schema knows
	// (Parse already refuses unknown keys; this checks the walk itself).
	for p := range present {
		if !slices.Contains(accepted, p) {
			t.Errorf("reference.yaml has %s, which the schema does not list", p)
		}
	}
	// Each key path is explained where it first appears: a comment on the
	// line or right above it.
	lines := strings.Split(string(ref), "\n")
	for p, line := range present {
		this, above := lines[line-1], ""
		if line >= 2 {
			above = strings.TrimSpace(lines[line-2])
		}
		if !strings.Contains(this, " #") && !strings.HasPrefix(above, "#") {
			t.Errorf("reference.yaml:%d: %s has no comment", line, p)
		}
	}
}
