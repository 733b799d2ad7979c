package config

import (
	"errors"
	"strconv"
	"strings"
)

// ErrInvalid is matched (errors.Is) by every *Error: the file was read but
// is not a valid show configuration. A failure to read the file at all is
// reported as the underlying I/O error instead (errors.Is(err,
// fs.ErrNotExist) tells that no file is there).
var ErrInvalid = errors.New("config: invalid show file")

// Problem is one finding in a show file: an error (in Error.Problems) or a
// warning (in Config.Warnings).
type Problem struct {
	File string // the file name given to Parse or Load
	Line int    // 1-based line in the file; 0 when no line applies
	Key  string // dotted key path, e.g. "channels.fly.go_lamp"; "" for the whole file
	Msg  string // what is wrong
	Hint string // how to fix it; may be empty
}

// Error formats the problem as check-config prints it (docs/protocol.md §5):
//
//	FILE:LINE: key.path: message (hint)
//
// The line, key and hint parts are left out when empty.
func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.Line))
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	if p.Hint != "" {
		b.WriteString(" (")
		b.WriteString(p.Hint)
		b.WriteByte(')')
	}
	return b.String()
}

// Error is returned by Parse and Load when a show file is invalid. It holds
// every problem found, not only the first, sorted by line.
type Error struct {
	Problems []Problem // at least one
}

// Error prints one problem per line, in the check-config format of docs/protocol.md §5,
// without a trailing newline.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Is reports whether target is ErrInvalid.
func (e *Error) Is(target error) bool { return target == ErrInvalid }
