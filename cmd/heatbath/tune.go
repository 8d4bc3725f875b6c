package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/spec"
)

func tuneCommand() *cli.Command {
	return &cli.Command{
		Name:      "tune",
		Usage:     "from a finished tuning sweep, write the spec that runs each method's best setting at fresh seeds",
		ArgsUsage: "RUN_DIR",
		Description: "Reads the tuning sweep's run directory (its spec.yaml and results) and, for each method (its label),\n" +
			"chooses the setting of lowest mean best.val_loss over the tuning seeds (--select val_acc: highest mean\n" +
			"best.val_acc), the choice heatbath report makes of each method's representative group: only done\n" +
			"replicas count, ties go to the first setting by group name, test metrics are never read. Prints a spec\n" +
			"(YAML) on stdout that runs exactly those settings at --seeds fresh seeds, from --first-seed on (default:\n" +
			"the first seed after the tuning seeds), with comments naming the tuning sweep, each choice and the\n" +
			"table of candidates. The temperature ladder and crossed schedules of the tuning spec become each\n" +
			"method's own tau and schedule, unless --keep tau (or schedule, or any setting) keeps that axis whole at the\n" +
			"other settings of the chosen group (a temperature ladder at the best step size). Typical use:\n\n" +
			"    heatbath run tune.yaml --out runs/tune\n" +
			"    heatbath tune runs/tune --seeds 20 > final.yaml\n" +
			"    heatbath run final.yaml --out runs/final && heatbath report runs/final",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "seeds", Value: 20, Usage: "number of fresh seeds of the final run"},
			&cli.Uint64Flag{Name: "first-seed", DefaultText: "one more than the largest tuning seed", Usage: "first seed of the final run"},
			&cli.StringFlag{Name: "select", Value: ensemble.SelectValLoss, Usage: "selection metric: " + strings.Join(ensemble.SelectMetrics, ", ")},
			&cli.StringFlag{Name: "name", Usage: "name of the final sweep (default: the tuning sweep's name with -final)"},
			&cli.StringFlag{Name: "keep", Usage: "settings whose whole axis the final run keeps, comma separated (e.g. tau for a ladder, schedule);\n" +
				"\tthe other settings are those of each method's chosen group"},
		},
		Action: tuneAction,
	}
}

func tuneAction(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("tune: want one run directory, got %d arguments", c.NArg())
	}
	opts := tuneOptions{Seeds: c.Int("seeds"), Select: c.String("select"), Name: c.String("name")}
	for _, k := range strings.Split(c.String("keep"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			if k == "method" || k == "seed" {
				return usageErrorf("tune: --keep %s: the final run always keeps every method and never the tuning seeds", k)
			}
			opts.Keep = append(opts.Keep, k)
		}
	}
	if c.IsSet("first-seed") {
		v := c.Uint64("first-seed")
		opts.FirstSeed = &v
	}
	if opts.Seeds < 1 || opts.Seeds > 1_000_000 {
		return usageErrorf("tune: --seeds %d: want a count between 1 and 1000000", opts.Seeds)
	}
	if !slices.Contains(ensemble.SelectMetrics, opts.Select) {
		return usageErrorf("tune: --select %q is not a selection metric (want %s)", opts.Select, strings.Join(ensemble.SelectMetrics, ", "))
	}
	if opts.Name != "" && !tuneSweepName.MatchString(opts.Name) {
		return usageErrorf("tune: --name %q: want letters, digits, - and _", opts.Name)
	}
	out, warnings, err := tuneSpec(c.Args().First(), opts)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintln(c.App.ErrWriter, "warning: "+w)
	}
	_, err = io.WriteString(c.App.Writer, out)
	return err
}

// tuneSweepName is what spec accepts as a sweep name.
var tuneSweepName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// tuneOptions are the flags of heatbath tune.
type tuneOptions struct {
	Seeds     int
	FirstSeed *uint64 // nil: one more than the largest tuning seed
	Select    string
	Name      string
	// Keep are setting keys (tau, schedule, hidden.gamma, ...) whose whole
	// axis the final run keeps.
	Keep []string
}

// tuneSpec reads the tuning run directory dir and returns the final spec
// as YAML with its comments, and warnings (chosen settings some of whose
// tuning seeds did not finish, data paths copied from the tuning spec).
func tuneSpec(dir string, opts tuneOptions) (string, []string, error) {
	specPath := filepath.Join(dir, rundir.FileSpec)
	src, err := os.ReadFile(specPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil, fmt.Errorf("tune: %s is not a run directory (no %s)", dir, rundir.FileSpec)
		}
		return "", nil, fmt.Errorf("tune: %w", err)
	}
	tf, err := spec.Parse(specPath, src)
	if err != nil {
		return "", nil, fmt.Errorf("tune: %w", err)
	}
	if tf.Spec.Exchange != nil {
		return "", nil, fmt.Errorf("tune: %s: a sweep with exchange: is not a tuning sweep (its rungs are one chain); tune the temperatures as a ladder instead", specPath)
	}
	tuneReps, err := tf.Expand(nil)
	if err != nil {
		return "", nil, fmt.Errorf("tune: %w", err)
	}
	run, err := ensemble.LoadRun(dir)
	if err != nil {
		return "", nil, fmt.Errorf("tune: %w", err)
	}
	tu, err := ensemble.Tune(run, opts.Select)
	var nv *ensemble.NoValidationError
	if errors.As(err, &nv) {
		return "", nil, fmt.Errorf("tune: --select %s: %d of %d done replicas have no validation split (give --select %s)", nv.Select, nv.Missing, nv.Done, ensemble.SelectTrainLoss)
	}
	if err != nil {
		return "", nil, fmt.Errorf("tune: %w", err)
	}

	// Fresh seeds, disjoint from every seed of the tuning spec and run.
	used := map[uint64]bool{}
	var maxUsed uint64
	for _, s := range append(slices.Clone(tu.Seeds), tf.Spec.Seeds...) {
		used[s] = true
		maxUsed = max(maxUsed, s)
	}
	for _, r := range tuneReps {
		used[r.Seed] = true
		maxUsed = max(maxUsed, r.Seed)
	}
	first := maxUsed + 1
	if opts.FirstSeed != nil {
		first = *opts.FirstSeed
	}
	if first > ^uint64(0)-uint64(opts.Seeds)+1 {
		return "", nil, usageErrorf("tune: --first-seed %d: %d seeds from there overflow", first, opts.Seeds)
	}
	seeds := make(spec.Seeds, opts.Seeds)
	for i := range seeds {
		seeds[i] = first + uint64(i)
		if used[seeds[i]] {
			return "", nil, usageErrorf("tune: --first-seed %d: seed %d was a tuning seed (tuning seeds %s); the final run needs fresh seeds", first, seeds[i], seedRange(tu.Seeds))
		}
	}

	// The chosen group of each method label, and the tuning replica that
	// stands for it (its configuration is what the final spec must give).
	choice := map[string]ensemble.TuneChoice{}
	for _, m := range tu.Methods {
		choice[m.Method] = m
	}
	fs := tf.Spec
	fs.Methods = slices.Clone(tf.Spec.Methods)
	keep := map[string]bool{}
	for _, k := range opts.Keep {
		varied := false
		for _, r := range tuneReps {
			if _, ok := r.Settings[k]; ok {
				varied = true
				break
			}
		}
		if !varied {
			return "", nil, usageErrorf("tune: --keep %s: no group of %s has a setting %s (the settings are the grid axes, e.g. h, lr, tau, hidden.tau, schedule)", k, dir, k)
		}
		keep[k] = true
	}
	fs.Seeds = seeds
	if !keep["tau"] {
		fs.Temperatures = nil
	}
	if !keep["schedule"] {
		fs.Schedules = nil
	}
	fs.Name = opts.Name
	if fs.Name == "" {
		fs.Name = tf.Spec.Name + "-final"
	}
	var warnings []string
	var notes []string
	// The configuration of every tuning group, by its settings.
	tuneCfg := map[string]protocol.MethodConfig{}
	for _, r := range tuneReps {
		tuneCfg[settingsKey(r.Settings)] = r.Config.Method
	}
	// chosenOf is the chosen settings of each label; perMethod the number
	// of final groups each label must have (the kept axes' combinations).
	chosenOf := map[string]map[string]string{}
	perMethod := map[string]int{}
	for mi := range fs.Methods {
		src := fmt.Sprintf("methods[%d]", mi)
		label := ""
		for _, r := range tuneReps {
			if r.Source == src {
				label = r.Settings["method"]
				break
			}
		}
		ch, ok := choice[label]
		cand, chosen := ch.Candidate()
		if !ok || !chosen {
			return "", nil, fmt.Errorf("tune: %s: method %s (%s) has no done replica, so no setting to choose (every setting diverged, failed or did not run)", dir, label, src)
		}
		var rep *spec.Replica
		for i := range tuneReps {
			if tuneReps[i].Group == ch.Chosen {
				rep = &tuneReps[i]
				break
			}
		}
		if rep == nil {
			return "", nil, fmt.Errorf("tune: %s: group %q of the results is not in %s (was the spec edited after the run?)", dir, ch.Chosen, specPath)
		}
		m := narrowMethod(tf.Spec.Methods[mi])
		if m.Label == "" && label != m.Name {
			m.Label = label // a repeated name's label (adlala-2) stays that of the tuning run
		}
		for k, v := range rep.Settings {
			if keep[k] {
				continue
			}
			if err := applySetting(&m, k, v, rep.Config.Method); err != nil {
				return "", nil, fmt.Errorf("tune: %s: group %q: %w", dir, ch.Chosen, err)
			}
		}
		fs.Methods[mi] = m
		chosenOf[label] = rep.Settings
		groups := map[string]bool{}
		for _, r := range tuneReps {
			if r.Settings["method"] == label && sameBut(r.Settings, rep.Settings, keep) {
				groups[r.Group] = true
			}
		}
		perMethod[label] = len(groups)
		narrowed, kept := map[string]string{}, []string{}
		for k, v := range cand.Settings {
			if keep[k] {
				kept = append(kept, k)
			} else {
				narrowed[k] = v
			}
		}
		slices.Sort(kept)
		keptText := ""
		if len(kept) > 0 {
			keptText = "; " + strings.Join(kept, ", ") + " kept whole"
		}
		note := fmt.Sprintf("%s %s: %s%s (tuning group %q: best.%s %s over %d/%d seeds)", src, label, settingsLine(narrowed), keptText, ch.Chosen,
			tu.ChosenBy, ensemble.FormatMeanSD(cand.Selection, 4), cand.Status.Done, cand.Status.Total)
		notes = append(notes, note)
		if cand.Incomplete() {
			warnings = append(warnings, fmt.Sprintf("%s: the chosen setting %s has %d of %d tuning replicas not done (diverged, failed or unfinished): its mean covers the %d that finished",
				label, settingsLine(cand.Settings), cand.Status.Total-cand.Status.Done, cand.Status.Total, cand.Status.Done))
		}
	}
	unfinished := 0
	for _, r := range run.Replicas {
		if r.Status == ensemble.StatusIncomplete {
			unfinished++
		}
	}
	if unfinished > 0 {
		warnings = append(warnings, fmt.Sprintf("%d of %d tuning replicas have not finished (no result yet): the choice is over the others and may change when they finish (heatbath resume)", unfinished, len(run.Replicas)))
	}
	if relPath(tf.Spec.Data.Path) || relPath(tf.Spec.Data.TestPath) || relPath(tf.Spec.Data.Dir) {
		warnings = append(warnings, "data paths (data.path, data.test_path, data.dir) are copied from the tuning spec: they are relative to the folder of the spec file, so save the final spec beside the tuning spec or edit them")
	}

	ff, err := spec.New("final.yaml", fs)
	if err != nil {
		return "", nil, fmt.Errorf("tune: the final spec does not check (a bug): %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Final runs written by heatbath tune from the tuning sweep %s (run directory %s).\n", run.ID, dir)
	fmt.Fprintf(&b, "# Each method runs the setting of %s mean best.%s over its done tuning replicas (tuning seeds %s),\n",
		ensemble.Extreme(tu.ChosenBy), tu.ChosenBy, seedRange(tu.Seeds))
	b.WriteString("# ties to the first setting by group name; test metrics were not read. Fresh seeds: " + seedRange(seeds) + ".\n")
	if len(opts.Keep) > 0 {
		b.WriteString("# Kept whole (--keep): " + strings.Join(opts.Keep, ", ") + "; the other settings are those of the chosen group.\n")
	}
	b.WriteString("#\n")
	for _, n := range notes {
		b.WriteString("# " + n + "\n")
	}
	for _, w := range warnings {
		b.WriteString("# warning: " + w + "\n")
	}
	b.WriteString("#\n# Candidates:\n#\n")
	b.WriteString(tu.Table("# "))
	b.WriteString("\n")
	b.Write(ff.Canonical())
	out := b.String()

	// The emitted text must parse and give each method exactly its chosen
	// configuration at every fresh seed.
	pf, err := spec.Parse("final.yaml", []byte(out))
	if err != nil {
		return "", nil, fmt.Errorf("tune: the final spec does not parse (a bug): %w", err)
	}
	finalReps, err := pf.Expand(nil)
	if err != nil {
		return "", nil, fmt.Errorf("tune: the final spec does not expand (a bug): %w", err)
	}
	count := map[string]int{}
	for _, r := range finalReps {
		label := r.Settings["method"]
		chosen, ok := chosenOf[label]
		if !ok {
			return "", nil, fmt.Errorf("tune: final replica %s has method %q, not one of the tuning run (a bug)", r.ID, label)
		}
		// The tuning group this replica repeats: the chosen settings, with
		// the kept axes at this replica's values.
		want := map[string]string{}
		for k, v := range chosen {
			if !keep[k] {
				want[k] = v
			}
		}
		for k := range keep {
			if v, ok := r.Settings[k]; ok {
				want[k] = v
			}
		}
		cfg, ok := tuneCfg[settingsKey(want)]
		if !ok || !reflect.DeepEqual(r.Config.Method, cfg) {
			return "", nil, fmt.Errorf("tune: final replica %s (%s) does not run a chosen setting of %s (a bug)", r.ID, r.Group, label)
		}
		count[label]++
	}
	for label, n := range perMethod {
		if count[label] != n*len(seeds) {
			return "", nil, fmt.Errorf("tune: the final spec runs %s %d times, want %d groups × %d seeds (a bug)", label, count[label], n, len(seeds))
		}
	}
	return out, warnings, nil
}

// settingsKey joins settings but the seed as sorted k=v pairs.
func settingsKey(s map[string]string) string {
	parts := make([]string, 0, len(s))
	for k, v := range s {
		if k != "seed" {
			parts = append(parts, k+"="+v)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// sameBut reports whether settings a and b agree on every key but the
// seed and the kept ones.
func sameBut(a, b map[string]string, keep map[string]bool) bool {
	drop := func(s map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range s {
			if k != "seed" && !keep[k] {
				out[k] = v
			}
		}
		return out
	}
	return reflect.DeepEqual(drop(a), drop(b))
}

// relPath reports whether p is a relative path.
func relPath(p string) bool { return p != "" && !filepath.IsAbs(p) }

// narrowMethod returns a copy of m whose slices are its own, so that
// narrowing a list does not write into the tuning spec.
func narrowMethod(m spec.MethodSpec) spec.MethodSpec {
	m.Groups = slices.Clone(m.Groups)
	return m
}

var tuneGroupKey = regexp.MustCompile(`^groups\[(\d+)\]\.(.+)$`)

// applySetting narrows the method spec m to the value v of the setting k
// of a tuning group: the step size (h or lr), a hyperparameter (tau,
// hidden.gamma, groups[1].tau, ...), the ladder's tau (written as the
// method's own tau) or a crossed schedule (written as the method's own
// schedule, cfg's). The method and seed settings are not narrowed.
func applySetting(m *spec.MethodSpec, k, v string, cfg protocol.MethodConfig) error {
	switch k {
	case "method", "seed":
		return nil
	case "schedule":
		s := cfg.Schedule
		m.Schedule = &s
		return nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("setting %s=%s is not a number", k, v)
	}
	one := spec.Floats{x}
	switch k {
	case "h":
		m.H = one
		return nil
	case "lr":
		m.LR = one
		return nil
	}
	ps, name := &m.ParamSpec, k
	switch {
	case strings.HasPrefix(k, "hidden."):
		ps, name = &m.Hidden.ParamSpec, strings.TrimPrefix(k, "hidden.")
	case strings.HasPrefix(k, "output."):
		ps, name = &m.Output.ParamSpec, strings.TrimPrefix(k, "output.")
	case tuneGroupKey.MatchString(k):
		sm := tuneGroupKey.FindStringSubmatch(k)
		i, _ := strconv.Atoi(sm[1])
		if i >= len(m.Groups) {
			return fmt.Errorf("setting %s: the method has %d groups", k, len(m.Groups))
		}
		ps, name = &m.Groups[i].ParamSpec, sm[2]
	}
	f := ps.Field(name)
	if f == nil {
		return fmt.Errorf("setting %s=%s is not a hyperparameter heatbath tune knows", k, v)
	}
	*f = one
	return nil
}

// settingsLine lists the settings but method and seed, sorted
// (ensemble.SettingsText), "its single setting" when there are none.
func settingsLine(s map[string]string) string {
	if t := ensemble.SettingsText(s); t != "" {
		return t
	}
	return "its single setting"
}

// seedRange writes sorted seeds as "1–5" when consecutive, else as a list.
func seedRange(seeds []uint64) string {
	s := slices.Clone(seeds)
	slices.Sort(s)
	s = slices.Compact(s)
	if len(s) == 0 {
		return "none"
	}
	if s[len(s)-1]-s[0] == uint64(len(s)-1) {
		if len(s) == 1 {
			return strconv.FormatUint(s[0], 10)
		}
		return fmt.Sprintf("%d–%d", s[0], s[len(s)-1])
	}
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = strconv.FormatUint(x, 10)
	}
	return strings.Join(parts, ", ")
}
