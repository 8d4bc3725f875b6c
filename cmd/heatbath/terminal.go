package main

// What the command line knows about its terminal: whether progress can be
// redrawn in place, whether logs may be coloured, and the log levels.

import (
	"os"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/urfave/cli/v2"
	"github.com/vbauerster/cupwriter"

	"github.com/heatbath/heatbath/internal/suggest"
)

// terminalWidth returns the width in columns of the terminal f writes to,
// or 0 when progress must not be redrawn in place: f is not a terminal,
// the terminal reports no size (a serial console, some containers'
// pseudo-terminals), or TERM=dumb says it cannot move the cursor. The size
// comes from the same call the progress bars (mpb) make, which fail to
// draw without it.
func terminalWidth(f *os.File) int {
	if f == nil || !isTerminal(f) || os.Getenv("TERM") == "dumb" {
		return 0
	}
	w, _, err := cupwriter.New(f, false).GetTermSize()
	if err != nil || w <= 0 {
		return 0
	}
	return w
}

// logColor is the colour option of every logger: none when NO_COLOR is
// set to anything but "" (https://no-color.org) or TERM=dumb, else colour
// on terminals only (hclog's AutoColor, which ignores NO_COLOR).
func logColor() hclog.ColorOption {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return hclog.ColorOff
	}
	return hclog.AutoColor
}

// logLevels are the values --log-level takes, in increasing severity.
var logLevels = []string{"trace", "debug", "info", "warn", "error"}

// logLevelFlag is the --log-level flag of every command that logs; an
// unknown level is a usage error, whether from the flag or from
// HEATBATH_LOG_LEVEL.
func logLevelFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"HEATBATH_LOG_LEVEL"},
		Usage: strings.Join(logLevels, ", "), Action: checkLogLevel}
}

// checkLogLevel rejects a --log-level that is not one of logLevels
// (case-insensitive), naming where it came from: the flag, or
// HEATBATH_LOG_LEVEL when the command line has no --log-level.
func checkLogLevel(c *cli.Context, v string) error {
	for _, l := range logLevels {
		if strings.EqualFold(strings.TrimSpace(v), l) {
			return nil
		}
	}
	from, typed := flagAsTyped(c, "log-level")
	if !typed {
		from = "HEATBATH_LOG_LEVEL"
	}
	return usageErrorf("%s %q is not a level%s (want %s)", from, v, suggest.Hint(strings.ToLower(strings.TrimSpace(v)), logLevels), strings.Join(logLevels, ", "))
}
