//go:build unix

package proctest

import (
	"os"
	"os/exec"
	"syscall"
)

// setProcAttr puts the process in its own group, so that killGroup
// reaches its children too, and on Linux asks the kernel to kill it if
// the test binary dies without running its cleanups (a panic in another
// goroutine, a timeout kill).
func setProcAttr(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	setPdeathsig(cmd.SysProcAttr)
}

// terminate asks the process to exit (SIGTERM).
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }

// killGroup kills the process group that setProcAttr made (the process
// and its children), or the process alone if it has no group of its own.
func killGroup(p *os.Process) {
	if syscall.Kill(-p.Pid, syscall.SIGKILL) != nil {
		_ = p.Kill()
	}
}
