package charts

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// chromium returns the path of a Chromium binary, or skips the test (fails
// it when the environment variable CI is "true": CI installs chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "chromium not installed (Debian: apt-get install chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg) // CI installs chromium: a missing one must not hide the test
	}
	t.Skip(msg)
	return ""
}

// runChromium runs headless Chromium offline (every host name resolves to
// nothing, no background networking) with the extra arguments and returns
// its standard output.
func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// probeScript runs after the page has loaded and writes into the DOM how
// many images there are, which did not decode, and every resource the page
// requested (the Resource Timing entries).
const probeScript = `<script>
window.addEventListener("load", function () {
  var imgs = document.images, broken = [];
  for (var i = 0; i < imgs.length; i++) {
    if (!imgs[i].complete || imgs[i].naturalWidth === 0) broken.push(imgs[i].alt);
  }
  var res = performance.getEntriesByType("resource").map(function (e) { return e.name; });
  var d = document.createElement("pre");
  d.id = "probe";
  d.textContent = "PROBE-" + "BEGIN" + JSON.stringify({images: imgs.length, broken: broken, resources: res}) + "PROBE-" + "END";
  document.body.appendChild(d);
});
</script>`

// TestReportInChromium loads report.html in headless Chromium, offline:
// every image must decode and the page must request nothing. The report
// has no script, so the check runs on a copy with a probe script added
// (and script-src allowed in its Content-Security-Policy). It also takes a
// screenshot of the unmodified page; set HEATBATH_REPORT_SCREENSHOT to a
// path to keep it.
func TestReportInChromium(t *testing.T) {
	bin := chromium(t)
	between := []BetweenCurve{{Label: "adam → adlala", Points: []InterpPoint{{Alpha: 0, Train: 0.4, Test: 0.5}, {Alpha: 0.5, Train: 0.9, Test: 1.0}, {Alpha: 1, Train: 0.3, Test: 0.35}}}}
	_, outDir, page, _ := renderSynth(t, Extra{Between: between})

	const csp = `content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"`
	if !strings.Contains(page, csp) {
		t.Fatalf("report lacks its Content-Security-Policy %s", csp)
	}
	probe := strings.Replace(page, csp, `content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"`, 1)
	probe = strings.Replace(probe, "</body>", probeScript+"\n</body>", 1)
	probePath := filepath.Join(outDir, "probe.html")
	mustWriteFile(t, probePath, []byte(probe))

	dom := runChromium(t, bin, "--virtual-time-budget=10000", "--dump-dom", "file://"+probePath)
	m := regexp.MustCompile(`PROBE-BEGIN(.*)PROBE-END`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("probe did not run; DOM:\n%.2000s", dom)
	}
	var res struct {
		Images    int      `json:"images"`
		Broken    []string `json:"broken"`
		Resources []string `json:"resources"`
	}
	if err := json.Unmarshal(m[1], &res); err != nil {
		t.Fatalf("probe output %q: %v", m[1], err)
	}
	if res.Images != 8 || len(res.Broken) != 0 {
		t.Errorf("%d images, broken: %v", res.Images, res.Broken)
	}
	for _, r := range res.Resources {
		if !strings.HasPrefix(r, "data:") {
			t.Errorf("the page requested %s", r)
		}
	}
	t.Logf("chromium: %d images decoded, %d requests", res.Images, len(res.Resources))

	// Negative control: the probe does see broken images and requests.
	bad := `<!DOCTYPE html><html><body><img alt="bad" src="data:image/png;base64,AAAA"><img alt="remote" src="http://example.invalid/a.png">` +
		probeScript + `</body></html>`
	badPath := filepath.Join(t.TempDir(), "bad.html")
	mustWriteFile(t, badPath, []byte(bad))
	m = regexp.MustCompile(`PROBE-BEGIN(.*)PROBE-END`).FindSubmatch(runChromium(t, bin, "--virtual-time-budget=10000", "--dump-dom", "file://"+badPath))
	if m == nil || !strings.Contains(string(m[1]), `"broken":["bad","remote"]`) || !strings.Contains(string(m[1]), "example.invalid") {
		t.Errorf("negative control: probe saw %q", m)
	}

	shot := filepath.Join(t.TempDir(), "report.png")
	if keep := os.Getenv("HEATBATH_REPORT_SCREENSHOT"); keep != "" {
		shot = keep
	}
	runChromium(t, bin, "--hide-scrollbars", "--window-size=1280,2400", "--screenshot="+shot, "file://"+filepath.Join(outDir, ReportFile))
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width != 1280 || cfg.Height != 2400 {
		t.Errorf("screenshot %dx%d: %v", cfg.Width, cfg.Height, err)
	}
}
