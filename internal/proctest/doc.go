// Package proctest is what tests need to run other programs: start a
// process, wait for a line of its output, stop it at cleanup; a buffer
// that a process writes into while the test reads it; loopback ports that
// nothing else in the test binary holds; and Go commands built once per
// test binary. It serves internal/redistest, deploy, deploy/lbtest and
// cmd/siorelay's tests, which each had their own copy of these.
//
// Typical use:
//
//	func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) } // removes what Build made
//
//	func TestServe(t *testing.T) {
//		bin := proctest.Build(t, "github.com/siorelay/siorelay/cmd/siorelay")
//		p := proctest.Start(t, "relay", exec.Command(bin, "serve", "--addr", proctest.Addr(t)))
//		url := p.Line(t, "serving Socket.IO on ") // the rest of that line
//		...
//	} // cleanup: SIGTERM, then SIGKILL for the process group after p.Grace
//
// Processes run in their own process group, so that stopping one also
// stops its children (nginx workers, a shell's commands), and on Linux
// they die with the test binary if it is killed before its cleanups run.
// When the test has failed, the cleanup logs the tail of the output.
//
// Waiting is event-driven: [Buffer.WaitLine] wakes on each write and on
// the process's exit, never polls, and is bounded by a context (or by
// [LineTimeout] in [Process.Line]).
//
// Ports: [FreePort] draws from [20000, 32000), below the Linux and macOS
// ephemeral ranges, so no outgoing connection of the machine holds one,
// and hands a port to one caller of the test binary at a time until
// [ReleasePort]. A port stays free only until someone binds it: callers
// that start a server on it retry on "address already in use".
//
// Concurrency: every function and method is safe for concurrent use, from
// parallel tests too. Functions that take a testing.TB and can fail the
// test (Start, Line, Port, Addr, Build) call t.Fatal and so must run on the
// test's goroutine. A [Process]'s fields are set by [Run] and [Start] and
// only read afterwards; Grace may be changed before the process is stopped.
// There are no locks held across calls; [Buffer] has one mutex, and
// the port table another, and neither is held while the other is taken.
package proctest
