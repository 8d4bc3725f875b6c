package ensemble

import (
	"fmt"
	"slices"
	"strings"
)

// Tuning is the outcome of a tuning sweep: for each method (its label, the
// "method" setting), the setting to run again at fresh seeds. It is
// Analyze's choice of each method's representative group (the group of
// lowest mean best.<ChosenBy> over its done replicas, the first by name on
// ties), so that `heatbath tune` and `heatbath report` never disagree on
// what was best. Test metrics are never read.
type Tuning struct {
	// ChosenBy is the selection metric (Summary.ChosenBy).
	ChosenBy string `json:"chosen_by"`
	// Methods are the methods of the run in name order.
	Methods []TuneChoice `json:"methods"`
	// Seeds are the seeds of every replica of the tuning run, sorted and
	// without repeats: the seeds a final run must not reuse.
	Seeds []uint64 `json:"seeds"`
}

// TuneChoice is one method's candidates and the one chosen.
type TuneChoice struct {
	// Method is the method's label.
	Method string `json:"method"`
	// Chosen is the chosen group's name; "" when no candidate has a done
	// replica.
	Chosen string `json:"chosen"`
	// Candidates are the method's groups in name order.
	Candidates []TuneCandidate `json:"candidates"`
}

// TuneCandidate is one group (setting) of a method in a tuning sweep.
type TuneCandidate struct {
	// Group is the group's name; Settings its settings (seed excluded).
	Group    string            `json:"group"`
	Settings map[string]string `json:"settings"`
	// Status counts the group's replicas by status: only done replicas
	// enter Selection, so a group whose other seeds diverged is judged on
	// the seeds that finished (Incomplete reports such groups).
	Status StatusCounts `json:"status"`
	// Selection describes best.<ChosenBy> over the done replicas.
	Selection Stats `json:"selection"`
}

// Incomplete reports whether some replicas of the candidate did not finish
// (diverged, failed, cancelled, unreadable or still running), so that its
// Selection covers fewer seeds than were run.
func (c TuneCandidate) Incomplete() bool { return c.Status.Done < c.Status.Total }

// Tune chooses, for each method of a loaded tuning run, the setting to run
// at fresh seeds, by the metric sel ("" means SelectValLoss; see
// Options.Select). The choice is that of Analyze (Summary.Methods
// Representative); Tune adds the candidates table and the seeds used. It
// returns Analyze's errors, such as a validation metric asked for on a run
// without a validation split.
func Tune(run *Run, sel string) (*Tuning, error) {
	if sel == "" {
		sel = SelectValLoss
	}
	// Only the selection is used: one bootstrap resample keeps the
	// comparisons Analyze also computes cheap.
	sum, err := Analyze(run, Options{Select: sel, Resamples: 1})
	if err != nil {
		return nil, err
	}
	t := &Tuning{ChosenBy: sum.ChosenBy, Seeds: []uint64{}}
	for _, m := range sum.Methods {
		c := TuneChoice{Method: m.Method, Candidates: []TuneCandidate{}}
		if m.Representative != nil {
			c.Chosen = m.Representative.Group
		}
		for _, g := range sum.Groups {
			if g.Method == m.Method {
				c.Candidates = append(c.Candidates, TuneCandidate{Group: g.Group, Settings: g.Settings, Status: g.Status, Selection: g.Selection})
			}
		}
		t.Methods = append(t.Methods, c)
	}
	for _, r := range run.Replicas {
		t.Seeds = append(t.Seeds, r.Seed)
	}
	slices.Sort(t.Seeds)
	t.Seeds = slices.Compact(t.Seeds)
	return t, nil
}

// Candidate returns the candidate of the chosen group, or false when none
// was chosen.
func (c TuneChoice) Candidate() (TuneCandidate, bool) {
	for _, cand := range c.Candidates {
		if cand.Group == c.Chosen && c.Chosen != "" {
			return cand, true
		}
	}
	return TuneCandidate{}, false
}

// Table returns the candidates of every method as Markdown table lines,
// each prefixed with prefix (e.g. "# " for YAML comments): the setting,
// done/run replicas, the mean ± sd of best.<ChosenBy> and a mark on the
// chosen one. No test metric is shown.
func (t *Tuning) Table(prefix string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s| method | setting | done/run | best.%s mean ± sd | chosen |\n", prefix, t.ChosenBy)
	fmt.Fprintf(&b, "%s|---|---|---|---|---|\n", prefix)
	for _, m := range t.Methods {
		for _, c := range m.Candidates {
			mark := ""
			if c.Group == m.Chosen {
				mark = "**chosen** (" + Extreme(t.ChosenBy) + " mean)"
			}
			fmt.Fprintf(&b, "%s| %s | %s | %d/%d | %s | %s |\n", prefix, m.Method, settingsText(c.Settings), c.Status.Done, c.Status.Total,
				FormatMeanSD(c.Selection, 4), mark)
		}
	}
	return b.String()
}

// SettingsText lists a replica's settings but method and seed as k=v,
// sorted by key and joined by ", "; "" when there are none.
func SettingsText(s map[string]string) string {
	var parts []string
	for k, v := range s {
		if k != "method" && k != "seed" {
			parts = append(parts, k+"="+v)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// settingsText is SettingsText, "(single setting)" when there are none.
func settingsText(s map[string]string) string {
	if t := SettingsText(s); t != "" {
		return t
	}
	return "(single setting)"
}
