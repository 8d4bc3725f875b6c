package charts

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/rundir"
)

// ReportFile is the name of the page WriteReport writes.
const ReportFile = rundir.FileReportHTML

// Chart is one drawn chart of a report.
type Chart struct {
	// Name is the base name of the chart's files ("learning-curves").
	Name string
	// Title is the chart's heading in the report.
	Title string
	// Caption says in plain text what the chart shows, for a reader who
	// never saw the spec.
	Caption string
	// PNG is the image, embedded in the report as a data: URI.
	PNG []byte
	// WidthPx is the width at which the report shows the image, in CSS
	// pixels (0: the page width).
	WidthPx int
	// Files are the chart's image files, relative to the report directory
	// (empty when the chart was not written to files).
	Files []string
}

// ReplicaRef names one replica of the run, for links.
type ReplicaRef struct {
	Method, Group, ID string
	// ChosenBy and Value are the selection metric the replica was chosen
	// by and its value (ensemble.BestReplica); empty and 0 when unknown.
	ChosenBy string
	Value    float64
	// Representative is the method's representative group (empty when
	// unknown).
	Representative string
	// Files are the names of the files of its directory to link.
	Files []string
}

// ReportInput is everything report.html shows.
type ReportInput struct {
	// Summary provides the tables; it must not be nil.
	Summary *ensemble.Summary
	// Charts are shown in order.
	Charts []Chart
	// Notes list the charts that were not drawn, and why.
	Notes []string
	// Spec is the spec that produced the run, shown verbatim.
	Spec string
	// RunDir is the run directory as a slash-separated path relative to
	// the report's directory ("..") for links to the raw files; empty for
	// no links into the run directory.
	RunDir string
	// RunFiles are the files of the run directory to link (spec.yaml,
	// sweep.json, ...), relative to it; a trailing slash marks a directory.
	RunFiles []string
	// Best lists each method's best replica (Summary.Methods).
	Best []ReplicaRef
	// SummaryFiles are the report-relative names of the summary files
	// written next to the report (summary.json, summary.md).
	SummaryFiles []string
}

// WriteReport writes ReportFile into dir: one self-contained HTML page with
// the summary tables, every chart embedded as a base64 PNG data: URI, the
// spec, and relative links to the raw files. The page loads nothing: a
// Content-Security-Policy forbids any request except data: images, and it
// has no scripts.
func WriteReport(dir string, in ReportInput) error {
	if in.Summary == nil {
		return fmt.Errorf("charts: WriteReport: nil summary")
	}
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, newReportView(in)); err != nil {
		return fmt.Errorf("charts: report: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	if err := rundir.WriteFile(filepath.Join(dir, ReportFile), buf.Bytes()); err != nil {
		return err
	}
	return nil
}

// reportView is what the template sees.
type reportView struct {
	In      ReportInput
	S       *ensemble.Summary
	Title   string
	Charts  []chartView
	Links   []link
	BestRow []bestRow
	Reps    []replicaRow
	Reached bool
}

type chartView struct {
	Chart
	ID  string
	Src template.URL
}

type link struct{ Text, Href string }

type bestRow struct {
	ReplicaRef
	Dir   string
	Files []link
}

type replicaRow struct {
	ensemble.ReplicaSummary
	Href string
}

func newReportView(in ReportInput) *reportView {
	s := in.Summary
	v := &reportView{In: in, S: s, Title: s.Run.Name}
	if v.Title == "" {
		v.Title = s.Run.ID
	}
	for i, c := range in.Charts {
		id := c.Name
		if id == "" {
			id = "chart-" + strconv.Itoa(i)
		}
		v.Charts = append(v.Charts, chartView{Chart: c, ID: id,
			Src: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(c.PNG))})
	}
	for _, f := range in.SummaryFiles {
		v.Links = append(v.Links, link{Text: f, Href: f})
	}
	run := in.RunDir
	if run != "" {
		for _, f := range in.RunFiles {
			href := path.Join(run, f)
			if strings.HasSuffix(f, "/") {
				href += "/"
			}
			v.Links = append(v.Links, link{Text: "run directory: " + f, Href: href})
		}
	}
	for _, b := range in.Best {
		row := bestRow{ReplicaRef: b}
		if run != "" {
			row.Dir = path.Join(run, rundir.DirReplicas, b.ID) + "/"
			for _, f := range b.Files {
				row.Files = append(row.Files, link{Text: f, Href: path.Join(run, rundir.DirReplicas, b.ID, f)})
			}
		}
		v.BestRow = append(v.BestRow, row)
	}
	for _, r := range s.Replicas {
		row := replicaRow{ReplicaSummary: r}
		if run != "" && r.Status != ensemble.StatusIncomplete {
			row.Href = path.Join(run, rundir.DirReplicas, r.ID) + "/"
		}
		v.Reps = append(v.Reps, row)
	}
	for _, g := range s.Groups {
		if len(g.Reach) > 0 {
			v.Reached = true
		}
	}
	return v
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"num":      ensemble.FormatNum,
	"fix":      ensemble.FormatFixed,
	"meansd":   ensemble.FormatMeanSD,
	"ci":       ensemble.FormatCI,
	"pval":     ensemble.FormatP,
	"settings": ensemble.FormatSettings,
	"score":    ensemble.FormatScore,
	"problem":  ensemble.ProblemCells,
	"pct":      func(x float64) string { return ensemble.FormatFixed(100*x, 1) + "%" },
	"extreme":  ensemble.Extreme,
}).Parse(reportHTML))

const reportHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Heatbath report: {{.Title}}</title>
<style>
body { font-family: "Liberation Sans", Arial, Helvetica, sans-serif; color: #1a1a1a; margin: 0 auto; max-width: 1180px; padding: 16px 24px 48px; line-height: 1.45; font-size: 15px; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 20px; margin: 36px 0 8px; border-bottom: 2px solid #0072B2; padding-bottom: 2px; }
h3 { font-size: 16px; margin: 22px 0 6px; }
p.meta { color: #555; margin: 0 0 12px; }
table { border-collapse: collapse; margin: 6px 0 14px; font-size: 13px; display: block; overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; vertical-align: top; white-space: nowrap; }
th { background: #eef3f8; }
td.l, th.l { text-align: left; }
tr:nth-child(even) td { background: #fafafa; }
figure { margin: 14px 0 26px; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 13.5px; color: #333; margin-top: 4px; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: 10px; overflow-x: auto; font-size: 12.5px; }
nav ol { columns: 2; font-size: 14px; }
.note { color: #8a4b00; }
code { font-size: 13px; }
details summary { cursor: pointer; font-weight: bold; margin: 6px 0; }
</style>
</head>
<body>
<h1>Heatbath report: {{.Title}}</h1>
<p class="meta">Run <code>{{.S.Run.ID}}</code>{{with .S.Run.SpecHash}}, spec hash <code>{{.}}</code>{{end}}{{with .S.Run.Created}}, created {{.}}{{end}}.
{{.S.Status.Total}} replicas: {{.S.Status.Done}} done, {{.S.Status.Diverged}} diverged, {{.S.Status.Failed}} failed, {{.S.Status.Cancelled}} cancelled, {{.S.Status.Incomplete}} incomplete{{with .S.Status.Pruned}}, {{.}} pruned (stopped at a milestone by successive halving; listed below with the step each was cut at){{end}}{{with .S.Status.Unreadable}}, {{.}} unreadable (skipped: damaged files){{end}}.
Only done replicas enter statistics. Every selection uses <code>best.{{.S.ChosenBy}}</code>, never a test metric.</p>

<nav><ol>
<li><a href="#status">Status</a></li>
{{if .S.Problems}}<li><a href="#problems">Failed, cancelled, diverged and unreadable replicas</a></li>
{{end}}<li><a href="#groups">Final test accuracy per group</a></li>
{{range .Charts}}<li><a href="#{{.ID}}">{{.Title}}</a></li>
{{end}}{{if .Reached}}<li><a href="#reach">Steps to reach a test accuracy</a></li>
{{end}}<li><a href="#comparisons">Comparisons</a></li>
<li><a href="#best">Best parameterization</a></li>
{{if .S.Ladders}}<li><a href="#ladders">Temperature ladders</a></li>
{{end}}<li><a href="#diagnostics">Convergence and equipartition</a></li>
{{if .S.ModelAveraging}}<li><a href="#averaging">Model averaging</a></li>
{{end}}<li><a href="#spec">Spec</a></li>
<li><a href="#files">Raw files</a></li>
</ol></nav>

<h2 id="status">Status</h2>
<table>
<tr><th class="l">group</th><th>total</th><th>done</th><th>diverged</th><th>failed</th><th>cancelled</th><th>incomplete</th><th>unreadable</th></tr>
{{range .S.Groups}}<tr><td class="l">{{.Group}}</td><td>{{.Status.Total}}</td><td>{{.Status.Done}}</td><td>{{.Status.Diverged}}</td><td>{{.Status.Failed}}</td><td>{{.Status.Cancelled}}</td><td>{{.Status.Incomplete}}</td><td>{{.Status.Unreadable}}</td></tr>
{{end}}<tr><th class="l">all</th><th>{{.S.Status.Total}}</th><th>{{.S.Status.Done}}</th><th>{{.S.Status.Diverged}}</th><th>{{.S.Status.Failed}}</th><th>{{.S.Status.Cancelled}}</th><th>{{.S.Status.Incomplete}}</th><th>{{.S.Status.Unreadable}}</th></tr>
</table>
{{if .S.Problems}}
<h2 id="problems">Failed, cancelled, diverged and unreadable replicas</h2>
<p>Counted in the status table and left out of every statistic. Failed and cancelled replicas have no result (failure.json gives the code and message); a diverged chain is a result whose loss went non-finite at the step shown; an unreadable replica has a damaged file and was skipped (see also the warnings).</p>
<table>
<tr><th class="l">replica</th><th class="l">group</th><th class="l">status</th><th class="l">code</th><th>step</th><th>attempts</th><th class="l">worker</th><th class="l">reason</th></tr>
{{range .S.Problems}}<tr><td class="l">{{.ID}}</td><td class="l">{{.Group}}</td>{{range $i, $c := problem .}}<td{{if or (lt $i 2) (gt $i 3)}} class="l"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</table>
{{end}}

<h2 id="groups">Final test accuracy per group</h2>
<p>Over the done replicas (seeds) of each group: n, mean ± standard deviation, the 95% Student-t interval of the mean, median and interquartile range [Q1, Q3], range, the final test loss, and the test accuracy at each replica's best-validation evaluation.</p>
<table>
<tr><th class="l">group</th><th class="l">method</th><th>n</th><th>mean ± sd</th><th>95% CI of mean</th><th>median</th><th>IQR [Q1, Q3]</th><th>min–max</th><th>test loss</th><th>test acc @ best val</th></tr>
{{range .S.Groups}}{{$a := .FinalTestAcc}}<tr><td class="l">{{.Group}}</td><td class="l">{{.Method}}</td><td>{{$a.N}}</td><td>{{meansd $a 4}}</td><td>{{ci $a.CILo $a.CIHi 4}}</td><td>{{fix $a.Median 4}}</td><td>{{fix $a.IQR 4}} {{ci $a.Q1 $a.Q3 4}}</td><td>{{fix $a.Min 4}}–{{fix $a.Max 4}}</td><td>{{meansd .FinalTestLoss 4}}</td><td>{{meansd .BestTestAcc 4}}</td></tr>
{{end}}</table>
{{range .Charts}}
<h2 id="{{.ID}}">{{.Title}}</h2>
<figure>
<img src="{{.Src}}" alt="{{.Title}}"{{if .WidthPx}} width="{{.WidthPx}}"{{end}}>
<figcaption>{{.Caption}}{{if .Files}} Files: {{range $i, $f := .Files}}{{if $i}}, {{end}}<a href="{{$f}}">{{$f}}</a>{{end}}.{{end}}</figcaption>
</figure>
{{end}}
{{with .In.Notes}}<h3>Charts not drawn</h3>
<ul>{{range .}}<li class="note">{{.}}</li>{{end}}</ul>
{{end}}

{{if .Reached}}<h2 id="reach">Steps to reach a test accuracy</h2>
<p>Over done replicas with a trajectory; the step statistics are over the replicas that reached the threshold; “median (all)” counts never as ∞.</p>
<table>
<tr><th class="l">group</th><th>threshold</th><th>reached / n</th><th>never</th><th>median steps (reached)</th><th>mean steps (reached)</th><th>median (all)</th></tr>
{{range $g := .S.Groups}}{{range .Reach}}<tr><td class="l">{{$g.Group}}</td><td>{{num .Threshold 4}}</td><td>{{.Reached}} / {{.N}}</td><td>{{.Never}}</td><td>{{num .Steps.Median 6}}</td><td>{{num .Steps.Mean 6}}</td><td>{{num .MedianAll 6}}</td></tr>
{{end}}{{end}}</table>
{{end}}

<h2 id="comparisons">Comparisons</h2>
{{if .S.Comparisons}}<p>Δ = mean final test accuracy of A − B with a 95% percentile bootstrap interval ({{.S.Options.Resamples}} resamples, seed {{.S.Options.Seed}}); g = Hedges' g (Δ over the pooled sd, small-sample corrected) with its 95% bootstrap interval; Brown–Forsythe test of equal variance over seeds.</p>
<table>
<tr><th class="l">A</th><th class="l">B</th><th>n A / B</th><th>Δ test acc</th><th>95% bootstrap CI</th><th>g</th><th>95% CI of g</th><th>sd A</th><th>sd B</th><th>F (df)</th><th>p</th></tr>
{{range .S.Comparisons}}<tr><td class="l">{{.A}}</td><td class="l">{{.B}}</td><td>{{.NA}} / {{.NB}}</td><td>{{fix .Diff 4}}</td><td>{{ci .DiffLo .DiffHi 4}}</td><td>{{fix .G 2}}</td><td>{{ci .GLo .GHi 2}}</td><td>{{fix .SDA 4}}</td><td>{{fix .SDB 4}}</td><td>{{num .Levene.F 4}} ({{.Levene.DF1}}, {{.Levene.DF2}})</td><td>{{pval .Levene.P}}</td></tr>
{{end}}</table>
{{if (index .S.Comparisons 0).Reach}}<h3>Steps to reach, by pair</h3>
<p>Restricted mean of the first step at which the test accuracy reached the threshold; a replica that never reached it counts as its last step (never: how many). Δ = A − B (negative: A is faster) with a 95% percentile bootstrap interval.</p>
<table>
<tr><th class="l">A</th><th class="l">B</th><th>test acc</th><th>mean steps A (never)</th><th>mean steps B (never)</th><th>Δ steps</th><th>95% bootstrap CI</th></tr>
{{range .S.Comparisons}}{{$c := .}}{{range .Reach}}<tr><td class="l">{{$c.A}}</td><td class="l">{{$c.B}}</td><td>{{num .Threshold 4}}</td><td>{{fix .MeanA 0}} ({{.NeverA}} of {{.NA}})</td><td>{{fix .MeanB 0}} ({{.NeverB}} of {{.NB}})</td><td>{{fix .Diff 0}}</td><td>{{ci .DiffLo .DiffHi 0}}</td></tr>
{{end}}{{end}}</table>
{{end}}{{else}}<p>No comparisons (fewer than two groups with done replicas).</p>
{{end}}{{with .S.Spread}}<h3>Spread over initializations, by method</h3>
<p>Each method's best group; Brown–Forsythe test across them: F = {{num .Levene.F 4}} ({{.Levene.DF1}}, {{.Levene.DF2}}), p = {{pval .Levene.P}}.</p>
<table>
<tr><th class="l">method</th><th class="l">group</th><th>n</th><th>sd of test acc</th><th>IQR of test acc</th></tr>
{{range $i, $g := .Groups}}<tr><td class="l">{{index $.S.Spread.Methods $i}}</td><td class="l">{{$g}}</td><td>{{index $.S.Spread.N $i}}</td><td>{{fix (index $.S.Spread.SD $i) 4}}</td><td>{{fix (index $.S.Spread.IQR $i) 4}}</td></tr>
{{end}}</table>
{{end}}

<h2 id="best">Best parameterization</h2>
{{with .S.Best}}<table>
<tr><th class="l">replica</th><td class="l">{{.ID}}</td></tr>
<tr><th class="l">group</th><td class="l">{{.Group}}</td></tr>
<tr><th class="l">settings</th><td class="l">{{settings .Settings}}</td></tr>
<tr><th class="l">chosen by {{extreme .ChosenBy}} best.{{.ChosenBy}}</th><td class="l">{{num .Value 6}}</td></tr>
<tr><th class="l">test acc / loss at the best evaluation (step {{.AtBest.Step}})</th><td class="l">{{fix .AtBest.TestAcc 4}} / {{fix .AtBest.TestLoss 4}}</td></tr>
<tr><th class="l">test acc / loss final (step {{.Final.Step}}, = final parameters)</th><td class="l">{{fix .Final.TestAcc 4}} / {{fix .Final.TestLoss 4}}</td></tr>
{{with .Predictions}}<tr><th class="l">final predictions: acc / NLL / ECE</th><td class="l">{{fix .Accuracy 4}} / {{fix .NLL 4}} / {{fix .ECE 4}}</td></tr>{{end}}
</table>
{{else}}<p>No done replica.</p>
{{end}}{{with .S.BestGroup}}<p>Best group on average ({{extreme .ChosenBy}} mean best.{{.ChosenBy}}): <b>{{.Group}}</b>, n = {{.Selection.N}}, best.{{.ChosenBy}} = {{meansd .Selection 4}}, final test accuracy {{meansd .FinalTestAcc 4}} {{ci .FinalTestAcc.CILo .FinalTestAcc.CIHi 4}}.</p>
{{end}}{{if .BestRow}}<h3>Each method: representative group and best replica</h3>
<p>Chosen once by the analysis (summary.json <code>methods</code>) and used by every table and chart: the representative group has the {{extreme .S.ChosenBy}} mean <code>best.{{.S.ChosenBy}}</code> over its seeds, the best replica the {{extreme .S.ChosenBy}} <code>best.{{.S.ChosenBy}}</code>. Neither is chosen on test.</p>
<table>
<tr><th class="l">method</th><th class="l">representative group</th><th class="l">best replica</th><th class="l">its group</th><th>chosen by</th><th class="l">files</th></tr>
{{range .BestRow}}<tr><td class="l">{{.Method}}</td><td class="l">{{.Representative}}</td><td class="l">{{if .Dir}}<a href="{{.Dir}}">{{.ID}}</a>{{else}}{{.ID}}{{end}}</td><td class="l">{{.Group}}</td><td>{{if .ChosenBy}}best.{{.ChosenBy}} = {{num .Value 6}}{{end}}</td><td class="l">{{range $i, $f := .Files}}{{if $i}} · {{end}}<a href="{{$f.Href}}">{{$f.Text}}</a>{{end}}</td></tr>
{{end}}</table>
{{end}}

{{if .S.Ladders}}<h2 id="ladders">Temperature ladders</h2>
<p>Final test metrics against τ (mean and 95% t-interval over seeds). The Goldilocks τ has the {{extreme .S.ChosenBy}} mean <code>best.{{.S.ChosenBy}}</code> over its seeds, the validation metric of every other selection (never a test metric); its interval holds the central 95% of the bootstrap distribution of the argmin over seeds; P(best) is each τ's bootstrap frequency.</p>
{{range .S.Ladders}}<h3>{{.Method}} ({{settings .Fixed}})</h3>
<table>
<tr><th>τ</th><th>done / total</th><th>best.{{$.S.ChosenBy}}</th><th>test acc</th><th>95% CI</th><th>test loss</th><th>95% CI</th><th>P(best)</th></tr>
{{range .Points}}<tr><td>{{num .Tau 6}}</td><td>{{.Status.Done}} / {{.Status.Total}}</td><td>{{meansd .Metric 4}}</td><td>{{fix .TestAcc.Mean 4}}</td><td>{{ci .TestAcc.CILo .TestAcc.CIHi 4}}</td><td>{{fix .TestLoss.Mean 4}}</td><td>{{ci .TestLoss.CILo .TestLoss.CIHi 4}}</td><td>{{fix .PBest 3}}</td></tr>
{{end}}</table>
{{with .Goldilocks}}<p>Goldilocks τ = <b>{{num .Tau 6}}</b> ({{extreme .ChosenBy}} mean best.{{.ChosenBy}} = {{num .Value 4}}; 95% bootstrap interval [{{num .Lo 6}}, {{num .Hi 6}}], P(best) = {{fix .PBest 3}}), test accuracy {{meansd .TestAcc 4}}.</p>{{else}}<p>No done replicas.</p>{{end}}
{{end}}{{end}}

<h2 id="diagnostics">Convergence and equipartition</h2>
<p>Chains are the done replicas of a group; the first {{.S.BurnIn}} of each loss trace is discarded as burn-in. Split R̂ (BDA3), rank-normalized split R̂ and bulk ESS (Vehtari et al. 2021); R̂ below 1.01 indicates chains that agree.</p>
<table>
<tr><th class="l">group</th><th class="l">metric</th><th>chains</th><th>draws</th><th>split R̂</th><th>rank R̂</th><th>bulk ESS</th></tr>
{{range .S.Convergence}}<tr><td class="l">{{.Group}}</td><td class="l">{{.Metric}}</td><td>{{.Chains}}</td><td>{{.Draws}}</td><td>{{fix .SplitRHat 3}}</td><td>{{fix .RankRHat 3}}</td><td>{{fix .BulkESS 0}}</td></tr>
{{end}}</table>
{{if .S.Equipartition}}<h3>Equipartition</h3>
<p>Relative error |⟨T_kin⟩ − τ|/τ of the time-averaged kinetic temperature per thermostat group, over done replicas (“scheduled” compares with the mean scheduled τ(n)).</p>
<table>
<tr><th class="l">method</th><th class="l">group</th><th class="l">integrator</th><th>replicas</th><th>rel. error mean ± sd</th><th>max</th><th>⟨T_kin⟩/τ</th><th>rel. error (scheduled)</th></tr>
{{range .S.Equipartition}}<tr><td class="l">{{.Method}}</td><td class="l">{{.Name}}</td><td class="l">{{.Integrator}}</td><td>{{.Replicas}}</td><td>{{meansd .RelErr 4}}</td><td>{{fix .RelErr.Max 4}}</td><td>{{meansd .Ratio 4}}</td><td>{{meansd .RelErrScheduled 4}}</td></tr>
{{end}}</table>
{{end}}

{{if .S.ModelAveraging}}<h2 id="averaging">Model averaging</h2>
<p>Test accuracy / NLL / ECE of the posterior predictive (each chain's average over its last K evaluations, averaged over chains), of the group's best replica (final sample), and the mean over chains of single-chain scores.</p>
<table>
<tr><th class="l">group</th><th>chains</th><th>ensemble acc</th><th>NLL</th><th>ECE</th><th>best single acc</th><th>NLL</th><th>ECE</th><th>mean chain acc</th><th>NLL</th><th>ECE</th></tr>
{{range .S.ModelAveraging}}<tr><td class="l">{{.Group}}</td><td>{{.Chains}}</td>{{range score .Ensemble}}<td>{{.}}</td>{{end}}{{range score .Best}}<td>{{.}}</td>{{end}}{{range score .ChainFinal}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}

{{with .S.Warnings}}<h2 id="warnings">Warnings</h2>
<ul>{{range .}}<li class="note">{{.}}</li>{{end}}</ul>
{{end}}

<h2 id="spec">Spec</h2>
{{if .In.Spec}}<pre>{{.In.Spec}}</pre>{{else}}<p>The spec was not given to the report; see spec.yaml in the run directory.</p>{{end}}

<h2 id="files">Raw files</h2>
<ul>{{range .Links}}<li><a href="{{.Href}}">{{.Text}}</a></li>{{end}}</ul>
<details><summary>All {{len .Reps}} replicas</summary>
<table>
<tr><th class="l">replica</th><th class="l">group</th><th>seed</th><th class="l">status</th><th>steps</th><th>final test acc</th><th>final test loss</th><th class="l">error</th></tr>
{{range .Reps}}<tr><td class="l">{{if .Href}}<a href="{{.Href}}">{{.ID}}</a>{{else}}{{.ID}}{{end}}</td><td class="l">{{.Group}}</td><td>{{.Seed}}</td><td class="l">{{.Status}}</td><td>{{.Steps}}</td><td>{{fix .Final.TestAcc 4}}</td><td>{{fix .Final.TestLoss 4}}</td><td class="l">{{.Error}}</td></tr>
{{end}}</table>
</details>
</body>
</html>
`
