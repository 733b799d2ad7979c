//go:build !unix

package main

import "io"

// terminalSize reports no terminal: watch prints one line per event.
func terminalSize(io.Writer) (cols, rows int, ok bool) { return 0, 0, false }
