package charts

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// DPI is the resolution of the PNG images: 1.5 pixels per CSS pixel, so
// that text stays sharp in the report.
const DPI = 144

// Figure is a drawn chart: one or more panels in a grid, with an optional
// strip below them (a colour bar) and a legend strip at the bottom, ready
// to be encoded as PNG or SVG.
type Figure struct {
	// Width and Height are the size of the image.
	Width, Height vg.Length
	// Panels are the plots, in rows; a nil entry leaves its tile empty.
	Panels [][]*plot.Plot
	// Legend holds the entries of the legend strip, shared by all panels.
	Legend []LegendEntry

	// strip, when set, draws into a strip of height stripH between the
	// panels and the legend.
	strip  func(draw.Canvas)
	stripH vg.Length

	// uses records every colour and dash pattern given to a series, with
	// what they encode (useStyle).
	uses []styleUse
}

// styleUse is one use of a colour and a dash pattern in a panel of a
// figure, with what each encodes ("method:adam", "group:…",
// "thermostat:hidden", "pair:adam → lol", ...). A figure is readable when
// one colour means one thing and one thing has one colour in all its
// panels (and so for dash patterns within a colour); the tests check
// that on these records.
type styleUse struct {
	panel                 *plot.Plot
	color                 color.NRGBA
	dash                  int
	colorMeans, dashMeans string
}

// useStyle records a use of colour c and dash pattern d in panel p.
func (f *Figure) useStyle(p *plot.Plot, c color.NRGBA, d int, colorMeans, dashMeans string) {
	f.uses = append(f.uses, styleUse{panel: p, color: c, dash: d, colorMeans: colorMeans, dashMeans: dashMeans})
}

// addSeries adds s to p like addSeries and records its style.
func (f *Figure) addSeries(p *plot.Plot, s Series, o lineOpts, colorMeans, dashMeans string) ([]plot.Thumbnailer, error) {
	f.useStyle(p, o.color, o.dash, colorMeans, dashMeans)
	return addSeries(p, s, o)
}

// LegendEntry is one entry of a Figure's legend strip.
type LegendEntry struct {
	Text   string
	Thumbs []plot.Thumbnailer
}

// margin is the white space around a figure.
const margin = 4 * vg.Millimeter

// legendRowHeight is the height of one row of the legend strip.
var legendRowHeight = vg.Points(10.5)

// newLegend returns a legend with the charts' text style.
func newLegend() plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font = sansFont
	l.TextStyle.Font.Size = vg.Points(legendSize)
	l.Left, l.Top = true, true
	l.ThumbnailWidth = vg.Points(22)
	l.Padding = vg.Points(2)
	return l
}

// legendLayout returns the layout of the legend strip in a figure of
// width w: the number of columns and rows, the entries' texts (wrapped when
// an entry is wider than the whole strip, so that no text runs off the
// figure) and the largest number of lines of an entry.
func (f *Figure) legendLayout(w vg.Length) (cols, rows int, texts []string, lines int) {
	if len(f.Legend) == 0 {
		return 0, 0, nil, 0
	}
	l := newLegend()
	// Room beside the thumbnail: the thumbnail, a space and a gap.
	beside := l.ThumbnailWidth + l.TextStyle.Width(" ") + 5*vg.Millimeter
	full := w - 2*margin
	var widest vg.Length
	texts = make([]string, len(f.Legend))
	lines = 1
	for i, e := range f.Legend {
		texts[i] = wrapText(l.TextStyle, e.Text, full-beside)
		lines = max(lines, strings.Count(texts[i], "\n")+1)
		widest = max(widest, l.TextStyle.Width(texts[i]))
	}
	cols = int(float64(full) / float64(widest+beside))
	cols = max(1, min(cols, len(f.Legend)))
	rows = (len(f.Legend) + cols - 1) / cols
	return cols, rows, texts, lines
}

// LegendHeight returns the height the legend strip takes in a figure of
// width w.
func (f *Figure) LegendHeight(w vg.Length) vg.Length {
	_, rows, _, lines := f.legendLayout(w)
	if rows == 0 {
		return 0
	}
	return vg.Length(rows)*(vg.Length(lines)*legendRowHeight+vg.Points(2)) + vg.Millimeter
}

// regions splits dc into the figure's legend strip (at the bottom), the
// strip above it (f.strip) and the area of the panels, inside the margin.
func (f *Figure) regions(dc draw.Canvas) (legend, strip, panels draw.Canvas) {
	w := dc.Max.X - dc.Min.X
	inner := draw.Crop(dc, margin, -margin, margin, -margin)
	legend = inner
	legend.Max.Y = legend.Min.Y
	if lh := f.LegendHeight(w); lh > 0 {
		legend.Max.Y = legend.Min.Y + lh
		inner.Min.Y += lh + 2*vg.Millimeter
	}
	strip = inner
	strip.Max.Y = strip.Min.Y
	if f.strip != nil {
		strip.Max.Y = strip.Min.Y + f.stripH
		inner.Min.Y += f.stripH + 2*vg.Millimeter
	}
	return legend, strip, inner
}

// alignPanels lays the panels out in c, their data areas aligned, after
// wrapping the titles that are wider than their tile (fitTitles).
func (f *Figure) alignPanels(c draw.Canvas) [][]draw.Canvas {
	t := draw.Tiles{Rows: len(f.Panels), Cols: len(f.Panels[0]), PadX: 8 * vg.Millimeter, PadY: 6 * vg.Millimeter}
	canvases := plot.Align(f.Panels, t, c)
	if fitTitles(f.Panels, canvases) {
		// Wrapped titles are taller: align again.
		canvases = plot.Align(f.Panels, t, c)
	}
	return canvases
}

// Draw draws the figure onto dc.
func (f *Figure) Draw(dc draw.Canvas) {
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	legend, strip, panels := f.regions(dc)

	cols, rows, texts, _ := f.legendLayout(dc.Max.X - dc.Min.X)
	colW := (legend.Max.X - legend.Min.X) / vg.Length(max(cols, 1))
	for c := 0; c < cols; c++ {
		l := newLegend()
		for r := 0; r < rows; r++ {
			k := c*rows + r
			if k < len(f.Legend) {
				l.Add(texts[k], f.Legend[k].Thumbs...)
			}
		}
		cell := legend
		cell.Min.X = legend.Min.X + vg.Length(c)*colW
		cell.Max.X = cell.Min.X + colW
		l.Draw(cell)
	}
	if f.strip != nil {
		f.strip(strip)
	}
	if len(f.Panels) == 0 {
		return
	}
	canvases := f.alignPanels(panels)
	for j, row := range f.Panels {
		for i, p := range row {
			if p != nil {
				p.Draw(canvases[j][i])
			}
		}
	}
}

// fitTitles wraps the title of every panel that is wider than its tile
// (a gonum title is centred on its tile and would be cut off by the
// figure's edge or run into its neighbour's). It reports whether a title
// changed. Titles that fit are left as they are, so drawing twice (PNG,
// then SVG) gives the same layout.
func fitTitles(panels [][]*plot.Plot, canvases [][]draw.Canvas) bool {
	changed := false
	for j, row := range panels {
		for i, p := range row {
			if p == nil || p.Title.Text == "" {
				continue
			}
			w := canvases[j][i].Max.X - canvases[j][i].Min.X
			if t := wrapText(p.Title.TextStyle, p.Title.Text, w); t != p.Title.Text {
				p.Title.Text = t
				changed = true
			}
		}
	}
	return changed
}

// wrapText breaks text into lines no wider than w in style sty: at spaces
// (which are dropped), after commas and before an opening parenthesis, and
// inside a word only when the word alone is wider than w. Existing line
// breaks are kept.
func wrapText(sty text.Style, txt string, w vg.Length) string {
	fits := func(s string) bool { return sty.Width(s) <= w }
	var out []string
	for _, para := range strings.Split(txt, "\n") {
		if fits(para) {
			out = append(out, para)
			continue
		}
		line := ""
		for _, word := range breakWords(para) {
			cand := line + word
			if line == "" {
				cand = strings.TrimLeft(word, " ")
			}
			if fits(strings.TrimRight(cand, " ")) {
				line = cand
				continue
			}
			if line != "" {
				out = append(out, strings.TrimRight(line, " "))
			}
			line = strings.TrimLeft(word, " ")
			// A word wider than the line is broken between characters.
			for !fits(strings.TrimRight(line, " ")) {
				rs := []rune(line)
				k := len(rs) - 1
				for k > 1 && !fits(string(rs[:k])) {
					k--
				}
				out = append(out, string(rs[:k]))
				line = string(rs[k:])
			}
		}
		if l := strings.TrimRight(line, " "); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// breakWords splits s into pieces that may start a new line: each piece
// ends with a space or a comma, or stops before an opening parenthesis.
// Joining them gives s back.
func breakWords(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		switch {
		case r == ' ' || r == ',':
			out = append(out, s[start:i+1])
			start = i + 1
		case r == '(' && i > start:
			out = append(out, s[start:i])
			start = i
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// PNG encodes the figure as a PNG image at DPI. A panic of the plotting
// library is returned as an error.
func (f *Figure) PNG() (b []byte, err error) {
	defer recoverError(&err)
	c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(DPI))}
	f.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SVG encodes the figure as an SVG image (fonts referenced by name, not
// embedded). A panic of the plotting library is returned as an error.
func (f *Figure) SVG() (b []byte, err error) {
	defer recoverError(&err)
	c := vgsvg.New(f.Width, f.Height)
	f.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// recoverError turns a panic into *err.
func recoverError(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("charts: plotting failed: %v", r)
	}
}

// finiteRuns returns the maximal runs [i, j) of indices at which x and
// every y hold finite values; posX and posY also require values > 0 (for
// log axes).
func finiteRuns(x []float64, posX, posY bool, ys ...[]float64) [][2]int {
	good := func(v float64, pos bool) bool {
		return !math.IsNaN(v) && !math.IsInf(v, 0) && (!pos || v > 0)
	}
	ok := func(i int) bool {
		if !good(x[i], posX) {
			return false
		}
		for _, y := range ys {
			if i >= len(y) || !good(y[i], posY) {
				return false
			}
		}
		return true
	}
	var runs [][2]int
	start := -1
	for i := 0; i <= len(x); i++ {
		if i < len(x) && ok(i) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			runs = append(runs, [2]int{start, i})
			start = -1
		}
	}
	return runs
}

// lineOpts says how a Series is drawn.
type lineOpts struct {
	color  color.NRGBA
	width  float64
	dash   int
	band   bool // draw [Lo, Hi] as a translucent polygon
	glyphs bool // draw a dot at every point
	logX   bool // plot log10(X), dropping X ≤ 0 (see setLogAxis)
	logY   bool // plot log10(Y), dropping Y ≤ 0 and band edges ≤ 0
}

// addSeries adds s to p: the band polygons (one per finite run), then the
// line segments. It returns the thumbnails for a legend entry.
func addSeries(p *plot.Plot, s Series, o lineOpts) ([]plot.Thumbnailer, error) {
	var thumbs []plot.Thumbnailer
	if o.band && s.Lo != nil && s.Hi != nil {
		var poly *plotter.Polygon
		for _, r := range finiteRuns(s.X, o.logX, o.logY, s.Lo, s.Hi) {
			if r[1]-r[0] < 2 {
				continue
			}
			ring := make(plotter.XYs, 0, 2*(r[1]-r[0]))
			for i := r[0]; i < r[1]; i++ {
				ring = append(ring, plotter.XY{X: logIf(o.logX, s.X[i]), Y: logIf(o.logY, s.Lo[i])})
			}
			for i := r[1] - 1; i >= r[0]; i-- {
				ring = append(ring, plotter.XY{X: logIf(o.logX, s.X[i]), Y: logIf(o.logY, s.Hi[i])})
			}
			pg, err := plotter.NewPolygon(ring)
			if err != nil {
				return nil, err
			}
			pg.Color = translucent(o.color, 55)
			pg.LineStyle.Width = 0
			p.Add(pg)
			poly = pg
		}
		if poly != nil {
			thumbs = append(thumbs, poly)
		}
	}
	sty := lineStyle(o.color, o.width, o.dash)
	var line *plotter.Line
	for _, r := range finiteRuns(s.X, o.logX, o.logY, s.Y) {
		xys := make(plotter.XYs, 0, r[1]-r[0])
		for i := r[0]; i < r[1]; i++ {
			xys = append(xys, plotter.XY{X: logIf(o.logX, s.X[i]), Y: logIf(o.logY, s.Y[i])})
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, err
		}
		l.LineStyle = sty
		p.Add(l)
		line = l
		if o.glyphs || r[1]-r[0] == 1 {
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: o.color, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
			p.Add(sc)
			if o.glyphs {
				thumbs = append(thumbs, sc)
			}
		}
	}
	if line == nil {
		line = &plotter.Line{LineStyle: sty}
	}
	thumbs = append(thumbs, line)
	return thumbs, nil
}

// logIf returns log10(v) when log is set, else v.
func logIf(log bool, v float64) float64 {
	if log {
		return math.Log10(v)
	}
	return v
}

// setLogAxis makes ax a log axis over [lo, hi] (both > 0; widened by a
// factor of 3 each way when equal). gonum's LogScale is avoided (its
// tick labels show rounding noise such as 9.999999999999999e-05, it
// misplaces the axis label's glyph box, and it panics on values ≤ 0):
// the plotters are given log10 of the data (lineOpts.logX, logY, logIf)
// on a linear axis whose ticks, from log10Ticks, are labelled with the
// powers of ten.
func setLogAxis(ax *plot.Axis, lo, hi float64) {
	if !(lo > 0) || !(hi > 0) || math.IsInf(hi, 0) {
		lo, hi = 1e-3, 1
	}
	if lo == hi {
		lo, hi = lo/3, hi*3
	}
	ax.Min, ax.Max = math.Log10(lo), math.Log10(hi)
	ax.Tick.Marker = log10Ticks{}
}

// niceTicks marks a linear axis with about six labelled ticks at
// multiples of 1, 2 or 5 times a power of ten, and unlabelled minor ticks
// between them.
type niceTicks struct{}

// Ticks implements plot.Ticker.
func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil
	}
	raw := (hi - lo) / 6
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step, minors := 10*p, 5
	for _, m := range []struct {
		f float64
		n int
	}{{1, 5}, {2, 4}, {5, 5}} {
		if m.f*p >= raw {
			step, minors = m.f*p, m.n
			break
		}
	}
	decimals := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	var ticks []plot.Tick
	first := math.Ceil(lo/step-1e-9) - 1
	for k := first; k*step <= hi+step; k++ {
		v := k * step
		if v >= lo-1e-9*step && v <= hi+1e-9*step {
			label := strconv.FormatFloat(v, 'f', decimals, 64)
			if label == "-0" || strings.Trim(label, "-0.") == "" {
				label = strconv.FormatFloat(0, 'f', decimals, 64)
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: label})
		}
		for i := 1; i < minors; i++ {
			if u := v + float64(i)*step/float64(minors); u >= lo && u <= hi {
				ticks = append(ticks, plot.Tick{Value: u})
			}
		}
	}
	return ticks
}

// log10Ticks marks an axis whose values are log10 of the data: a labelled
// major tick at every power of ten, minor ticks at 2…9 times them, and
// labels on the 2× and 5× ticks when fewer than two powers of ten are in
// range.
type log10Ticks struct{}

// Ticks implements plot.Ticker.
func (log10Ticks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) || math.IsInf(min, 0) || math.IsInf(max, 0) {
		return nil
	}
	var ticks []plot.Tick
	majors := 0
	for k := math.Floor(min); k <= max; k++ {
		if k >= min {
			majors++
		}
	}
	for k := math.Floor(min); k <= math.Ceil(max); k++ {
		if k >= min && k <= max {
			ticks = append(ticks, plot.Tick{Value: k, Label: formatPow10(int(k), 1)})
		}
		for m := 2; m <= 9; m++ {
			v := k + math.Log10(float64(m))
			if v < min || v > max {
				continue
			}
			label := ""
			if majors < 2 && (m == 2 || m == 5) {
				label = formatPow10(int(k), m)
			}
			ticks = append(ticks, plot.Tick{Value: v, Label: label})
		}
	}
	return ticks
}

func formatPow10(k, m int) string {
	if k >= -3 && k <= 3 {
		return strconv.FormatFloat(float64(m)*math.Pow10(k), 'f', max(0, -k), 64)
	}
	return strconv.Itoa(m) + "e" + strconv.Itoa(k)
}

// positiveRange returns the smallest and largest finite values > 0 of the
// slices, and false when there is none.
func positiveRange(vs ...[]float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		for _, x := range v {
			if x > 0 && !math.IsInf(x, 0) {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
				ok = true
			}
		}
	}
	return lo, hi, ok
}

// constPalette is a palette of one colour (for contour lines).
type constPalette struct{ c color.Color }

// Colors implements palette.Palette.
func (p constPalette) Colors() []color.Color { return []color.Color{p.c} }

// glyphThumb draws a glyph as a legend thumbnail.
type glyphThumb struct{ sty draw.GlyphStyle }

// Thumbnail implements plot.Thumbnailer.
func (g glyphThumb) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(g.sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: (c.Min.Y + c.Max.Y) / 2})
}

// lineThumb draws a line as a legend thumbnail.
type lineThumb struct{ sty draw.LineStyle }

// Thumbnail implements plot.Thumbnailer.
func (l lineThumb) Thumbnail(c *draw.Canvas) {
	y := (c.Min.Y + c.Max.Y) / 2
	c.StrokeLine2(l.sty, c.Min.X, y, c.Max.X, y)
}

// vline is a vertical line at X across the data area.
type vline struct {
	X   float64
	sty draw.LineStyle
}

// Plot implements plot.Plotter.
func (v vline) Plot(c draw.Canvas, p *plot.Plot) {
	if v.X < p.X.Min || v.X > p.X.Max {
		return
	}
	tx, _ := p.Transforms(&c)
	x := tx(v.X)
	c.StrokeLine2(v.sty, x, c.Min.Y, x, c.Max.Y)
}
