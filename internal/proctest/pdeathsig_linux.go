package proctest

import "syscall"

// setPdeathsig has the process killed when the test binary dies.
func setPdeathsig(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
