package redistest

import "syscall"

// sysProcAttr asks the kernel to kill the server if the test binary dies
// without running its cleanups (a panic in another goroutine, a timeout
// kill), so no redis-server outlives the test run.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
