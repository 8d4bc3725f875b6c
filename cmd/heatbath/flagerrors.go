package main

// Flag errors as the user typed the flag: the standard flag package (under
// urfave/cli) reports "-steps" for --steps, has no typed errors, and
// suggests nothing; these lines name --flag, the value given and what the
// flag takes, and the closest flag for a misspelt one.

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/internal/suggest"
)

// The messages of the standard flag package (go/src/flag/flag.go), the
// only form its errors come in.
var (
	flagUndefinedRE = regexp.MustCompile(`^flag provided but not defined: -+(.+)$`)
	flagValueRE     = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for flag -+([^:]+): (.*)$`)
	flagNoValueRE   = regexp.MustCompile(`^flag needs an argument: -+(.+)$`)
)

// flagProblem rewrites an error of the flag package about the flags of
// flags into "--name: ..." words; other errors keep their text.
func flagProblem(err error, flags []cli.Flag) string {
	msg := err.Error()
	if m := flagUndefinedRE.FindStringSubmatch(msg); m != nil {
		var names []string
		for _, f := range flags {
			for _, n := range f.Names() {
				if len(n) > 1 {
					names = append(names, n)
				}
			}
		}
		out := fmt.Sprintf("unknown flag %s", dashes(m[1]))
		if s := suggest.Closest(m[1], names); s != "" {
			out += fmt.Sprintf("; did you mean --%s?", s)
		}
		return out
	}
	if m := flagValueRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("%s: %q is not %s", dashes(m[2]), m[1], flagTakes(m[2], flags))
	}
	if m := flagNoValueRE.FindStringSubmatch(msg); m != nil {
		if what := flagTakes(m[1], flags); what != anyValue {
			return fmt.Sprintf("%s needs a value (%s)", dashes(m[1]), what)
		}
		if u := flagUsage(m[1], flags); u != "" {
			return fmt.Sprintf("%s needs a value: %s", dashes(m[1]), u)
		}
		return fmt.Sprintf("%s needs a value", dashes(m[1]))
	}
	return msg
}

// dashes writes a flag name as typed: --name, or -n for one letter.
func dashes(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// anyValue is what flagTakes says of a flag whose type tells nothing.
const anyValue = "a valid value"

// findFlag returns the flag of flags called name, nil for none.
func findFlag(name string, flags []cli.Flag) cli.Flag {
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// flagUsage returns the usage text of the flag called name, "" for none.
func flagUsage(name string, flags []cli.Flag) string {
	if d, ok := findFlag(name, flags).(cli.DocGenerationFlag); ok {
		return d.GetUsage()
	}
	return ""
}

// flagTakes says what the flag called name takes, from its type.
func flagTakes(name string, flags []cli.Flag) string {
	switch findFlag(name, flags).(type) {
	case *cli.IntFlag, *cli.Int64Flag:
		return "a whole number"
	case *cli.UintFlag, *cli.Uint64Flag:
		return "a non-negative whole number"
	case *cli.Float64Flag:
		return "a number"
	case *cli.DurationFlag:
		return "a duration such as 500ms, 10s or 2m"
	case *cli.BoolFlag:
		return "true or false"
	}
	return anyValue
}

// flagsOf returns the flags of the command c runs (the app's own at the
// top level).
func flagsOf(c *cli.Context) []cli.Flag {
	if c.Command != nil && c.Command.Name != "" {
		return c.Command.Flags
	}
	return c.App.Flags
}
