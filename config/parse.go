package config

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"
)

// Parse reads and validates a show file. filename is used in messages
// only. On success the Config has every default applied; its Warnings may
// be non-empty. Otherwise the error is an *Error listing every problem
// (errors.Is(err, ErrInvalid) holds).
func Parse(r io.Reader, filename string) (*Config, error) {
	d := &decoder{file: filename}
	var cfg *Config
	if root := d.readDocument(r); root != nil {
		if raw := d.decodeFile(root); raw != nil {
			cfg = d.validate(raw)
		}
	}
	if len(d.probs) > 0 {
		return nil, &Error{Problems: sorted(d.probs)}
	}
	cfg.Warnings = sorted(d.warns)
	return cfg, nil
}

// Load reads and validates the show file at path. An unreadable file is
// reported as the I/O error (errors.Is(err, fs.ErrNotExist) when there is
// no file); an invalid one as an *Error.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// sorted orders problems by line, keeping the order found within a line.
func sorted(ps []Problem) []Problem {
	slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	return ps
}
