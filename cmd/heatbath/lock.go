package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/rundir"
)

// forceFlag lets a command that writes a sweep's run directory start over
// in a directory that holds something else.
var forceFlag = &cli.BoolFlag{Name: "force",
	Usage: "start over: move what --out holds (another sweep, or this one) aside to OUT.old-<UTC time> first; nothing is deleted"}

// claimRunDir takes the lock of the run directory out for this command,
// before anything is written to it or a server is started in it. For a
// sweep (sweepID not empty) it then makes sure out is that sweep's: with
// force whatever out holds is moved aside, without it a directory of
// another sweep is refused (rundir.SweepMismatchError). The caller holds
// the lock until it ends (defer releaseRunDir).
func claimRunDir(out, sweepID string, force bool, log hclog.Logger) (*rundir.DirLock, error) {
	l, err := rundir.Lock(out, commandLine())
	if err != nil {
		return nil, err
	}
	if force {
		aside, err := rundir.MoveAside(out)
		if err != nil {
			releaseRunDir(l, log)
			return nil, err
		}
		if aside != "" {
			log.Info("--force: moved the old content of the run directory aside", "dir", out, "to", aside)
		}
	} else if sweepID != "" {
		if err := rundir.CheckIdentity(out, sweepID); err != nil {
			releaseRunDir(l, log)
			return nil, err
		}
		// The folder of one chain of heatbath train has no sweep.json
		// either; a sweep written into it would bury the chain's files.
		chain, _ := rundir.Exists(filepath.Join(out, rundir.FileReplica))
		sweep, _ := rundir.Exists(filepath.Join(out, rundir.FileSweep))
		if chain && !sweep {
			releaseRunDir(l, log)
			return nil, fmt.Errorf("%s holds one chain of heatbath train (%s), not sweep %s: choose another --out, or add --force to start over (the old content is moved to %s.old-<UTC time>)",
				out, rundir.FileReplica, sweepID, filepath.Clean(out))
		}
	}
	return l, nil
}

// releaseRunDir unlocks a run directory; a failure (the lock goes with the
// process anyway) is worth a warning only.
func releaseRunDir(l *rundir.DirLock, log hclog.Logger) {
	if err := l.Unlock(); err != nil {
		log.Warn("releasing the run directory", "error", err)
	}
}

// commandLine is this command as a second writer of its run directory
// sees it.
func commandLine() string {
	return rundir.CommandLine(append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...))
}

// followOut is the run directory submit and resume collect a sweep into.
func followOut(c *cli.Context, id string) string {
	if out := c.String("out"); out != "" {
		return out
	}
	return filepath.Join("runs", id)
}

// claimFollowDir claims the run directory submit or resume collect sweep
// id into, before they connect, unless --detach (they write nothing then).
// release ends the claim when the command ends.
func claimFollowDir(c *cli.Context, id string) (release func(), err error) {
	if c.Bool("detach") {
		return func() {}, nil
	}
	log := newLogger(c)
	out := followOut(c, id)
	_, statErr := os.Stat(out)
	l, err := claimRunDir(out, id, c.Bool("force"), log)
	if err != nil {
		return nil, err
	}
	return func() {
		// A folder the claim created and nothing filled but the lock file
		// (the sweep is not on the server, the connection failed) is not
		// left behind; it is removed while the lock is held.
		if errors.Is(statErr, fs.ErrNotExist) {
			if ents, err := os.ReadDir(out); err == nil && len(ents) == 1 && ents[0].Name() == rundir.FileLock {
				if os.Remove(filepath.Join(out, rundir.FileLock)) == nil {
					os.Remove(out)
				}
			}
		}
		releaseRunDir(l, log)
	}, nil
}
