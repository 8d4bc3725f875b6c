package ensemble

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes s as indented JSON (the schema of docs/summary.md), with
// NaN and infinite numbers written as null.
func WriteJSON(w io.Writer, s *Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("ensemble: %w", err)
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}

// MarshalJSON encodes s like encoding/json would, except that NaN and
// infinite numbers, which encoding/json rejects, are written as null.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonSafe(reflect.ValueOf(s)))
}

// jsonObject is a JSON object that keeps its keys in struct field order.
type jsonObject struct {
	keys []string
	vals []any
}

// MarshalJSON writes the object with its keys in order.
func (o jsonObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		buf.Write(kb)
		buf.WriteByte(':')
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// jsonSafe converts v into values encoding/json encodes as it would encode
// v (field names and omitempty from the json tags), with non-finite floats
// replaced by nil. Only the kinds used by Summary are handled.
func jsonSafe(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return jsonSafe(v.Elem())
	case reflect.Struct:
		t := v.Type()
		var o jsonObject
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" && opts == "" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fv := v.Field(i)
			if strings.Contains(opts, "omitempty") && isEmptyValue(fv) {
				continue
			}
			o.keys = append(o.keys, name)
			o.vals = append(o.vals, jsonSafe(fv))
		}
		return o
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		fallthrough
	case reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = jsonSafe(v.Index(i))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := make(map[string]any, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			out[fmt.Sprint(iter.Key().Interface())] = jsonSafe(iter.Value())
		}
		return out
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		return f
	}
	return v.Interface()
}

// isEmptyValue is encoding/json's omitempty rule.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// FormatNum formats x with prec significant digits, "–" for NaN and ∞ for
// infinities: the number format of every report table.
func FormatNum(x float64, prec int) string {
	if math.IsNaN(x) {
		return "–"
	}
	if math.IsInf(x, 1) {
		return "∞"
	}
	if math.IsInf(x, -1) {
		return "−∞"
	}
	return strconv.FormatFloat(x, 'g', prec, 64)
}

// FormatFixed formats x with digits decimals, "–" for NaN.
func FormatFixed(x float64, digits int) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return FormatNum(x, 4)
	}
	return strconv.FormatFloat(x, 'f', digits, 64)
}

// FormatMeanSD formats "mean ± sd" ("–" without data, the mean alone for
// one value).
func FormatMeanSD(s Stats, digits int) string {
	if s.N == 0 {
		return "–"
	}
	if s.N == 1 {
		return FormatFixed(s.Mean, digits)
	}
	return FormatFixed(s.Mean, digits) + " ± " + FormatFixed(s.SD, digits)
}

// FormatCI formats an interval "[lo, hi]".
func FormatCI(lo, hi float64, digits int) string {
	if math.IsNaN(lo) || math.IsNaN(hi) {
		return "–"
	}
	return "[" + FormatFixed(lo, digits) + ", " + FormatFixed(hi, digits) + "]"
}

// FormatP formats a p-value with 4 decimals, "<1e-4" below that.
func FormatP(p float64) string {
	if math.IsNaN(p) {
		return "–"
	}
	if p < 1e-4 {
		return "<1e-4"
	}
	return strconv.FormatFloat(p, 'f', 4, 64)
}

// mdEscape makes text safe inside a Markdown table cell.
func mdEscape(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}

// FormatSettings joins settings as k=v in key order.
func FormatSettings(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, " ")
}

// mdWriter writes Markdown and remembers the first error.
type mdWriter struct {
	w   io.Writer
	err error
}

func (m *mdWriter) printf(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

func (m *mdWriter) row(cells ...string) {
	for i, c := range cells {
		cells[i] = mdEscape(c)
	}
	m.printf("| %s |\n", strings.Join(cells, " | "))
}

func (m *mdWriter) header(cells ...string) {
	m.row(cells...)
	sep := make([]string, len(cells))
	for i := range sep {
		sep[i] = "---"
	}
	m.printf("|%s|\n", strings.Join(sep, "|"))
}

// FormatScore gives the accuracy, NLL and ECE cells of a score.
func FormatScore(s *Score) []string {
	if s == nil {
		return []string{"–", "–", "–"}
	}
	return []string{FormatFixed(s.Accuracy, 4), FormatFixed(s.NLL, 4), FormatFixed(s.ECE, 4)}
}

// WriteMarkdown writes s as a readable Markdown report: status counts,
// groups, steps to reach the thresholds, comparisons, the best
// parameterization, temperature ladders, convergence and equipartition
// diagnostics, model averaging and warnings.
func WriteMarkdown(w io.Writer, s *Summary) error {
	m := &mdWriter{w: w}
	title := s.Run.Name
	if title == "" {
		title = s.Run.ID
	}
	m.printf("# Ensemble summary: %s\n\n", title)
	m.printf("Run `%s` (spec %s, created %s). Selection metric: best.%s. Burn-in: first %g of each trace.\n\n",
		s.Run.ID, s.Run.SpecHash, s.Run.Created, s.ChosenBy, s.BurnIn)

	m.printf("## Status\n\n")
	m.header("group", "total", "done", "diverged", "failed", "cancelled", "incomplete", "unreadable")
	statusRow := func(name string, c StatusCounts) {
		m.row(name, strconv.Itoa(c.Total), strconv.Itoa(c.Done), strconv.Itoa(c.Diverged),
			strconv.Itoa(c.Failed), strconv.Itoa(c.Cancelled), strconv.Itoa(c.Incomplete), strconv.Itoa(c.Unreadable))
	}
	for _, g := range s.Groups {
		statusRow(g.Group, g.Status)
	}
	statusRow("**all**", s.Status)
	if n := s.Status.Pruned; n > 0 {
		m.printf("\n%d replicas were pruned: stopped at a milestone by successive halving (listed below with the step each was cut at).\n", n)
	}
	m.printf("\nOnly done replicas enter the statistics below.\n\n")
	writeProblems(m, s)

	m.printf("## Groups\n\n")
	m.printf("Final test accuracy over seeds (mean ± sd, 95%% t-interval of the mean, median [IQR], range), final test loss, and test accuracy at each replica's best-validation evaluation.\n\n")
	m.header("group", "n", "test acc", "95% CI", "median [Q1, Q3]", "min–max", "test loss", "test acc @best val")
	for _, g := range s.Groups {
		a := g.FinalTestAcc
		m.row(g.Group, strconv.Itoa(a.N), FormatMeanSD(a, 4), FormatCI(a.CILo, a.CIHi, 4),
			FormatFixed(a.Median, 4)+" "+FormatCI(a.Q1, a.Q3, 4), FormatFixed(a.Min, 4)+"–"+FormatFixed(a.Max, 4),
			FormatMeanSD(g.FinalTestLoss, 4), FormatMeanSD(g.BestTestAcc, 4))
	}
	m.printf("\n")

	if len(s.Options.Thresholds) > 0 {
		m.printf("## Steps to reach test accuracy\n\n")
		m.printf("Over done replicas with a trajectory; steps are those of the replicas that reached the threshold; the overall median counts \"never\" as ∞.\n\n")
		m.header("group", "threshold", "reached / n", "never", "median steps (reached)", "mean steps (reached)", "median (all)")
		for _, g := range s.Groups {
			for _, r := range g.Reach {
				m.row(g.Group, FormatNum(r.Threshold, 4), fmt.Sprintf("%d / %d", r.Reached, r.N), strconv.Itoa(r.Never),
					FormatNum(r.Steps.Median, 6), FormatNum(r.Steps.Mean, 6), FormatNum(r.MedianAll, 6))
			}
		}
		m.printf("\n")
	}

	m.printf("## Comparisons\n\n")
	if len(s.Comparisons) == 0 {
		m.printf("No comparisons (fewer than two groups with done replicas).\n\n")
	} else {
		m.printf("Δ = mean final test accuracy of A − B with a 95%% percentile bootstrap interval (%d resamples, seed %d); g = Hedges' g (Δ over the pooled sd, small-sample corrected) with its 95%% bootstrap interval; Brown–Forsythe test of equal variance over seeds.\n\n",
			s.Options.Resamples, s.Options.Seed)
		m.header("A", "B", "n A / B", "Δ test acc", "95% bootstrap CI", "g", "95% CI of g", "sd A", "sd B", "F (df)", "p")
		for _, c := range s.Comparisons {
			m.row(c.A, c.B, fmt.Sprintf("%d / %d", c.NA, c.NB), FormatFixed(c.Diff, 4), FormatCI(c.DiffLo, c.DiffHi, 4), FormatFixed(c.G, 2), FormatCI(c.GLo, c.GHi, 2),
				FormatFixed(c.SDA, 4), FormatFixed(c.SDB, 4), fmt.Sprintf("%s (%d, %d)", FormatNum(c.Levene.F, 4), c.Levene.DF1, c.Levene.DF2), FormatP(c.Levene.P))
		}
		m.printf("\n")
		if len(s.Comparisons[0].Reach) > 0 {
			m.printf("### Steps to reach, by pair\n\n")
			m.printf("Restricted mean of the first step at which the test accuracy reached the threshold; a replica that never reached it counts as its last step (never: how many). Δ = A − B (negative: A is faster) with a 95%% percentile bootstrap interval.\n\n")
			m.header("A", "B", "test acc", "mean steps A (never)", "mean steps B (never)", "Δ steps", "95% bootstrap CI")
			for _, c := range s.Comparisons {
				for _, r := range c.Reach {
					m.row(c.A, c.B, FormatNum(r.Threshold, 4), fmt.Sprintf("%s (%d of %d)", FormatFixed(r.MeanA, 0), r.NeverA, r.NA),
						fmt.Sprintf("%s (%d of %d)", FormatFixed(r.MeanB, 0), r.NeverB, r.NB), FormatFixed(r.Diff, 0), FormatCI(r.DiffLo, r.DiffHi, 0))
				}
			}
			m.printf("\n")
		}
	}
	if sp := s.Spread; sp != nil {
		m.printf("### Spread over initializations, by method\n\n")
		m.printf("Each method's best group (%s mean best.%s); Brown–Forsythe test across them: F = %s (%d, %d), p = %s.\n\n",
			Extreme(s.ChosenBy), s.ChosenBy, FormatNum(sp.Levene.F, 4), sp.Levene.DF1, sp.Levene.DF2, FormatP(sp.Levene.P))
		m.header("method", "group", "n", "sd of test acc", "IQR of test acc")
		for i := range sp.Groups {
			m.row(sp.Methods[i], sp.Groups[i], strconv.Itoa(sp.N[i]), FormatFixed(sp.SD[i], 4), FormatFixed(sp.IQR[i], 4))
		}
		m.printf("\n")
	}

	m.printf("## Best parameterization\n\n")
	if b := s.Best; b == nil {
		m.printf("No done replica.\n\n")
	} else {
		m.printf("Chosen by the %s best.%s (never on test).\n\n", Extreme(b.ChosenBy), b.ChosenBy)
		m.header("", "value")
		m.row("replica", b.ID)
		m.row("group", b.Group)
		m.row("settings", FormatSettings(b.Settings))
		m.row("best."+b.ChosenBy, FormatNum(b.Value, 6))
		m.row("test acc / loss at best evaluation (step "+strconv.FormatInt(b.AtBest.Step, 10)+")", FormatFixed(b.AtBest.TestAcc, 4)+" / "+FormatFixed(b.AtBest.TestLoss, 4))
		m.row("test acc / loss final (step "+strconv.FormatInt(b.Final.Step, 10)+", = final parameters)", FormatFixed(b.Final.TestAcc, 4)+" / "+FormatFixed(b.Final.TestLoss, 4))
		m.row("final parameters", b.ParamsPath)
		if b.Predictions != nil {
			c := FormatScore(b.Predictions)
			m.row("final predictions: acc / NLL / ECE", strings.Join(c, " / "))
		}
		m.printf("\n")
	}
	if g := s.BestGroup; g != nil {
		m.printf("Best group on average (%s mean best.%s): **%s**, n = %d, best.%s = %s, final test acc %s %s.\n\n",
			Extreme(g.ChosenBy), g.ChosenBy, mdEscape(g.Group), g.Selection.N, g.ChosenBy, FormatMeanSD(g.Selection, 4),
			FormatMeanSD(g.FinalTestAcc, 4), FormatCI(g.FinalTestAcc.CILo, g.FinalTestAcc.CIHi, 4))
	}
	if len(s.Methods) > 0 {
		m.printf("### Each method\n\n")
		m.printf("The representative group (%[1]s mean best.%[2]s over its seeds) stands for the method in the comparisons, the spread test and the charts; the best replica (%[1]s best.%[2]s) is the method's best single parameterization. Neither is chosen on test.\n\n", Extreme(s.ChosenBy), s.ChosenBy)
		m.header("method", "groups", "representative group", "n", "best."+s.ChosenBy+" (mean ± sd)", "final test acc", "best replica", "its group", "best."+s.ChosenBy, "final test acc")
		for _, ms := range s.Methods {
			cells := []string{ms.Method, strconv.Itoa(len(ms.Groups))}
			if g := ms.Representative; g != nil {
				cells = append(cells, g.Group, strconv.Itoa(g.Selection.N), FormatMeanSD(g.Selection, 4), FormatMeanSD(g.FinalTestAcc, 4))
			} else {
				cells = append(cells, "–", "0", "–", "–")
			}
			if b := ms.Best; b != nil {
				cells = append(cells, b.ID, b.Group, FormatNum(b.Value, 6), FormatFixed(b.Final.TestAcc, 4))
			} else {
				cells = append(cells, "–", "–", "–", "–")
			}
			m.row(cells...)
		}
		m.printf("\n")
	}

	if len(s.Ladders) > 0 {
		m.printf("## Temperature ladders\n\n")
		m.printf("Final test metrics against τ (mean and 95%% t-interval over seeds). The Goldilocks τ has the %s mean best.%s over seeds, the selection metric of every other choice (never a test metric); its interval holds the central 95%% of the bootstrap distribution of the best τ over seeds, P(best) the frequency of each τ.\n\n", Extreme(s.ChosenBy), s.ChosenBy)
		for _, l := range s.Ladders {
			m.printf("### %s (%s)\n\n", l.Method, FormatSettings(l.Fixed))
			m.header("τ", "done / total", "best."+s.ChosenBy, "test acc", "95% CI", "test loss", "95% CI", "P(best)")
			for _, p := range l.Points {
				m.row(FormatNum(p.Tau, 6), fmt.Sprintf("%d / %d", p.Status.Done, p.Status.Total), FormatMeanSD(p.Metric, 4),
					FormatFixed(p.TestAcc.Mean, 4), FormatCI(p.TestAcc.CILo, p.TestAcc.CIHi, 4),
					FormatFixed(p.TestLoss.Mean, 4), FormatCI(p.TestLoss.CILo, p.TestLoss.CIHi, 4), FormatFixed(p.PBest, 3))
			}
			if g := l.Goldilocks; g != nil {
				m.printf("\nGoldilocks τ = %s (%s mean best.%s = %s; 95%% bootstrap interval [%s, %s], P(best) = %s), test acc %s.\n\n",
					FormatNum(g.Tau, 6), Extreme(g.ChosenBy), g.ChosenBy, FormatNum(g.Value, 4), FormatNum(g.Lo, 6), FormatNum(g.Hi, 6), FormatFixed(g.PBest, 3), FormatMeanSD(g.TestAcc, 4))
			} else {
				m.printf("\nNo done replicas.\n\n")
			}
		}
	}

	m.printf("## Convergence diagnostics\n\n")
	m.printf("Chains are the done replicas of a group; first %g of each loss trace discarded as burn-in. Split R̂ (BDA3), rank-normalized split R̂ and bulk ESS (Vehtari et al. 2021). R̂ below 1.01 indicates chains that agree.\n\n", s.BurnIn)
	m.header("group", "metric", "chains", "draws", "split R̂", "rank R̂", "bulk ESS")
	for _, c := range s.Convergence {
		m.row(c.Group, c.Metric, strconv.Itoa(c.Chains), strconv.Itoa(c.Draws), FormatFixed(c.SplitRHat, 3), FormatFixed(c.RankRHat, 3), FormatFixed(c.BulkESS, 0))
	}
	m.printf("\n")

	if len(s.Equipartition) > 0 {
		m.printf("## Equipartition\n\n")
		m.printf("Relative error |⟨T_kin⟩ − τ|/τ of the time-averaged kinetic temperature per thermostat group, over done replicas (\"scheduled\" compares with the mean scheduled τ(n)).\n\n")
		m.header("method", "group", "integrator", "replicas", "rel. error mean ± sd", "max", "⟨T_kin⟩/τ", "rel. error (scheduled)")
		for _, e := range s.Equipartition {
			m.row(e.Method, e.Name, e.Integrator, strconv.Itoa(e.Replicas), FormatMeanSD(e.RelErr, 4), FormatFixed(e.RelErr.Max, 4),
				FormatMeanSD(e.Ratio, 4), FormatMeanSD(e.RelErrScheduled, 4))
		}
		m.printf("\n")
	}

	if len(s.ModelAveraging) > 0 {
		m.printf("## Model averaging\n\n")
		m.printf("Test accuracy / NLL / ECE (%d bins) of the posterior predictive (last-K averages averaged over chains), of the group's best replica by best.%s (final sample), and the mean over chains of single-chain scores.\n\n", ECEBins, s.ChosenBy)
		m.header("group", "chains", "ensemble acc", "NLL", "ECE", "best single acc", "NLL", "ECE", "mean chain acc", "NLL", "ECE")
		for _, a := range s.ModelAveraging {
			cells := []string{a.Group, strconv.Itoa(a.Chains)}
			cells = append(cells, FormatScore(a.Ensemble)...)
			cells = append(cells, FormatScore(a.Best)...)
			cells = append(cells, FormatScore(a.ChainFinal)...)
			m.row(cells...)
		}
		m.printf("\n")
	}

	if len(s.Warnings) > 0 {
		m.printf("## Warnings\n\n")
		for _, w := range s.Warnings {
			m.printf("- %s\n", w)
		}
		m.printf("\n")
	}
	return m.err
}

// WriteTable writes the key table for a terminal: per group the number of
// done and listed replicas, the final test accuracy (mean ± sd, median, the
// maximum over seeds) and the mean test accuracy at the best-validation
// evaluation.
func WriteTable(w io.Writer, s *Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tDONE/TOTAL\tTEST ACC\tMEDIAN\tMAX\tACC@BEST VAL\tFAILED\tDIVERGED\tCANCELLED")
	for _, g := range s.Groups {
		a := g.FinalTestAcc
		fmt.Fprintf(tw, "%s\t%d/%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", g.Group, g.Status.Done, g.Status.Total,
			FormatMeanSD(a, 4), FormatFixed(a.Median, 4), FormatFixed(a.Max, 4), FormatFixed(g.BestTestAcc.Mean, 4),
			g.Status.Failed, g.Status.Diverged, g.Status.Cancelled)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if c := s.Status; c.Unreadable > 0 {
		fmt.Fprintf(w, "%d replicas skipped as unreadable (damaged files): see the warnings of summary.md\n", c.Unreadable)
	}
	if b := s.Best; b != nil {
		_, err := fmt.Fprintf(w, "\nbest replica (by best.%s): %s  %s  final test acc %s\n", b.ChosenBy, b.ID, b.Group, FormatFixed(b.Final.TestAcc, 4))
		return err
	}
	return nil
}
