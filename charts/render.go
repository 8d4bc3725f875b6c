package charts

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/rundir"
)

// Extra carries what Render cannot compute from the run directory.
type Extra struct {
	// Spec is the spec text shown in the report. When empty, Render shows
	// the run directory's spec.yaml if there is one.
	Spec string
	// Between are loss interpolations between two solutions (for example
	// the best replicas of two methods), computed by the caller with the
	// network; nil leaves that panel out.
	Between []BetweenCurve
}

// MaxSVGBytes is the largest SVG file Render writes next to a PNG; larger
// charts (heat maps, dense curves) are written as PNG only.
const MaxSVGBytes = 512 << 10

// figureWidthPx is the width, in CSS pixels, at which the report shows a
// 10-inch figure.
const figureWidthPx = 1080

// Figures computes the data of every chart of a run and draws it. It
// returns the charts in report order (images not yet encoded), and notes
// naming the charts left out and why (no 2-D data, no thermostat, ...).
// A damaged replica file never stops it: the replica is left out of that
// chart (Render lists the warnings of figures; Figures drops them).
func Figures(run *ensemble.Run, sum *ensemble.Summary, extra Extra) ([]NamedFigure, []string, error) {
	figs, notes, _, err := figures(run, sum, extra)
	return figs, notes, err
}

// figures is Figures, with the warnings naming each replica left out of a
// chart because a file of it is damaged (the file and the reason).
func figures(run *ensemble.Run, sum *ensemble.Summary, extra Extra) ([]NamedFigure, []string, []string, error) {
	pal := reportPalette(run, sum, extra)
	var figs []NamedFigure
	var notes []string
	var warns warnings // replicas left out of a chart: damaged files
	add := func(name, title, caption string, svg bool, f *Figure, err error) error {
		if err != nil {
			return fmt.Errorf("charts: %s: %w", name, err)
		}
		figs = append(figs, NamedFigure{Name: name, Title: title, Caption: caption, Figure: f, SVG: svg})
		return nil
	}

	groups := LineGroups(sum)
	shown := "Each line is one group"
	if len(groups) < countDone(sum) {
		shown = fmt.Sprintf("The run has %d groups with done replicas; each line is one method's representative group (%s mean best.%s over its seeds, summary.json \"methods\")", countDone(sum), ensemble.Extreme(sum.ChosenBy), sum.ChosenBy)
	}
	loss := LearningCurveData(run, groups, "test_loss")
	acc := LearningCurveData(run, groups, "test_acc")
	if len(loss)+len(acc) > 0 {
		f, err := DrawLearningCurves(loss, acc, pal)
		stat := shown + ": the line is the mean over its done replicas (seeds) and the shaded band the 95% Student-t confidence interval of that mean, cut at the metric's range (loss ≥ 0, accuracy within [0, 1]). "
		if maxReplicas(loss, acc) < 2 {
			stat = "Each line is one chain (one done replica per group): its own evaluations, with no band, since a confidence interval needs two seeds or more. "
		}
		if err := add("learning-curves", "Learning curves",
			"Test loss (left) and test accuracy (right) on the held-out test split against the training step, as in Figure 2 of Leimkuhler, Matthews and Vlaar. "+
				stat+
				"Colour is the method; groups of one method differ by dash pattern. Curves come from the evaluations in each replica's trajectory.csv.",
			true, f, err); err != nil {
			return nil, nil, nil, err
		}
	} else {
		notes = append(notes, "Learning curves: no done replica with a trajectory.csv.")
	}

	boxes := BoxData(run, sum)
	if most := 0; len(boxes) > 0 {
		for _, b := range boxes {
			most = max(most, len(b.Values))
		}
		if most < 2 {
			notes = append(notes, "Spread across initializations: every group has one done replica (seed); the spread needs two or more.")
			boxes = nil
		}
	}
	if len(boxes) > 0 {
		f, err := DrawBoxes(boxes, pal)
		if err := add("spread", "Spread across initializations",
			"Final test accuracy of every done replica, one row per group (n = number of seeds). The box spans the first to the third quartile, "+
				"the black line is the median and × the mean (the statistics in the table “Final test accuracy per group”); whiskers reach the most extreme "+
				"replicas within 1.5 interquartile ranges of the box, rings mark replicas beyond. A narrow box means the result depends little on the initialization.",
			true, f, err); err != nil {
			return nil, nil, nil, err
		}
	}

	lines := LadderData(sum)
	drawable := false
	for _, l := range lines {
		drawable = drawable || anyFinite(l.Acc.Y)
	}
	switch {
	case len(lines) == 0:
		notes = append(notes, "Temperature ladder: the run has no groups differing only in τ.")
	case !drawable:
		notes = append(notes, "Temperature ladder: no ladder has a τ > 0 with done replicas.")
	default:
		f, err := DrawLadder(lines, pal)
		if err := add("ladder", "Temperature ladder",
			"Final test accuracy (left) and test loss (right) against the temperature τ on a log axis; each point is one group (one τ), "+
				"the line the mean over its seeds and the band the 95% Student-t interval. One line per method (and fixed settings). "+
				"The black ring marks the Goldilocks τ of each ladder: the τ of "+ensemble.Extreme(sum.ChosenBy)+" mean "+goldilocksMetric(sum)+" over its seeds, the validation metric of every selection in this report (never a test metric); its bootstrap interval is in the ladder table.",
			true, f, err); err != nil {
			return nil, nil, nil, err
		}
	}

	xs, ws := ExchangeData(run, sum)
	warns.add(ws...)
	if len(xs) > 0 {
		f, err := DrawExchange(xs, pal)
		if err := add("exchange", "Replica exchange",
			"For each method whose replicas are exchange sets (chains at the temperatures of a ladder swapping temperatures, exchange.json): "+
				"left, the fraction of proposed swaps accepted between adjacent rungs, against the pair's temperature √(τ_k·τ_k+1) on a log axis, pooled over up to "+
				fmt.Sprint(MaxChainsRead)+" sets of its representative group, with the 95% Wilson interval; right, the rung each chain of the method's best set sat at over the run "+
				"(exchange_path.csv; rung 0 is the coldest, the one the analysis selects from). Chains that cross the whole ladder and back make round trips; a pair that never accepts splits the ladder.",
			true, f, err); err != nil {
			return nil, nil, nil, err
		}
	}

	bs, ws := DecisionBoundaryData(run, sum)
	warns.add(ws...)
	if len(bs) > 0 {
		f, err := DrawBoundaries(bs)
		if err := add("decision-boundaries", "Decision boundaries",
			"The classifier over the input plane of the 2-D data set, as in Figure 1 of the paper: colour is the predicted probability of class 1 "+
				"(blue 0, white 0.5, red 1), the black line the decision boundary P = 0.5, and the training points are rings (class 0) and plus signs (class 1). "+
				"For each method: the final parameters of its best replica ("+ensemble.Extreme(sum.ChosenBy)+" best."+sum.ChosenBy+", never chosen on test) and the model average of its representative group ("+ensemble.Extreme(sum.ChosenBy)+" mean best."+sum.ChosenBy+") "+
				"(for each chain the average prediction over its last K evaluations, averaged over up to "+fmt.Sprint(MaxChainsRead)+" chains). "+
				"High contrast between points and background means confident, correct predictions.",
			false, f, err); err != nil {
			return nil, nil, nil, err
		}
	} else {
		notes = append(notes, "Decision boundaries: no grid.json (the data set is not 2-D).")
	}

	if panels := EquipartitionData(run, groups); len(panels) > 0 {
		f, err := DrawEquipartition(panels, pal)
		var tkin []Series
		for _, p := range panels {
			tkin = append(tkin, p.Tkin...)
		}
		stat := "Solid line: mean over the seeds of the group; band: 95% interval of that mean. "
		if maxReplicas(tkin) < 2 {
			stat = "Solid line: the group's one chain (no band: a confidence interval needs two seeds or more). "
		}
		if err := add("equipartition", "Equipartition: kinetic temperature",
			"Kinetic temperature |p|²/N of each thermostatted parameter group (trajectory.csv column tkin:<group>) against the training step, on a log axis, "+
				"with its target temperature τ(n) dashed in the same colour. By equipartition of energy the kinetic temperature of a sampler in equilibrium "+
				"fluctuates around τ. "+stat+"One panel per group "+
				"(methods without momenta, such as SGD and Adam, have no kinetic temperature and are left out). The equipartition table gives the relative error of the time average.",
			true, f, err); err != nil {
			return nil, nil, nil, err
		}
	} else {
		notes = append(notes, "Equipartition: no group has a kinetic temperature (no Langevin-type sampler with momenta).")
	}

	xi, ws := XiData(run, sum)
	warns.add(ws...)
	if len(xi) > 0 {
		f, err := DrawXi(xi, pal)
		if err := add("xi", "Adaptive thermostat ξ",
			"The thermostat variable ξ of each adaptive tensor (trajectory.csv columns xi:<tensor>) against the training step, for each method's best replica ("+ensemble.Extreme(sum.ChosenBy)+" best."+sum.ChosenBy+"). "+
				"ξ acts as a friction learned on the fly: it grows while the tensor is hotter than its target τ and shrinks while it is colder, "+
				"so a ξ that levels off indicates the adaptive layer has reached its temperature.",
			true, f, err); err != nil {
			return nil, nil, nil, err
		}
	} else {
		notes = append(notes, "Adaptive thermostat ξ: no adaptive (AdLaLa-type) tensor in the best replicas.")
	}

	hs, ws := WeightHistData(run, sum)
	warns.add(ws...)
	if len(hs) > 0 {
		f, err := DrawWeightHist(hs, pal)
		if err := add("weights", "Parameter magnitudes",
			"Histogram of the magnitudes |θ_i| of all weights and biases at the end of training (params.safetensors), pooled over up to "+fmt.Sprint(MaxChainsRead)+
				" replicas of each method's representative group ("+ensemble.Extreme(sum.ChosenBy)+" mean best."+sum.ChosenBy+"), as the fraction of that method's parameters per bin (log-spaced bins, 4 per decade; the leftmost bin also "+
				"counts everything below 10⁻⁶). The paper observes that SGD and Adam leave many parameters near zero while the samplers excite many; "+
				"the legend gives the fraction below the near-zero threshold (dashed line)."+smallFractionsText(run, sum, &warns),
			true, f, err); err != nil {
			return nil, nil, nil, err
		}
	} else {
		notes = append(notes, "Parameter magnitudes: no parameter file (params.safetensors).")
	}

	within, ws := InterpData(run, sum)
	warns.add(ws...)
	between := BetweenData(extra.Between)
	if len(within)+len(between) > 0 {
		f, err := DrawInterp(within, between, pal)
		stat := "mean over up to " + fmt.Sprint(MaxChainsRead) + " replicas of each method's representative group with its 95% band"
		if maxReplicas(within) < 2 {
			stat = "of the one chain of each method's representative group (no band: a confidence interval needs two seeds or more)"
		}
		cap := "Loss along a straight line in parameter space, θ(α) = (1−α)·θ_start + α·θ_end (Goodfellow et al. 2015), on a log axis; solid is the test loss, dashed the training loss, and α outside [0, 1] extrapolates beyond the ends. " +
			"Left: from the initial (α = 0) to the final (α = 1) parameters (interp.csv), " + stat + "; " +
			"a monotone descent means no barrier lies on the way."
		if len(between) > 0 {
			cap += " Right: between the best replicas of two methods (colours of their own, not the methods'); a bump between α = 0 and α = 1 is a loss barrier separating them."
		} else {
			notes = append(notes, "Loss between two methods' solutions: not computed for this report.")
		}
		if err := add("interpolation", "Loss along a line", cap, true, f, err); err != nil {
			return nil, nil, nil, err
		}
	} else {
		notes = append(notes, "Loss along a line: no interp.csv.")
	}
	return figs, notes, warns.list, nil
}

// NamedFigure is a Figure with what the report says about it.
type NamedFigure struct {
	Name, Title, Caption string
	Figure               *Figure
	// SVG says whether an SVG file is worth writing (no heat map).
	SVG bool
}

func countDone(sum *ensemble.Summary) int {
	n := 0
	for _, g := range sum.Groups {
		if g.Status.Done > 0 {
			n++
		}
	}
	return n
}

// reportPalette gives the colours of a report: the methods', then those
// of the thermostat groups and of the lines between two solutions, all
// different, so that one colour means one thing in every chart.
func reportPalette(run *ensemble.Run, sum *ensemble.Summary, extra Extra) Palette {
	var thermo []string
	for _, g := range run.Groups {
		if g.Curves == nil {
			continue
		}
		for _, s := range g.Curves.Series {
			if name, ok := strings.CutPrefix(s.Name, "tkin:"); ok {
				thermo = append(thermo, name)
			}
		}
	}
	sort.Strings(thermo)
	var keys []string
	for _, n := range slices.Compact(thermo) {
		keys = append(keys, thermostatKey(n))
	}
	for _, b := range extra.Between {
		keys = append(keys, pairKey(b.Label))
	}
	return NewPalette(Methods(sum)).With(keys...)
}

// goldilocksMetric names the metric the ladders minimize: best.<chosen_by>
// of the Goldilocks choices (all equal to Summary.ChosenBy).
func goldilocksMetric(sum *ensemble.Summary) string {
	for _, l := range sum.Ladders {
		if l.Goldilocks != nil && l.Goldilocks.ChosenBy != "" {
			return "best." + l.Goldilocks.ChosenBy
		}
	}
	return "best." + sum.ChosenBy
}

// Render writes every chart of a run into outDir, as PNG and (when below
// MaxSVGBytes and not a heat map) SVG, then summary.json and summary.md
// (ensemble.WriteJSON, ensemble.WriteMarkdown) and report.html
// (WriteReport), whose links to raw files are relative to outDir. runDir is
// the run directory (for links and spec.yaml); run and sum are its
// ensemble.LoadRun and ensemble.Analyze.
func Render(runDir, outDir string, sum *ensemble.Summary, run *ensemble.Run, extra Extra) error {
	if sum == nil || run == nil {
		return errors.New("charts: Render: nil summary or run")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	figs, notes, chartWarnings, err := figures(run, sum, extra)
	if err != nil {
		return err
	}
	if len(chartWarnings) > 0 {
		// summary.json, summary.md and report.html list them with the
		// warnings of ensemble.LoadRun; the caller's summary is not changed.
		s := *sum
		s.Warnings = append(slices.Clone(sum.Warnings), chartWarnings...)
		sum = &s
	}
	var charts []Chart
	for _, nf := range figs {
		c, err := writeFigure(outDir, nf)
		if err != nil {
			return err
		}
		charts = append(charts, c)
	}

	var files []string
	for _, w := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{rundir.FileReportSummary, func(b *bytes.Buffer) error { return ensemble.WriteJSON(b, sum) }},
		{rundir.FileReportMarkdown, func(b *bytes.Buffer) error { return ensemble.WriteMarkdown(b, sum) }},
	} {
		var b bytes.Buffer
		if err := w.write(&b); err != nil {
			return fmt.Errorf("charts: %s: %w", w.name, err)
		}
		if err := rundir.WriteFile(filepath.Join(outDir, w.name), b.Bytes()); err != nil {
			return err
		}
		files = append(files, w.name)
	}

	spec := extra.Spec
	if spec == "" && runDir != "" {
		b, err := os.ReadFile(filepath.Join(runDir, rundir.FileSpec))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("charts: %w", err)
		}
		spec = string(b)
	}
	in := ReportInput{Summary: sum, Charts: charts, Notes: notes, Spec: spec, SummaryFiles: files}
	if runDir != "" {
		in.RunDir = relDir(outDir, runDir)
		if in.RunFiles, err = existing(runDir, runFiles); err != nil {
			return err
		}
	}
	for _, m := range sortedMethods(sum) {
		if m.Best == nil {
			continue
		}
		r := m.Best
		ref := ReplicaRef{Method: m.Method, Group: r.Group, ID: r.ID, ChosenBy: r.ChosenBy, Value: r.Value}
		if m.Representative != nil {
			ref.Representative = m.Representative.Group
		}
		if runDir != "" {
			if ref.Files, err = existing(rundir.ReplicaDir(runDir, r.ID), replicaFiles); err != nil {
				return err
			}
		}
		in.Best = append(in.Best, ref)
	}
	return WriteReport(outDir, in)
}

// runFiles and replicaFiles are the files the report links to when they
// exist (a trailing slash marks a directory).
var (
	runFiles     = []string{rundir.FileSpec, rundir.FileSweep, rundir.FileTable, rundir.FileSummary, rundir.DirReplicas + "/"}
	replicaFiles = []string{rundir.FileReplica, rundir.FileResult, rundir.FileFailure, rundir.FileTrajectory, rundir.FilePredictions,
		rundir.FileGrid, rundir.FileInterp, rundir.FileParams, rundir.FileBestParams, rundir.FileInitParams,
		rundir.FileLegacyParams, rundir.FileLegacyInitParams}
)

// existing returns the names of files that exist in dir.
func existing(dir string, names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		ok, err := rundir.Exists(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("charts: %w", err)
		}
		if ok {
			out = append(out, n)
		}
	}
	return out, nil
}

// relDir returns target relative to base as a slash path, or target made
// absolute when there is no relative path.
func relDir(base, target string) string {
	ab, err1 := filepath.Abs(base)
	at, err2 := filepath.Abs(target)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(ab, at); err == nil {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(at)
}

// writeFigure encodes nf as PNG (and SVG when small) into dir and returns
// its Chart.
func writeFigure(dir string, nf NamedFigure) (Chart, error) {
	png, err := nf.Figure.PNG()
	if err != nil {
		return Chart{}, fmt.Errorf("charts: %s: %w", nf.Name, err)
	}
	c := Chart{Name: nf.Name, Title: nf.Title, Caption: nf.Caption, PNG: png, WidthPx: figureWidthPx}
	if err := rundir.WriteFile(filepath.Join(dir, nf.Name+".png"), png); err != nil {
		return Chart{}, err
	}
	c.Files = append(c.Files, nf.Name+".png")
	svgPath := filepath.Join(dir, nf.Name+".svg")
	if nf.SVG {
		svg, err := nf.Figure.SVG()
		if err != nil {
			return Chart{}, fmt.Errorf("charts: %s: %w", nf.Name, err)
		}
		if len(svg) <= MaxSVGBytes {
			if err := rundir.WriteFile(svgPath, svg); err != nil {
				return Chart{}, err
			}
			c.Files = append(c.Files, nf.Name+".svg")
			return c, nil
		}
	}
	// Remove an SVG left by an earlier render, so files match the report.
	if err := os.Remove(svgPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return Chart{}, fmt.Errorf("charts: %w", err)
	}
	return c, nil
}
