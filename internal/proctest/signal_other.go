//go:build !unix

package proctest

import (
	"errors"
	"os"
	"os/exec"
)

// setProcAttr does nothing: there are no process groups here.
func setProcAttr(*exec.Cmd) {}

// terminate fails: without SIGTERM, Stop kills at once.
func terminate(*os.Process) error { return errors.New("no SIGTERM on this platform") }

// killGroup kills the process.
func killGroup(p *os.Process) { _ = p.Kill() }
