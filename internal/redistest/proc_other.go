//go:build !linux

package redistest

import "syscall"

// sysProcAttr returns nil: outside Linux there is no parent-death signal,
// so servers are stopped only by the test cleanups.
func sysProcAttr() *syscall.SysProcAttr { return nil }
