package charts

import (
	"bytes"
	"encoding/base64"
	"html"
	"image/png"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/heatbath/heatbath/ensemble"
)

// renderSynth renders the small synthetic run into <run>/report and
// returns the run directory, the report directory and the page.
func renderSynth(t *testing.T, extra Extra) (runDir, outDir string, page string, sum *ensemble.Summary) {
	t.Helper()
	runDir, _, run, sum := synthRun(t)
	outDir = filepath.Join(runDir, "report")
	if err := Render(runDir, outDir, sum, run, extra); err != nil {
		t.Fatalf("Render: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(outDir, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	return runDir, outDir, string(b), sum
}

var (
	attrRE = regexp.MustCompile(`\s(src|href)="([^"]*)"`)
	imgRE  = regexp.MustCompile(`<img\s[^>]*>`)
)

// checkSelfContained checks the static properties of an offline page: no
// script, stylesheet link, frame or CSS url(); no absolute URL in any src
// or href; every <img> a PNG data: URI that decodes.
func checkSelfContained(t *testing.T, page string) (imgs int) {
	t.Helper()
	lower := strings.ToLower(page)
	for _, bad := range []string{"<script", "<link", "<iframe", "<object", "<embed", "@import", "url(", "<base"} {
		if strings.Contains(lower, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, m := range attrRE.FindAllStringSubmatch(page, -1) {
		m[2] = html.UnescapeString(m[2])
		v := strings.ToLower(m[2])
		if strings.HasPrefix(v, "http:") || strings.HasPrefix(v, "https:") || strings.HasPrefix(v, "//") || strings.HasPrefix(v, "file:") {
			t.Errorf("%s=%q leaves the page", m[1], m[2])
		}
		if m[1] == "src" && !strings.HasPrefix(m[2], "data:image/png;base64,") {
			t.Errorf("src=%.40q is not a PNG data: URI", m[2])
		}
	}
	for _, tag := range imgRE.FindAllString(page, -1) {
		imgs++
		m := attrRE.FindStringSubmatch(tag)
		if m == nil || m[1] != "src" {
			t.Errorf("img without src: %.80s", tag)
			continue
		}
		m[2] = html.UnescapeString(m[2])
		data, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(m[2], "data:image/png;base64,"))
		if err != nil {
			t.Errorf("img data: %v", err)
			continue
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width < 100 || cfg.Height < 100 {
			t.Errorf("img is not a PNG of reasonable size: %v %dx%d", err, cfg.Width, cfg.Height)
		}
		if !strings.Contains(tag, `alt="`) {
			t.Errorf("img without alt text")
		}
	}
	return imgs
}

// TestRenderReport renders the synthetic run and checks the page and the
// files: self-contained, every chart present as PNG (and SVG when small),
// the summary tables, the spec (escaped), and relative links that resolve.
func TestRenderReport(t *testing.T) {
	between := []BetweenCurve{{Label: "adam → adlala", Points: []InterpPoint{{Alpha: 0, Train: 0.4, Test: 0.5}, {Alpha: 0.5, Train: 0.9, Test: 1.0}, {Alpha: 1, Train: 0.3, Test: 0.35}}}}
	_, outDir, page, sum := renderSynth(t, Extra{Between: between})
	if n := checkSelfContained(t, page); n != 8 {
		t.Errorf("%d images, want 8 charts", n)
	}
	for _, name := range []string{"learning-curves", "spread", "ladder", "decision-boundaries", "equipartition", "xi", "weights", "interpolation"} {
		b, err := os.ReadFile(filepath.Join(outDir, name+".png"))
		if err != nil {
			t.Errorf("%s.png: %v", name, err)
			continue
		}
		if _, err := png.DecodeConfig(bytes.NewReader(b)); err != nil {
			t.Errorf("%s.png: %v", name, err)
		}
		_, err = os.Stat(filepath.Join(outDir, name+".svg"))
		if wantSVG := name != "decision-boundaries"; wantSVG != (err == nil) {
			t.Errorf("%s.svg: exists %v, want %v", name, err == nil, wantSVG)
		}
		if !strings.Contains(page, `id="`+name+`"`) {
			t.Errorf("no section for %s", name)
		}
	}
	for _, f := range []string{"summary.json", "summary.md"} {
		if _, err := os.Stat(filepath.Join(outDir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// Relative links resolve.
	links := 0
	for _, m := range attrRE.FindAllStringSubmatch(page, -1) {
		if m[1] != "href" || strings.HasPrefix(m[2], "#") {
			continue
		}
		p, err := url.PathUnescape(html.UnescapeString(m[2]))
		if err != nil {
			t.Errorf("href %q: %v", m[2], err)
			continue
		}
		if _, err := os.Stat(filepath.Join(outDir, filepath.FromSlash(p))); err != nil {
			t.Errorf("href %q does not resolve: %v", m[2], err)
		}
		links++
	}
	if links < 20 {
		t.Errorf("only %d links", links)
	}
	for _, want := range []string{
		`href="../spec.yaml"`, `href="../sweep.json"`, `href="summary.json"`, `href="summary.md"`, `href="../replicas/"`,
		"12 replicas: 10 done, 1 diverged, 0 failed, 0 cancelled, 1 incomplete",
		"&lt;script&gt;alert(1)&lt;/script&gt;", // the spec, escaped
		"Goldilocks τ = <b>",
		"Loss between two methods",
	} {
		if want == "Loss between two methods" {
			if strings.Contains(page, want) {
				t.Errorf("note about the missing between-method curve although it was given")
			}
			continue
		}
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Every group's final test accuracy statistics appear as in the summary.
	for _, g := range sum.Groups {
		a := g.FinalTestAcc
		for _, cell := range []string{ensemble.FormatMeanSD(a, 4), ensemble.FormatCI(a.CILo, a.CIHi, 4), ensemble.FormatFixed(a.Median, 4)} {
			if !strings.Contains(page, "<td>"+cell+"</td>") {
				t.Errorf("%s: page lacks cell %q", g.Group, cell)
			}
		}
	}
	if sum.Best == nil || !strings.Contains(page, sum.Best.ID) {
		t.Errorf("best replica missing")
	}
}

// TestWriteReportNilSummary checks the nil guards.
func TestWriteReportNilSummary(t *testing.T) {
	if err := WriteReport(t.TempDir(), ReportInput{}); err == nil {
		t.Error("nil summary accepted")
	}
	if err := Render("", t.TempDir(), nil, nil, Extra{}); err == nil {
		t.Error("nil run accepted")
	}
}

// TestRenderEmptyRun renders a run whose replicas are all unfinished:
// no chart can be drawn, the report still opens and says why.
func TestRenderEmptyRun(t *testing.T) {
	dir := t.TempDir()
	cfg := smallConfig()
	cfg.Incomplete = map[int]bool{}
	for i := 0; i < 12; i++ {
		cfg.Incomplete[i] = true
	}
	writeSynthRun(t, dir, cfg)
	run, sum := mustLoad(t, dir)
	out := filepath.Join(dir, "out")
	if err := Render(dir, out, sum, run, Extra{Spec: "spec text"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	checkSelfContained(t, page)
	for _, want := range []string{"Charts not drawn", "no grid.json", "12 incomplete", "<pre>spec text</pre>"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestFormatPow10(t *testing.T) {
	for _, c := range []struct {
		k, m int
		want string
	}{{-5, 1, "1e-5"}, {-5, 2, "2e-5"}, {-2, 1, "0.01"}, {-3, 5, "0.005"}, {-4, 1, "1e-4"}, {0, 1, "1"}, {3, 2, "2000"}, {4, 1, "1e4"}} {
		if got := formatPow10(c.k, c.m); got != c.want {
			t.Errorf("formatPow10(%d, %d) = %q, want %q", c.k, c.m, got, c.want)
		}
	}
}

func TestLog10Ticks(t *testing.T) {
	ticks := log10Ticks{}.Ticks(math.Log10(2e-6), math.Log10(3e-3))
	var labels []string
	for _, tk := range ticks {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if strings.Join(labels, " ") != "1e-5 1e-4 0.001" {
		t.Errorf("labels %v", labels)
	}
	// Less than two decades: the 2× and 5× ticks get labels too.
	ticks = log10Ticks{}.Ticks(math.Log10(8e-5), math.Log10(3e-4))
	labels = nil
	for _, tk := range ticks {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if strings.Join(labels, " ") != "1e-4 2e-4" {
		t.Errorf("labels %v", labels)
	}
	if (log10Ticks{}).Ticks(1, 1) != nil {
		t.Error("empty range gave ticks")
	}
	var _ plot.Ticker = log10Ticks{}
}

// TestDrawDegenerate draws charts from degenerate data (single points,
// NaN everywhere, constant grids): errors are fine, panics are not.
func TestDrawDegenerate(t *testing.T) {
	nan := math.NaN()
	pal := NewPalette([]string{"a"})
	one := Series{Label: "one", Method: "a", X: []float64{1}, Y: []float64{0.5}, Lo: []float64{nan}, Hi: []float64{nan}}
	allNaN := Series{Label: "nan", Method: "a", X: []float64{1, 2}, Y: []float64{nan, nan}}
	flat := Boundary{Kind: BoundaryBest, Method: "a", X: []float64{0, 1}, Y: []float64{0, 1}, Z: [][]float64{{0.5, 0.5}, {0.5, 0.5}}}
	nanGrid := Boundary{Kind: BoundaryAverage, Method: "a", X: []float64{0, 1}, Y: []float64{0, 1}, Z: [][]float64{{nan, nan}, {nan, nan}}}
	draws := map[string]func() (*Figure, error){
		"curves": func() (*Figure, error) { return DrawLearningCurves([]Series{one, allNaN}, []Series{one}, pal) },
		"empty":  func() (*Figure, error) { return DrawLearningCurves(nil, nil, pal) },
		"ladder": func() (*Figure, error) {
			return DrawLadder([]LadderLine{{Label: "a", Method: "a", Acc: one, Loss: allNaN}}, pal)
		},
		"boxes": func() (*Figure, error) {
			return DrawBoxes([]Box{{Group: "g", Method: "a", Values: []float64{0.5}, Stats: ensemble.Describe([]float64{0.5})}}, pal)
		},
		"thermo": func() (*Figure, error) {
			return DrawEquipartition([]ThermoPanel{{Group: "g", Names: []string{"h"}, Tkin: []Series{allNaN}, Tau: []Series{one}}}, pal)
		},
		"xi":    func() (*Figure, error) { return DrawXi([]Series{allNaN}, pal) },
		"grids": func() (*Figure, error) { return DrawBoundaries([]Boundary{flat, nanGrid, flat}) },
		"hist": func() (*Figure, error) {
			return DrawWeightHist([]Histogram{{Method: "a", Edges: MagnitudeEdges(1), Counts: make([]int, 24)}}, pal)
		},
		"interp":  func() (*Figure, error) { return DrawInterp([]Series{allNaN}, []Series{one}, pal) },
		"nothing": func() (*Figure, error) { return DrawInterp(nil, nil, pal) },
	}
	for name, draw := range draws {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panic: %v", r)
				}
			}()
			f, err := draw()
			if err != nil {
				return
			}
			if _, err := f.PNG(); err != nil {
				t.Errorf("PNG: %v", err)
			}
		})
	}
}

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		min, max float64
		want     string
	}{
		{0.5, 0.9, "0.5 0.6 0.7 0.8 0.9"},
		{0, 20000, "0 5000 10000 15000 20000"},
		{-0.5, 1.5, "-0.5 0.0 0.5 1.0 1.5"},
		{0.71, 0.76, "0.71 0.72 0.73 0.74 0.75 0.76"},
		{0.003, 0.0125, "0.004 0.006 0.008 0.010 0.012"},
	} {
		var labels []string
		for _, tk := range (niceTicks{}).Ticks(c.min, c.max) {
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if got := strings.Join(labels, " "); got != c.want {
			t.Errorf("ticks(%v, %v) = %q, want %q", c.min, c.max, got, c.want)
		}
	}
}
