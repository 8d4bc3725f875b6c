package charts

import (
	"bytes"
	"fmt"
	"html"
	"image"
	"image/png"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// TestWrapText is a property test of title wrapping: every line fits the
// width unless it is a single character, and the lines joined give the
// text back up to the spaces dropped at the breaks.
func TestWrapText(t *testing.T) {
	sty := newPlot("", "", "").Title.TextStyle
	rng := rand.New(rand.NewPCG(3, 4))
	pieces := []string{"method=adlala", ",", " ", "schedule=linear(1>0@15000-end)", "(", "model", "average", "of", "4", "chains",
		strings.Repeat("x", 60), "τ", "α=0", "→"}
	for trial := 0; trial < 500; trial++ {
		var b strings.Builder
		for n := rng.IntN(30); n >= 0; n-- {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		txt := strings.TrimSpace(b.String())
		w := vg.Length(20 + rng.Float64()*400)
		got := wrapText(sty, txt, w)
		for _, line := range strings.Split(got, "\n") {
			if sty.Width(line) > w && len([]rune(line)) > 1 {
				t.Fatalf("wrapText(%q, %v): line %q is %v wide", txt, w, line, sty.Width(line))
			}
			if line != strings.TrimSpace(line) {
				t.Fatalf("wrapText(%q, %v): line %q has outer spaces", txt, w, line)
			}
		}
		squash := func(s string) string { return strings.NewReplacer(" ", "", "\n", "").Replace(s) }
		if squash(got) != squash(txt) {
			t.Fatalf("wrapText(%q, %v) = %q: text changed", txt, w, got)
		}
		if sty.Width(txt) <= w && got != txt {
			t.Fatalf("wrapText(%q, %v) = %q: a text that fits was changed", txt, w, got)
		}
	}
}

// TestTitlesAndLegendsFit renders every chart of a run with long group
// names and checks, on the layout the image was drawn with, that every
// panel title and legend text fits its tile or column, and, on the PNG
// itself, that nothing was drawn into the outer margin (a title or
// legend text running off the figure would be cut off there), and, in the
// SVG, that every horizontal text lies within the image.
func TestTitlesAndLegendsFit(t *testing.T) {
	dir := t.TempDir()
	writeSynthRun(t, dir, longConfig())
	run, sum := mustLoad(t, dir)
	pts := []InterpPoint{{Alpha: 0, Train: 0.4, Test: 0.5}, {Alpha: 0.5, Train: 0.9, Test: 1.0}, {Alpha: 1, Train: 0.3, Test: 0.35}}
	figs, _, err := Figures(run, sum, Extra{Between: []BetweenCurve{{Label: "adam → adlala", Points: pts}}})
	if err != nil {
		t.Fatal(err)
	}
	wrapped := 0
	for _, nf := range figs {
		f := nf.Figure
		b, err := f.PNG()
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		// The layout, as Draw computed it for the PNG.
		dc := draw.New(vgimg.NewWith(vgimg.UseWH(f.Width, f.Height), vgimg.UseDPI(DPI)))
		legend, _, panels := f.regions(dc)
		canvases := f.alignPanels(panels)
		for j, row := range f.Panels {
			for i, p := range row {
				if p == nil {
					continue
				}
				w := canvases[j][i].Max.X - canvases[j][i].Min.X
				for _, line := range strings.Split(p.Title.Text, "\n") {
					if p.Title.TextStyle.Width(line) > w {
						t.Errorf("%s: title line %q is %v wide, its panel %v", nf.Name, line, p.Title.TextStyle.Width(line), w)
					}
				}
				if strings.Contains(p.Title.Text, "\n") {
					wrapped++
				}
			}
		}
		cols, _, texts, _ := f.legendLayout(f.Width)
		l := newLegend()
		colW := (legend.Max.X - legend.Min.X) / vg.Length(max(cols, 1))
		for _, txt := range texts {
			if need := l.ThumbnailWidth + l.TextStyle.Width(" "+txt); need > colW {
				t.Errorf("%s: legend text %.40q… needs %v, its column %v", nf.Name, txt, need, colW)
			}
		}
		if px := blankMargin(img, int(float64(margin)/vg.Inch.Points()*DPI*0.75)); px != "" {
			t.Errorf("%s.png: %s", nf.Name, px)
		}
		// The SVG: every horizontal text lies within the image's width.
		svg, err := f.SVG()
		if err != nil {
			t.Fatal(err)
		}
		// Rotated texts (the y axis labels) are left out.
		svgTexts := svgTextRE.FindAllStringSubmatch(svgRotatedRE.ReplaceAllString(string(svg), ""), -1)
		if len(svgTexts) == 0 {
			t.Fatalf("%s.svg: no text found", nf.Name)
		}
		for _, m := range svgTexts {
			x, _ := strconv.ParseFloat(m[1], 64)
			size, _ := strconv.ParseFloat(m[2], 64)
			sty := newLegend().TextStyle
			sty.Font.Size = vg.Length(size)
			w := float64(sty.Width(html.UnescapeString(m[3])))
			if x < 0 || x+w > f.Width.Points()+0.5 {
				t.Errorf("%s.svg: text %.40q spans [%.1f, %.1f] pt, the image [0, %.1f]", nf.Name, m[3], x, x+w, f.Width.Points())
			}
		}
	}
	if wrapped == 0 {
		t.Errorf("no title was wrapped: the long names did not test the wrapping")
	}
}

// svgTextRE matches a text element of vgsvg's output: x, font size and
// content.
var svgTextRE = regexp.MustCompile(`(?s)<text x="([-0-9.e]+)"[^>]*?font-size:([0-9.]+)px">([^<]*)</text>`)

// svgRotatedRE matches a rotated group of vgsvg's output.
var svgRotatedRE = regexp.MustCompile(`(?s)<g transform="rotate\([^"]*\)">.*?</g>`)

// blankMargin checks that the outer band of m pixels of img is white and
// describes the first pixel that is not ("" when all are).
func blankMargin(img image.Image, m int) string {
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if x >= r.Min.X+m && x < r.Max.X-m && y >= r.Min.Y+m && y < r.Max.Y-m {
				continue
			}
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if cr < 0xf000 || cg < 0xf000 || cb < 0xf000 {
				return fmt.Sprintf("pixel (%d, %d) of the %d-pixel margin is drawn on", x, y, m)
			}
		}
	}
	return ""
}
