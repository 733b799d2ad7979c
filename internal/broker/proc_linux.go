package broker

import "syscall"

// sysProcAttr makes the child die with the station (Pdeathsig) and puts it
// in its own process group, so that a terminal's Ctrl-C reaches only the
// station, which then stops the broker in order.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
