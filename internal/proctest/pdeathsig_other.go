//go:build unix && !linux

package proctest

import "syscall"

// setPdeathsig does nothing: outside Linux there is no parent-death
// signal, so processes are stopped by the test cleanups only.
func setPdeathsig(*syscall.SysProcAttr) {}
