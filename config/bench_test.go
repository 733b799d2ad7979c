package config

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkParse measures a reload: reading and validating reference.yaml
// (two stations, three channels, three broker users).
func BenchmarkParse(b *testing.B) {
	ref, err := os.ReadFile("reference.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(ref)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(ref), "reference.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseError measures a file with a syntax error near its end,
// where the error line is searched for.
func BenchmarkParseError(b *testing.B) {
	ref, err := os.ReadFile("reference.yaml")
	if err != nil {
		b.Fatal(err)
	}
	bad := append(bytes.Clone(ref), "\n  broken: [\n"...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(bad), "bad.yaml"); err == nil {
			b.Fatal("accepted")
		}
	}
}
