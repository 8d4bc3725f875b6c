package fmacheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFindsFusionInAModule builds a throwaway module with one fusable
// expression, one written with an explicit conversion and one math.FMA:
// for every target exactly the fusable one is reported, which shows the
// check can fail (and that conversions and math.FMA pass).
func TestFindsFusionInAModule(t *testing.T) {
	dir := t.TempDir()
	src := `package p

import "math"

func Fused(x, y, z float64) float64 { return x*y + z }

func Rounded(x, y, z float64) float64 { return float64(x*y) + z }

func Explicit(x, y, z float64) float64 { return math.FMA(x, y, z) }
`
	for name, text := range map[string]string{"go.mod": "module example.com/p\n\ngo 1.26\n", "p.go": src} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, target := range Targets {
		listing, err := Listing(dir, ".", target)
		if err == errNoToolchain {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		got := Scan(listing, target.Fused, lineReader())
		if len(got) != 1 || got[0].Line != 5 || !strings.HasSuffix(got[0].File, "p.go") {
			t.Fatalf("%s: found %v, want one fusion at p.go:5", target.Name, got)
		}
		// Without the math.FMA exception the explicit call is found too.
		all := Scan(listing, target.Fused, func(string, int) string { return "" })
		if len(all) != 2 {
			t.Fatalf("%s: %d fused instructions without the math.FMA exception, want 2 (x*y + z and math.FMA): %v", target.Name, len(all), all)
		}
	}
}

func TestScanListing(t *testing.T) {
	listing := []byte("" +
		"\t0x0010 00016 (/m/a.go:7)\tVFMADD231SD\tX2, X1, X0\n" +
		"\t0x0014 00020 (/m/a.go:8)\tVFMADD231SD\tX2, X1, X0\n" +
		"\t0x0018 00024 (/m/a.go:9)\tADDSD\tX1, X0\n" +
		"\t0x001c 00028 (/m/b.go:3)\tFMADDD\tF0, F1, F2, F3\n")
	lines := func(file string, line int) string {
		if file == "/m/a.go" && line == 8 {
			return "\treturn math.FMA(x, y, z)"
		}
		return ""
	}
	got := Scan(listing, Targets[0].Fused, lines)
	if len(got) != 1 || got[0].File != "/m/a.go" || got[0].Line != 7 {
		t.Fatalf("amd64: got %v, want a.go:7 only", got)
	}
	got = Scan(listing, Targets[1].Fused, lines)
	if len(got) != 1 || got[0].File != "/m/b.go" || got[0].Line != 3 {
		t.Fatalf("arm64: got %v, want b.go:3 only", got)
	}
	if !regexp.MustCompile(`a\.go:7: VFMADD231SD`).MatchString(Scan(listing, Targets[0].Fused, lines)[0].String()) {
		t.Fatal("String does not name file, line and instruction")
	}
}
