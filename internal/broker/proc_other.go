//go:build !linux

package broker

import "syscall"

// sysProcAttr: without Pdeathsig the child notices the station's death by
// the end of its stdin.
func sysProcAttr() *syscall.SysProcAttr { return nil }
