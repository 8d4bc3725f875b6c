package liveview

import (
	"regexp"
	"strings"
	"testing"

	"github.com/heatbath/heatbath/protocol"
)

// TestPageKnowsEveryState: the page counts replicas in every state a
// view's Counts holds (an element count-<state> in index.html, the state
// in app.js's STATES), and links the files of a replica in every terminal
// state, whose files the server hands out. Pruned replicas were neither
// counted nor linked.
func TestPageKnowsEveryState(t *testing.T) {
	html, err := assets.ReadFile("assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	js, err := assets.ReadFile("assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`var STATES = \[([^\]]*)\]`).FindSubmatch(js)
	f := regexp.MustCompile(`if \(!v\.files \|\| \[([^\]]*)\]\.indexOf\(r\.state\)`).FindSubmatch(js)
	if m == nil || f == nil {
		t.Fatalf("app.js: no STATES list (%v) or no list of the states whose files are linked (%v)", m != nil, f != nil)
	}
	for _, st := range []protocol.State{protocol.StatePending, protocol.StateRunning, protocol.StatePreempted,
		protocol.StateDone, protocol.StateFailed, protocol.StateCancelled, protocol.StatePruned} {
		q := `"` + string(st) + `"`
		if !strings.Contains(string(html), `id="count-`+string(st)+`"`) {
			t.Errorf("index.html has no count-%s", st)
		}
		if !strings.Contains(string(m[1]), q) {
			t.Errorf("app.js STATES lacks %s", q)
		}
		if st.Terminal() != strings.Contains(string(f[1]), q) {
			t.Errorf("app.js links the files of %s replicas: %v, want %v (terminal)", st, !st.Terminal(), st.Terminal())
		}
	}
}
