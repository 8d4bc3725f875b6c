package charts

import (
	"fmt"
	"image"
	"image/color"
	draw2 "image/draw"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/heatbath/heatbath/ensemble"
)

// Axis labels, with units.
const (
	labelStep     = "step"
	labelTestAcc  = "test accuracy (fraction)"
	labelTestLoss = "test loss (cross-entropy, nats)"
	labelTau      = "temperature τ (log scale)"
	labelTkin     = "kinetic temperature |p|²/N"
	labelXi       = "thermostat variable ξ (1/time unit)"
	labelAlpha    = "α  (θ = (1−α)·θ_start + α·θ_end)"
	labelLossLog  = "loss (cross-entropy, nats)"
	labelMagn     = "parameter magnitude |θᵢ| (log scale)"
	labelFrac     = "fraction of parameters per bin"
	labelX1       = "input x₁"
	labelX2       = "input x₂"
)

var grey = color.NRGBA{0x66, 0x66, 0x66, 0xff}

// dashByMethod returns the dash pattern of each key (a group, a tensor):
// its index among the keys of the same method in order of first
// appearance, so that two groups of one method differ by dash pattern and
// a key keeps its pattern in every panel of a figure. methodOf gives the
// method of a key.
func dashByMethod(keys []string, methodOf func(key string) string) map[string]int {
	next := map[string]int{}
	out := map[string]int{}
	for _, k := range keys {
		if _, ok := out[k]; ok {
			continue
		}
		m := methodOf(k)
		out[k] = next[m]
		next[m]++
	}
	return out
}

// maxReplicas returns the largest number of replicas behind a point of
// any of the series (a series with N nil counts one), 0 for no point.
func maxReplicas(ss ...[]Series) int {
	n := 0
	for _, sl := range ss {
		for _, s := range sl {
			if s.N == nil && len(s.Y) > 0 {
				n = max(n, 1)
			}
			for _, k := range s.N {
				n = max(n, k)
			}
		}
	}
	return n
}

// statisticLabel says what the lines of a chart are, for its title:
// "mean over seeds, " + band when some point has two replicas or more
// (most, from maxReplicas); else "one chain" when the chart has one line
// (lines) or "one chain per group, no band" (a single train chain, a
// sweep of one seed).
func statisticLabel(lines, most int, band string) string {
	switch {
	case most >= 2:
		return "mean over seeds, " + band
	case lines <= 1:
		return "one chain"
	}
	return "one chain per group, no band"
}

// DrawLearningCurves draws the test loss and the test accuracy against the
// step (LearningCurveData for "test_loss" and "test_acc"), one line per
// group coloured by method, each the mean over seeds with its 95% band (a
// chain's own curve when the groups have one replica each, titled so). A
// group has the same colour and dash pattern in both panels and one legend
// entry, also when only one panel has its curve.
func DrawLearningCurves(loss, acc []Series, pal Palette) (*Figure, error) {
	var groups []string
	method := map[string]string{}
	for _, s := range append(append([]Series(nil), loss...), acc...) {
		if _, ok := method[s.Group]; !ok {
			groups = append(groups, s.Group)
			method[s.Group] = s.Method
		}
	}
	what := statisticLabel(len(groups), maxReplicas(loss, acc), "95% band")
	pl := newPlot("Test loss ("+what+")", labelStep, labelTestLoss)
	pa := newPlot("Test accuracy ("+what+")", labelStep, labelTestAcc)
	f := &Figure{Width: 10 * vg.Inch, Panels: [][]*plot.Plot{{pl, pa}}}
	dashes := dashByMethod(groups, func(g string) string { return method[g] })
	legend := map[string]*LegendEntry{}
	for k, ss := range [][]Series{loss, acc} {
		p := []*plot.Plot{pl, pa}[k]
		p.Add(plotter.NewGrid())
		for _, s := range ss {
			thumbs, err := f.addSeries(p, s, lineOpts{color: pal.Color(s.Method), width: 1.5, dash: dashes[s.Group], band: true},
				"method:"+s.Method, "group:"+s.Group)
			if err != nil {
				return nil, fmt.Errorf("charts: learning curve %s: %w", s.Label, err)
			}
			// The entry with a band thumbnail wins (a panel may have no band).
			if e := legend[s.Group]; e == nil || len(thumbs) > len(e.Thumbs) {
				legend[s.Group] = &LegendEntry{Text: s.Label, Thumbs: thumbs}
			}
		}
	}
	for _, g := range groups {
		f.Legend = append(f.Legend, *legend[g])
	}
	f.Height = 4*vg.Inch + f.LegendHeight(f.Width)
	return f, nil
}

// DrawLadder draws the final test accuracy and test loss against τ on a
// log axis (LadderData), one line per ladder coloured by method, with the
// 95% interval over seeds as a band and the best τ circled.
func DrawLadder(lines []LadderLine, pal Palette) (*Figure, error) {
	what := "mean over seeds, 95% CI"
	var points []Series
	for _, l := range lines {
		points = append(points, l.Acc, l.Loss)
	}
	if maxReplicas(points) < 2 {
		what = "one chain per τ, no band"
	}
	pa := newPlot("Final test accuracy ("+what+")", labelTau, labelTestAcc)
	pl := newPlot("Final test loss ("+what+")", labelTau, labelTestLoss)
	f := &Figure{Width: 10 * vg.Inch, Panels: [][]*plot.Plot{{pa, pl}}}
	var xs []float64
	for _, l := range lines {
		xs = append(xs, l.Acc.X...)
	}
	lo, hi, ok := positiveRange(xs)
	if !ok {
		return nil, fmt.Errorf("charts: temperature ladder: no τ > 0")
	}
	ring := draw.GlyphStyle{Color: color.Black, Radius: vg.Points(6), Shape: draw.RingGlyph{}}
	for _, p := range []*plot.Plot{pa, pl} {
		p.Add(plotter.NewGrid())
		setLogAxis(&p.X, lo/1.5, hi*1.5)
	}
	seen := map[string]int{}
	for _, l := range lines {
		d := seen[l.Method]
		seen[l.Method]++
		o := lineOpts{color: pal.Color(l.Method), width: 1.5, dash: d, band: true, glyphs: true, logX: true}
		thumbs, err := f.addSeries(pa, l.Acc, o, "method:"+l.Method, "ladder:"+l.Label)
		if err != nil {
			return nil, fmt.Errorf("charts: ladder %s: %w", l.Label, err)
		}
		if _, err := f.addSeries(pl, l.Loss, o, "method:"+l.Method, "ladder:"+l.Label); err != nil {
			return nil, fmt.Errorf("charts: ladder %s: %w", l.Label, err)
		}
		f.Legend = append(f.Legend, LegendEntry{Text: l.Label, Thumbs: thumbs})
		if b := l.Best; b != nil {
			for _, pt := range []struct {
				p *plot.Plot
				y float64
			}{{pa, b.Acc}, {pl, b.Loss}} {
				if isFinite(pt.y) {
					sc, err := plotter.NewScatter(plotter.XYs{{X: math.Log10(b.Tau), Y: pt.y}})
					if err != nil {
						return nil, err
					}
					sc.GlyphStyle = ring
					pt.p.Add(sc)
				}
			}
		}
	}
	text := "Goldilocks τ of each ladder"
	for _, l := range lines {
		if l.Best != nil && l.Best.ChosenBy != "" {
			text += ": " + ensemble.Extreme(l.Best.ChosenBy) + " mean best." + l.Best.ChosenBy + " (validation, not test)"
			if l.Best.ChosenBy == "train_loss" {
				text = "Goldilocks τ of each ladder: lowest mean best.train_loss (training, not test)"
			}
			break
		}
	}
	f.Legend = append(f.Legend, LegendEntry{Text: text, Thumbs: []plot.Thumbnailer{glyphThumb{ring}}})
	f.Height = 4*vg.Inch + f.LegendHeight(f.Width)
	return f, nil
}

// boxPlotter draws horizontal Tukey box plots, one per row.
type boxPlotter struct {
	boxes []Box
	pal   Palette
}

// boxHalf is half the height of a box, in data units (rows are 1 apart).
const boxHalf = 0.3

// DataRange implements plot.DataRanger.
func (b boxPlotter) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	for _, bx := range b.boxes {
		for _, v := range bx.Values {
			if isFinite(v) {
				xmin, xmax = math.Min(xmin, v), math.Max(xmax, v)
			}
		}
	}
	if xmin > xmax {
		xmin, xmax = 0, 1
	}
	pad := 0.03 * (xmax - xmin)
	return xmin - pad, xmax + pad, -0.6, float64(len(b.boxes)) - 0.4
}

// Plot implements plot.Plotter.
func (b boxPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	for i, bx := range b.boxes {
		y := float64(len(b.boxes) - 1 - i) // first box on top
		col := b.pal.Color(bx.Method)
		st := bx.Stats
		edge := draw.LineStyle{Color: col, Width: vg.Points(1.2)}
		if isFinite(st.Q1) && isFinite(st.Q3) {
			x0, x1 := tx(st.Q1), tx(st.Q3)
			y0, y1 := ty(y-boxHalf), ty(y+boxHalf)
			rect := []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
			c.FillPolygon(translucent(col, 60), c.ClipPolygonXY(rect))
			c.StrokeLines(edge, c.ClipLinesXY(append(rect, rect[0]))...)
			// Whiskers with caps.
			ym := ty(y)
			cap0, cap1 := ty(y-boxHalf/2), ty(y+boxHalf/2)
			for _, w := range [][2]float64{{bx.WhiskerLo, st.Q1}, {st.Q3, bx.WhiskerHi}} {
				c.StrokeLines(edge, c.ClipLinesXY([]vg.Point{{X: tx(w[0]), Y: ym}, {X: tx(w[1]), Y: ym}})...)
			}
			for _, w := range []float64{bx.WhiskerLo, bx.WhiskerHi} {
				c.StrokeLines(edge, c.ClipLinesXY([]vg.Point{{X: tx(w), Y: cap0}, {X: tx(w), Y: cap1}})...)
			}
		}
		if isFinite(st.Median) {
			c.StrokeLines(draw.LineStyle{Color: color.Black, Width: vg.Points(2)},
				c.ClipLinesXY([]vg.Point{{X: tx(st.Median), Y: ty(y - boxHalf)}, {X: tx(st.Median), Y: ty(y + boxHalf)}})...)
		}
		// Every replica as a small dot, spread deterministically across the box.
		dot := draw.GlyphStyle{Color: translucent(col, 170), Radius: vg.Points(1.6), Shape: draw.CircleGlyph{}}
		for k, v := range bx.Values {
			off := (float64(k%5) - 2) / 2 * boxHalf * 0.8
			pt := vg.Point{X: tx(v), Y: ty(y + off)}
			if c.Contains(pt) {
				c.DrawGlyph(dot, pt)
			}
		}
		ring := draw.GlyphStyle{Color: col, Radius: vg.Points(3.5), Shape: draw.RingGlyph{}}
		for _, v := range bx.Outliers {
			pt := vg.Point{X: tx(v), Y: ty(y)}
			if c.Contains(pt) {
				c.DrawGlyph(ring, pt)
			}
		}
		if isFinite(st.Mean) {
			pt := vg.Point{X: tx(st.Mean), Y: ty(y)}
			if c.Contains(pt) {
				c.DrawGlyph(meanGlyph, pt)
			}
		}
	}
}

var meanGlyph = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(4), Shape: draw.CrossGlyph{}}

// DrawBoxes draws the final test accuracy over initializations of each
// group (BoxData) as horizontal box plots: box from Q1 to Q3, black line
// at the median, × at the mean, whiskers to the most extreme values within
// 1.5·IQR, rings for the values beyond, dots for every replica.
func DrawBoxes(boxes []Box, pal Palette) (*Figure, error) {
	p := newPlot("Spread of the final test accuracy across initializations (seeds)", "final test accuracy (fraction)", "")
	p.Add(plotter.NewGrid())
	p.Add(boxPlotter{boxes: boxes, pal: pal})
	f := &Figure{Width: 10 * vg.Inch, Panels: [][]*plot.Plot{{p}}}
	// Group names label the rows: wrapped to at most 40% of the width (a
	// long name would otherwise leave no room for the data), each row as
	// tall as its label.
	names := make([]string, len(boxes))
	lines := 1
	for i, b := range boxes {
		name := wrapText(p.Y.Tick.Label, fmt.Sprintf("%s (n=%d)", b.Group, b.Stats.N), 0.4*f.Width)
		names[len(boxes)-1-i] = name
		lines = max(lines, strings.Count(name, "\n")+1)
	}
	p.NominalY(names...)
	p.Y.Min, p.Y.Max = -0.6, float64(len(boxes))-0.4
	rowH := max(0.32*vg.Inch, vg.Length(lines)*p.Y.Tick.Label.Height("X")*1.25)
	var methods []string
	seen := map[string]bool{}
	for _, b := range boxes {
		f.useStyle(p, pal.Color(b.Method), 0, "method:"+b.Method, "box")
		if !seen[b.Method] {
			seen[b.Method] = true
			methods = append(methods, b.Method)
		}
	}
	sort.Strings(methods)
	for _, m := range methods {
		c := pal.Color(m)
		f.Legend = append(f.Legend, LegendEntry{Text: m + ": box Q1–Q3, whiskers 1.5·IQR, dots = replicas",
			Thumbs: []plot.Thumbnailer{lineThumb{draw.LineStyle{Color: translucent(c, 60), Width: vg.Points(8)}}, lineThumb{draw.LineStyle{Color: c, Width: vg.Points(1.2)}}}})
	}
	f.Legend = append(f.Legend,
		LegendEntry{Text: "median", Thumbs: []plot.Thumbnailer{lineThumb{draw.LineStyle{Color: color.Black, Width: vg.Points(2)}}}},
		LegendEntry{Text: "mean", Thumbs: []plot.Thumbnailer{glyphThumb{meanGlyph}}},
		LegendEntry{Text: "outlier (beyond 1.5·IQR)", Thumbs: []plot.Thumbnailer{glyphThumb{draw.GlyphStyle{Color: grey, Radius: vg.Points(3.5), Shape: draw.RingGlyph{}}}}})
	f.Height = 1.3*vg.Inch + vg.Length(len(boxes))*rowH + f.LegendHeight(f.Width)
	return f, nil
}

// thermoColors gives each thermostat group name its colour in pal (key
// "thermostat:<name>", added in sorted order when pal lacks it): never a
// method's colour.
func thermoColors(panels []ThermoPanel, pal Palette) map[string]color.NRGBA {
	var names []string
	seen := map[string]bool{}
	for _, p := range panels {
		for _, n := range p.Names {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = thermostatKey(n)
	}
	pal = pal.With(keys...)
	out := map[string]color.NRGBA{}
	for _, n := range names {
		out[n] = pal.Color(thermostatKey(n))
	}
	return out
}

// thermostatKey and pairKey are the Palette keys of a thermostat group and
// of a line between two solutions.
func thermostatKey(name string) string { return "thermostat:" + name }

func pairKey(label string) string { return "pair:" + label }

// DrawEquipartition draws, for each ThermoPanel, the kinetic temperature
// of each thermostat group over time (mean over seeds with its 95% band)
// and its target τ(n) as a dashed line of the same colour, on a log axis.
// Panels are laid out two per row. A thermostat group has one colour in
// every panel, never one of pal's method colours.
func DrawEquipartition(panels []ThermoPanel, pal Palette) (*Figure, error) {
	cols := thermoColors(panels, pal)
	ncol := min(2, len(panels))
	if ncol == 0 {
		return nil, fmt.Errorf("charts: equipartition: no group with a kinetic temperature")
	}
	nrow := (len(panels) + ncol - 1) / ncol
	f := &Figure{Width: 10 * vg.Inch}
	legend := map[string]bool{}
	for r := 0; r < nrow; r++ {
		row := make([]*plot.Plot, ncol)
		for c := 0; c < ncol; c++ {
			k := r*ncol + c
			if k >= len(panels) {
				continue
			}
			tp := panels[k]
			p := newPlot(tp.Group, labelStep, labelTkin)
			p.Add(plotter.NewGrid())
			var ys [][]float64
			for i := range tp.Names {
				ys = append(ys, tp.Tkin[i].Y, tp.Tkin[i].Lo, tp.Tkin[i].Hi, tp.Tau[i].Y)
			}
			lo, hi, ok := positiveRange(ys...)
			if !ok {
				continue
			}
			setLogAxis(&p.Y, lo/1.5, hi*1.5)
			addEntry := func(text string, thumbs []plot.Thumbnailer) {
				if !legend[text] {
					legend[text] = true
					f.Legend = append(f.Legend, LegendEntry{Text: text, Thumbs: thumbs})
				}
			}
			for i, name := range tp.Names {
				thumbs, err := f.addSeries(p, tp.Tkin[i], lineOpts{color: cols[name], width: 1.3, band: true, logY: true},
					thermostatKey(name), "kinetic temperature")
				if err != nil {
					return nil, fmt.Errorf("charts: equipartition %s %s: %w", tp.Group, name, err)
				}
				addEntry(name+": kinetic temperature", thumbs)
			}
			// One black target line when every thermostat group has the same
			// τ(n), else one per group in its colour.
			shared := true
			for i := range tp.Tau {
				shared = shared && equalNaN(tp.Tau[i].Y, tp.Tau[0].Y)
			}
			for i, name := range tp.Names {
				if shared && i > 0 {
					break
				}
				col, text, means := cols[name], name+": target τ(n)", thermostatKey(name)
				if shared {
					col, text, means = black, "target τ(n)", "reference"
					if len(tp.Names) > 1 {
						text += " (same for all groups)"
					}
				}
				thumbs, err := f.addSeries(p, tp.Tau[i], lineOpts{color: col, width: 1.6, dash: 1, logY: true}, means, "target")
				if err != nil {
					return nil, fmt.Errorf("charts: equipartition %s %s: %w", tp.Group, name, err)
				}
				addEntry(text, thumbs)
			}
			row[c] = p
		}
		f.Panels = append(f.Panels, row)
	}
	f.Height = vg.Length(nrow)*3.6*vg.Inch + f.LegendHeight(f.Width)
	return f, nil
}

// equalNaN reports whether a and b are equal, NaN equal to NaN.
func equalNaN(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

// DrawXi draws the thermostat variables ξ over time (XiData), coloured by
// method, one dash pattern per tensor (the same tensor has the same
// pattern for every method).
func DrawXi(series []Series, pal Palette) (*Figure, error) {
	if len(series) == 0 {
		return nil, fmt.Errorf("charts: ξ: no adaptive tensor")
	}
	p := newPlot("Adaptive thermostat ξ of each method's best replica", labelStep, labelXi)
	p.Add(plotter.NewGrid())
	f := &Figure{Width: 10 * vg.Inch, Panels: [][]*plot.Plot{{p}}}
	var tensors []string
	for _, s := range series {
		tensors = append(tensors, s.Column)
	}
	dashes := dashByMethod(tensors, func(string) string { return "" })
	for _, s := range series {
		thumbs, err := f.addSeries(p, s, lineOpts{color: pal.Color(s.Method), width: 1.4, dash: dashes[s.Column]},
			"method:"+s.Method, "tensor:"+s.Column)
		if err != nil {
			return nil, fmt.Errorf("charts: ξ %s: %w", s.Label, err)
		}
		f.Legend = append(f.Legend, LegendEntry{Text: s.Label + " (replica " + s.Replica + ")", Thumbs: thumbs})
	}
	f.Height = 3.8*vg.Inch + f.LegendHeight(f.Width)
	return f, nil
}

// gridXYZ adapts a Boundary to plotter.GridXYZ.
type gridXYZ struct{ b *Boundary }

// Dims implements plotter.GridXYZ: columns along x, rows along y.
func (g gridXYZ) Dims() (c, r int) { return len(g.b.X), len(g.b.Y) }

// Z implements plotter.GridXYZ: P(class 1) at (X(c), Y(r)).
func (g gridXYZ) Z(c, r int) float64 { return g.b.Z[r][c] }

// X implements plotter.GridXYZ.
func (g gridXYZ) X(c int) float64 { return g.b.X[c] }

// Y implements plotter.GridXYZ.
func (g gridXYZ) Y(r int) float64 { return g.b.Y[r] }

// heatUpscale is the number of pixels per grid cell and axis of the
// image a heat map is drawn from: the image is scaled with bilinear
// interpolation, so cells of several pixels stay crisp (no seams, few
// colours, small PNG).
const heatUpscale = 8

// rasterHeat draws P(class 1) of a Boundary as an image of flat cells
// centred on the grid points, in a palette from 0 to 1 (NaN grey).
type rasterHeat struct {
	img                    *plotter.Image
	xmin, xmax, ymin, ymax float64
}

func newRasterHeat(b *Boundary, colors []color.Color) *rasterHeat {
	nx, ny := len(b.X), len(b.Y)
	img := image.NewNRGBA(image.Rect(0, 0, nx*heatUpscale, ny*heatUpscale))
	nan := color.NRGBA{0xcc, 0xcc, 0xcc, 0xff}
	for j := 0; j < ny; j++ {
		for i := 0; i < nx; i++ {
			var c color.Color = nan
			if z := b.Z[j][i]; isFinite(z) {
				k := int(math.Round(math.Max(0, math.Min(1, z)) * float64(len(colors)-1)))
				c = colors[k]
			}
			// Image rows run from the top (largest y) down.
			y0 := (ny - 1 - j) * heatUpscale
			draw2.Draw(img, image.Rect(i*heatUpscale, y0, (i+1)*heatUpscale, y0+heatUpscale), image.NewUniform(c), image.Point{}, draw2.Src)
		}
	}
	// Cells are centred on the grid points; the outer cells extend half a
	// spacing beyond the first and last points.
	hx := (b.X[nx-1] - b.X[0]) / float64(nx-1) / 2
	hy := (b.Y[ny-1] - b.Y[0]) / float64(ny-1) / 2
	r := &rasterHeat{xmin: b.X[0] - hx, xmax: b.X[nx-1] + hx, ymin: b.Y[0] - hy, ymax: b.Y[ny-1] + hy}
	r.img = plotter.NewImage(img, r.xmin, r.ymin, r.xmax, r.ymax)
	return r
}

// Plot implements plot.Plotter.
func (r *rasterHeat) Plot(c draw.Canvas, p *plot.Plot) { r.img.Plot(c, p) }

// DataRange implements plot.DataRanger.
func (r *rasterHeat) DataRange() (xmin, xmax, ymin, ymax float64) {
	return r.xmin, r.xmax, r.ymin, r.ymax
}

// maxBoundaryPoints bounds the training points drawn on a decision
// boundary.
const maxBoundaryPoints = 2000

// Glyphs of the training points of class 0 and class 1.
var (
	class0Glyph = draw.GlyphStyle{Color: color.NRGBA{0x11, 0x11, 0x11, 0xff}, Radius: vg.Points(1.8), Shape: draw.RingGlyph{}}
	class1Glyph = draw.GlyphStyle{Color: color.NRGBA{0x11, 0x11, 0x11, 0xff}, Radius: vg.Points(2.2), Shape: draw.PlusGlyph{}}
	contourLine = draw.LineStyle{Color: color.Black, Width: vg.Points(2)}
)

// boundaryTitle is the panel title of b.
func boundaryTitle(b *Boundary) string {
	if b.Kind == BoundaryBest {
		return fmt.Sprintf("%s: best replica %s (final sample)", b.Method, b.Replica)
	}
	chains := "chains"
	if b.Chains == 1 {
		chains = "chain"
	}
	return fmt.Sprintf("%s: model average of %d %s (%s)", b.Method, b.Chains, chains, b.Group)
}

// boundaryPlot draws one decision boundary.
func boundaryPlot(b *Boundary) (*plot.Plot, error) {
	p := newPlot(boundaryTitle(b), labelX1, labelX2)
	cm := moreland.SmoothBlueRed()
	cm.SetMin(0)
	cm.SetMax(1)
	g := gridXYZ{b}
	p.Add(newRasterHeat(b, cm.Palette(64).Colors()))
	// The contour needs a range of finite values (gonum panics otherwise).
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range b.Z {
		for _, z := range row {
			if isFinite(z) {
				lo, hi = math.Min(lo, z), math.Max(hi, z)
			}
		}
	}
	if lo < hi {
		ct := plotter.NewContour(g, []float64{0.5}, constPalette{color.Black})
		ct.LineStyles = []draw.LineStyle{contourLine}
		p.Add(ct)
	}
	var c0, c1 plotter.XYs
	for _, k := range Thin(len(b.Points), maxBoundaryPoints) {
		pt := b.Points[k]
		if len(pt) < 3 || !isFinite(pt[0]) || !isFinite(pt[1]) {
			continue
		}
		if pt[2] >= 0.5 {
			c1 = append(c1, plotter.XY{X: pt[0], Y: pt[1]})
		} else {
			c0 = append(c0, plotter.XY{X: pt[0], Y: pt[1]})
		}
	}
	for _, s := range []struct {
		xy  plotter.XYs
		sty draw.GlyphStyle
	}{{c0, class0Glyph}, {c1, class1Glyph}} {
		if len(s.xy) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(s.xy)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle = s.sty
		p.Add(sc)
	}
	return p, nil
}

// DrawBoundaries draws decision boundaries (DecisionBoundaryData), two
// panels per row (a method's best replica and its model average): the
// classifier's P(class 1) as a heat map (blue 0, red 1), its 0.5 contour in
// black and the training points, with a colour bar.
func DrawBoundaries(bs []Boundary) (*Figure, error) {
	if len(bs) == 0 {
		return nil, fmt.Errorf("charts: decision boundaries: no grid")
	}
	f := &Figure{Width: 10 * vg.Inch}
	var row []*plot.Plot
	for i := range bs {
		p, err := boundaryPlot(&bs[i])
		if err != nil {
			return nil, fmt.Errorf("charts: decision boundary %s: %w", boundaryTitle(&bs[i]), err)
		}
		row = append(row, p)
		if len(row) == 2 {
			f.Panels = append(f.Panels, row)
			row = nil
		}
	}
	if row != nil {
		f.Panels = append(f.Panels, append(row, nil))
	}
	f.Legend = []LegendEntry{
		{Text: "training point, class 0", Thumbs: []plot.Thumbnailer{glyphThumb{class0Glyph}}},
		{Text: "training point, class 1", Thumbs: []plot.Thumbnailer{glyphThumb{class1Glyph}}},
		{Text: "decision boundary P(class 1) = 0.5", Thumbs: []plot.Thumbnailer{lineThumb{contourLine}}},
	}
	f.stripH = 0.55 * vg.Inch
	f.strip = func(c draw.Canvas) {
		cm := moreland.SmoothBlueRed()
		cm.SetMin(0)
		cm.SetMax(1)
		p := newPlot("", "P(class 1) predicted by the classifier (heat map colour)", "")
		p.Add(&plotter.ColorBar{ColorMap: cm})
		p.HideY()
		p.X.Min, p.X.Max = 0, 1
		mid := (c.Min.X + c.Max.X) / 2
		c.Min.X, c.Max.X = mid-2.5*vg.Inch, mid+2.5*vg.Inch
		p.Draw(c)
	}
	f.Height = vg.Length(len(f.Panels))*4.6*vg.Inch + f.stripH + f.LegendHeight(f.Width)
	return f, nil
}

// DrawWeightHist draws the histograms of parameter magnitudes
// (WeightHistData) as step outlines, one per method, as fractions of each
// method's parameters, with the small-weight threshold as a dashed line.
func DrawWeightHist(hs []Histogram, pal Palette) (*Figure, error) {
	if len(hs) == 0 {
		return nil, fmt.Errorf("charts: weights: no parameter file")
	}
	p := newPlot("Distribution of parameter magnitudes at the end of training", labelMagn, labelFrac)
	p.Add(plotter.NewGrid())
	f := &Figure{Width: 10 * vg.Inch, Panels: [][]*plot.Plot{{p}}}
	edges := hs[0].Edges
	setLogAxis(&p.X, edges[0], edges[len(edges)-1])
	thr := 0.0
	for _, h := range hs {
		col := pal.Color(h.Method)
		f.useStyle(p, col, 0, "method:"+h.Method, "histogram")
		var xys plotter.XYs
		for i, c := range h.Counts {
			fr := 0.0
			if h.Total > 0 {
				fr = float64(c) / float64(h.Total)
			}
			xys = append(xys, plotter.XY{X: math.Log10(h.Edges[i]), Y: fr}, plotter.XY{X: math.Log10(h.Edges[i+1]), Y: fr})
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("charts: weights %s: %w", h.Method, err)
		}
		l.LineStyle = lineStyle(col, 1.8, 0)
		l.FillColor = translucent(col, 35)
		p.Add(l)
		text := fmt.Sprintf("%s (%s, %d replicas, %d parameters)", h.Method, h.Group, len(h.Replicas), h.Total)
		if h.Threshold > 0 && h.Total > 0 {
			text += fmt.Sprintf(": %.1f%% below %s", 100*float64(h.Small)/float64(h.Total), strconv.FormatFloat(h.Threshold, 'g', -1, 64))
			thr = h.Threshold
		}
		f.Legend = append(f.Legend, LegendEntry{Text: text, Thumbs: []plot.Thumbnailer{l}})
	}
	p.Y.Min = 0
	if thr > 0 {
		sty := draw.LineStyle{Color: grey, Width: vg.Points(1.2), Dashes: dash(1)}
		p.Add(vline{X: math.Log10(thr), sty: sty})
		f.Legend = append(f.Legend, LegendEntry{Text: "near-zero threshold (result.json small_threshold)", Thumbs: []plot.Thumbnailer{lineThumb{sty}}})
	}
	f.Height = 4*vg.Inch + f.LegendHeight(f.Width)
	return f, nil
}

// DrawInterp draws the loss along straight lines in parameter space, on a
// log axis: within (InterpData: from each method's initial to its final
// parameters, mean over replicas with 95% band) in the first panel and,
// when given, between (BetweenData: between two solutions) in a second.
// Test loss is solid, training loss dashed. Lines between two solutions
// are not a method's: each pair has its own colour in pal (key
// "pair:<label>", added when pal lacks it), never a method's.
func DrawInterp(within, between []Series, pal Palette) (*Figure, error) {
	if len(within) == 0 && len(between) == 0 {
		return nil, fmt.Errorf("charts: interpolation: no data")
	}
	f := &Figure{Width: 10 * vg.Inch}
	var row []*plot.Plot
	panel := func(title string, ss []Series, colorOf func(i int, s Series) color.NRGBA, means func(s Series) string) error {
		p := newPlot(title, labelAlpha, labelLossLog)
		p.Add(plotter.NewGrid())
		var ys [][]float64
		for _, s := range ss {
			ys = append(ys, s.Y, s.Lo, s.Hi)
		}
		lo, hi, ok := positiveRange(ys...)
		if !ok {
			return nil
		}
		setLogAxis(&p.Y, lo/1.3, hi*1.3)
		for i, s := range ss {
			d := 0
			if s.Column == "train_loss" {
				d = 1
			}
			thumbs, err := f.addSeries(p, s, lineOpts{color: colorOf(i, s), width: 1.5, dash: d, band: true, logY: true}, means(s), "loss:"+s.Column)
			if err != nil {
				return fmt.Errorf("charts: interpolation %s: %w", s.Label, err)
			}
			name := strings.TrimSuffix(s.Column, "_loss")
			f.Legend = append(f.Legend, LegendEntry{Text: fmt.Sprintf("%s: %s loss", s.Label, name), Thumbs: thumbs})
		}
		for _, a := range []float64{0, 1} {
			p.Add(vline{X: a, sty: draw.LineStyle{Color: grey, Width: vg.Points(0.8), Dashes: dash(2)}})
		}
		row = append(row, p)
		return nil
	}
	if len(within) > 0 {
		title := "Initial (α=0) → final (α=1) parameters, mean and 95% band"
		if maxReplicas(within) < 2 {
			methods := map[string]bool{}
			for _, s := range within {
				methods[s.Method] = true
			}
			title = "Initial (α=0) → final (α=1) parameters, " + statisticLabel(len(methods), 1, "")
		}
		if err := panel(title, within,
			func(_ int, s Series) color.NRGBA { return pal.Color(s.Method) },
			func(s Series) string { return "method:" + s.Method }); err != nil {
			return nil, err
		}
	}
	if len(between) > 0 {
		var keys []string
		for _, s := range between {
			keys = append(keys, pairKey(s.Label))
		}
		pp := pal.With(keys...)
		if err := panel("Between two solutions (α=0 → α=1)", between,
			func(_ int, s Series) color.NRGBA { return pp.Color(pairKey(s.Label)) },
			func(s Series) string { return pairKey(s.Label) }); err != nil {
			return nil, err
		}
	}
	if len(row) == 0 {
		return nil, fmt.Errorf("charts: interpolation: no positive loss")
	}
	f.Panels = [][]*plot.Plot{row}
	f.Height = 4*vg.Inch + f.LegendHeight(f.Width)
	return f, nil
}
