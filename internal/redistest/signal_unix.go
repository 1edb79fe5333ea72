//go:build unix

package redistest

import "syscall"

// stopSignal freezes a process; contSignal thaws it.
var (
	stopSignal = syscall.SIGSTOP
	contSignal = syscall.SIGCONT
)
