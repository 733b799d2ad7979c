package config

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cuelight/cuelight/drivers/rpi"
)

// TestDocsExamples parses every YAML example of docs/configuration.md: a
// block must be a valid show without warnings, unless it is marked
// <!-- fragment --> (part of a file) or <!-- invalid --> (then the next
// text block holds its exact check-config output).
func TestDocsExamples(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)(<!-- (fragment|invalid) -->\\n)?```(yaml|text)\\n(.*?)```")
	var pendingInvalid *Error
	valid, invalid := 0, 0
	for _, m := range block.FindAllStringSubmatch(string(doc), -1) {
		mark, lang, body := m[2], m[3], m[4]
		switch {
		case lang == "text" && pendingInvalid != nil && strings.Contains(body, "show.yaml:"):
			if got := pendingInvalid.Error(); got != strings.TrimSuffix(body, "\n") {
				t.Errorf("docs: the invalid example prints\n%s\nbut the docs say\n%s", got, body)
			}
			pendingInvalid = nil
		case lang != "yaml" || mark == "fragment":
		case mark == "invalid":
			_, err := Parse(strings.NewReader(body), "show.yaml")
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("docs: the invalid example parses: %v\n%s", err, body)
			}
			pendingInvalid = e
			invalid++
		default:
			cfg, err := Parse(strings.NewReader(body), "docs")
			if err != nil {
				t.Errorf("docs example does not parse:\n%v\n%s", err, body)
				continue
			}
			if len(cfg.Warnings) > 0 {
				t.Errorf("docs example has warnings: %v\n%s", cfg.Warnings, body)
			}
			valid++
		}
	}
	if pendingInvalid != nil {
		t.Error("docs: the invalid example has no output block after it")
	}
	if valid < 5 || invalid != 1 {
		t.Errorf("found %d valid and %d invalid examples; want at least 5 and 1", valid, invalid)
	}
}

// TestHeaderTable: every BCM GPIO0–27 is on exactly one header pin.
func TestHeaderTable(t *testing.T) {
	t.Parallel()
	seen := map[int]int{}
	for pin := 1; pin <= rpi.HeaderPins; pin++ {
		if g := rpi.GPIOAt(pin); g >= 0 {
			if prev, dup := seen[g]; dup {
				t.Errorf("GPIO%d on header pins %d and %d", g, prev, pin)
			}
			seen[g] = pin
		}
	}
	for g := 0; g <= MaxGPIO; g++ {
		if seen[g] == 0 {
			t.Errorf("GPIO%d is on no header pin", g)
		}
	}
}
