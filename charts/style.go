package charts

import (
	"image/color"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// OkabeIto is the colour-blind-safe palette of Okabe and Ito (2008), in the
// order methods are given colours: blue, vermillion, bluish green, reddish
// purple, orange, sky blue, black, yellow (yellow last: it is faint on
// white).
var OkabeIto = []color.NRGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x00, 0x00, 0x00, 0xff}, // black
	{0xF0, 0xE4, 0x42, 0xff}, // yellow
}

// extraColors follow OkabeIto's colours when a chart needs more: colours
// of Paul Tol's "muted" scheme, without those close to Okabe–Ito's, and
// brown.
var extraColors = []color.NRGBA{
	{0x88, 0x22, 0x55, 0xff}, // wine
	{0x11, 0x77, 0x33, 0xff}, // dark green
	{0x33, 0x22, 0x88, 0xff}, // indigo
	{0x99, 0x99, 0x33, 0xff}, // olive
	{0xAA, 0x44, 0x99, 0xff}, // purple
	{0x44, 0xAA, 0x99, 0xff}, // teal
	{0x66, 0x11, 0x00, 0xff}, // brown
}

// black is the colour of reference marks (target lines, the Goldilocks
// ring, medians, means, contours); no series gets it.
var black = color.NRGBA{A: 0xff}

// seriesColors are the colours given to series, in order: OkabeIto without
// black, then extraColors.
var seriesColors = func() []color.NRGBA {
	var out []color.NRGBA
	for _, c := range OkabeIto {
		if c != black {
			out = append(out, c)
		}
	}
	return append(out, extraColors...)
}()

// unknownColor is the colour of a method the palette does not know.
var unknownColor = color.NRGBA{0x77, 0x77, 0x77, 0xff}

// Palette maps a method name to its colour, so that a method has the same
// colour in every panel, legend and chart of a report, and no colour
// stands for two methods (up to 14 methods, the number of seriesColors;
// beyond, colours repeat).
type Palette map[string]color.NRGBA

// NewPalette gives the methods, in sorted order, the colours of OkabeIto
// (black left out: it marks references) and then further distinct
// colours, cycling after 14.
func NewPalette(methods []string) Palette {
	ms := append([]string(nil), methods...)
	sort.Strings(ms)
	p := make(Palette, len(ms))
	k := 0
	for _, m := range ms {
		if _, ok := p[m]; ok {
			continue
		}
		p[m] = seriesColors[k%len(seriesColors)]
		k++
	}
	return p
}

// Color returns the colour of method, or grey for an unknown method.
func (p Palette) Color(method string) color.NRGBA {
	if c, ok := p[method]; ok {
		return c
	}
	return unknownColor
}

// With returns p extended with a colour for each key it lacks, in order:
// keys name what a line that is not a method stands for
// ("thermostat:hidden", "pair:adam → lol"). Each new key takes the first
// series colour no entry has, so that in a report one colour means one
// thing; when they run out, colours repeat (cycling over them). p is not
// modified.
func (p Palette) With(keys ...string) Palette {
	out := make(Palette, len(p)+len(keys))
	used := make(map[color.NRGBA]bool, len(p)+len(keys))
	for k, c := range p {
		out[k] = c
		used[c] = true
	}
	next := 0
	for _, k := range keys {
		if _, ok := out[k]; ok {
			continue
		}
		c := seriesColors[next%len(seriesColors)]
		for i := 0; i < len(seriesColors) && used[c]; i++ {
			next++
			c = seriesColors[next%len(seriesColors)]
		}
		out[k] = c
		used[c] = true
		next++
	}
	return out
}

// translucent returns c with alpha a (0–255), for bands.
func translucent(c color.NRGBA, a uint8) color.NRGBA {
	c.A = a
	return c
}

// dashes are the dash patterns given to the lines of one colour, in order.
var dashes = [][]vg.Length{
	nil,
	{vg.Points(6), vg.Points(3)},
	{vg.Points(2), vg.Points(2)},
	{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)},
}

// dash returns the i-th dash pattern, cycling.
func dash(i int) []vg.Length { return dashes[i%len(dashes)] }

// sansFont is the font of every text in the charts.
var sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// Sizes of text, in points.
const (
	titleSize  = 12
	labelSize  = 10.5
	tickSize   = 9
	legendSize = 9
)

// newPlot returns a plot with a title, axis labels, a grid, sans-serif
// text and the legend at the top right inside the data area.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	setFont := func(s *font.Font, size float64) {
		*s = sansFont
		s.Size = vg.Points(size)
	}
	setFont(&p.Title.TextStyle.Font, titleSize)
	p.Title.Padding = vg.Points(6)
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		setFont(&ax.Label.TextStyle.Font, labelSize)
		setFont(&ax.Tick.Label.Font, tickSize)
		ax.Tick.Marker = niceTicks{}
	}
	setFont(&p.Legend.TextStyle.Font, legendSize)
	p.Legend.Top = true
	p.Legend.ThumbnailWidth = vg.Points(22)
	p.Legend.Padding = vg.Points(2)
	return p
}

// lineStyle returns a line style of colour c, width w points and the i-th
// dash pattern.
func lineStyle(c color.Color, w float64, i int) draw.LineStyle {
	return draw.LineStyle{Color: c, Width: vg.Points(w), Dashes: dash(i)}
}
