//go:build !unix

package redistest

import "os"

// Outside Unix there is no SIGSTOP; Pause fails the test when sending it.
var (
	stopSignal os.Signal = nil
	contSignal os.Signal = nil
)
