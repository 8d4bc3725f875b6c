// Package suggest finds the closest of a list of names to a misspelt one
// and words the error for a value that is not one of them, so that every
// enumerated value a spec or a flag takes (a data kind, a method name, a
// command, a key, a flag) gets the same did-you-mean. It is a leaf: the
// standard library only, importable by the pure packages and the command.
package suggest

import (
	"fmt"
	"strconv"
	"strings"
)

// Closest returns the name of names nearest to s, or "" when none is
// near. In order: a name equal to s but for case; a name one edit
// (insertion, deletion, substitution) away; else the first name s is a
// prefix of (s of 2 characters at least); else a name two edits away;
// else the first name of 3 characters or more that s starts with
// ("warning" suggests "warn"). An edit never replaces all of s ("z"
// suggests nothing). Ties go to the first name.
func Closest(s string, names []string) string {
	for _, n := range names {
		if n != s && strings.EqualFold(n, s) {
			return n
		}
	}
	best, bestD := "", min(3, len(s))
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	if bestD <= 1 {
		return best
	}
	if len(s) >= 2 {
		for _, n := range names {
			if strings.HasPrefix(n, s) {
				return n
			}
		}
	}
	if best != "" {
		return best
	}
	for _, n := range names {
		if len(n) >= 3 && strings.HasPrefix(s, n) {
			return n
		}
	}
	return ""
}

// Hint returns "; did you mean "X"?" for the closest of names to s, or ""
// when none is near: the suffix of a message about s.
func Hint(s string, names []string) string {
	if c := Closest(s, names); c != "" {
		return fmt.Sprintf("; did you mean %q?", c)
	}
	return ""
}

// Unknown words a value s that is not one of names: `"spirals" is
// unknown; did you mean "spiral"? (want trig, spiral, rings, mnist or
// csv)`. The did-you-mean is left out when no name is near.
func Unknown(s string, names []string) string {
	return fmt.Sprintf("%s is unknown%s (want %s)", strconv.Quote(s), Hint(s, names), List(names))
}

// List joins names as prose: "a", "a or b", "a, b or c".
func List(names []string) string {
	switch len(names) {
	case 0:
		return "nothing"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
