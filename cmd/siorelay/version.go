package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"time"
)

// runVersion prints what [versionText] says about this binary.
func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "version", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q (usage: siorelay version)", fs.Args())
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	fmt.Fprintln(stdout, versionText(bi, runtime.GOOS+"/"+runtime.GOARCH))
	return nil
}

// versionText is one line from the build information bi (nil when the
// binary has none): the main module's version ("(devel)" when the build
// did not know it), the VCS commit with its time and ", modified" when the
// tree had uncommitted changes ("commit unknown" without VCS stamping:
// `go build -buildvcs=false`, or a build outside a checkout), then the Go
// version and platform.
//
//	siorelay v0.0.0-20261206143012-1ed17e2a1b2c (commit 1ed17e2a1b2c…, 2026-12-06T14:30:12Z) go1.26.8 linux/amd64
func versionText(bi *debug.BuildInfo, platform string) string {
	version, goVersion := "(devel)", runtime.Version()
	var rev, when string
	modified := false
	if bi != nil {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		if bi.GoVersion != "" {
			goVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					when = t.UTC().Format(time.RFC3339)
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	commit := "commit unknown"
	if rev != "" {
		commit = "commit " + rev
		if when != "" {
			commit += ", " + when
		}
		if modified {
			commit += ", modified"
		}
	}
	return fmt.Sprintf("siorelay %s (%s) %s %s", version, commit, goVersion, platform)
}
