package liveview

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/internal/testcluster"
	"github.com/heatbath/heatbath/protocol"
)

// chromium returns the path of a Chromium binary, or skips the test (fails
// it when the environment variable CI is "true": CI installs chromium).
func chromium(t testing.TB) string {
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

// startChromium opens url in headless Chromium, offline (every host name
// resolves to nothing, no background networking), until the test ends.
func startChromium(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	bin := chromium(t)
	ctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--user-data-dir="+t.TempDir(),
		"--remote-debugging-port=0", url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("chromium's stderr:\n%.3000s", stderr.String())
		}
	})
}

// probeJS runs in the page beside app.js: after each view is drawn it
// posts what the page shows and every resource the page requested.
const probeJS = `"use strict";
window.addEventListener("liveview", function () {
  var rows = document.querySelectorAll("#rows tr[data-state]"), states = {};
  rows.forEach(function (r) { states[r.id.slice(2)] = r.getAttribute("data-state"); });
  var drawn = 0;
  document.querySelectorAll("#curves svg.chart path").forEach(function (p) { if (p.getAttribute("d")) drawn++; });
  var panels = [];
  document.querySelectorAll("#curves svg.chart").forEach(function (c) {
    var lines = [];
    c.querySelectorAll("path title").forEach(function (t) { lines.push(t.textContent); });
    panels.push({method: c.getAttribute("data-method"), metric: c.getAttribute("data-metric"), lines: lines});
  });
  var legends = [];
  document.querySelectorAll("#curves .legend").forEach(function (l) { legends.push(l.textContent); });
  fetch("probe", {method: "POST", body: JSON.stringify({
    done: +document.getElementById("count-done").textContent,
    running: +document.getElementById("count-running").textContent,
    states: states, paths: drawn, panels: panels, legends: legends,
    ladder: !document.getElementById("ladder-section").hidden,
    links: document.querySelectorAll("#rows a").length,
    resources: performance.getEntriesByType("resource").map(function (e) { return e.name; })
  })});
});
`

// probe is one report of probeJS.
type probe struct {
	Done      int               `json:"done"`
	Running   int               `json:"running"`
	States    map[string]string `json:"states"`
	Paths     int               `json:"paths"`
	Panels    []panel           `json:"panels"`
	Legends   []string          `json:"legends"`
	Ladder    bool              `json:"ladder"`
	Links     int               `json:"links"`
	Resources []string          `json:"resources"`
}

// panel is a learning-curve chart of the page: its method and metric and
// its lines' titles (the groups' names).
type panel struct {
	Method string   `json:"method"`
	Metric string   `json:"metric"`
	Lines  []string `json:"lines"`
}

// probedPage wraps the live view's handler for the browser: the page gets
// the probe script, the probe's reports go to a channel, and every request
// is recorded.
type probedPage struct {
	inner    http.Handler
	reports  chan probe
	mu       sync.Mutex
	requests []string
}

func (p *probedPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.requests = append(p.requests, r.Host+" "+r.Method+" "+r.URL.Path)
	p.mu.Unlock()
	switch r.URL.Path {
	case "/probe.js":
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = io.WriteString(w, probeJS)
	case "/probe":
		var pr probe
		if err := json.NewDecoder(r.Body).Decode(&pr); err == nil {
			select {
			case p.reports <- pr:
			default: // the test wants the latest only
				select {
				case <-p.reports:
				default:
				}
				p.reports <- pr
			}
		}
	case "/":
		rec := httptest.NewRecorder()
		p.inner.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		page := strings.Replace(rec.Body.String(), "</head>", `<script src="probe.js" defer></script></head>`, 1)
		_, _ = io.WriteString(w, page)
	default:
		p.inner.ServeHTTP(w, r)
	}
}

// TestPageInChromium follows a sweep on a real JetStream server through
// coordinator.Feed: headless Chromium, offline, loads the page, which shows
// the running replicas and their learning curves and ladder, and, when a
// replica's record says done, updates without a reload: the replica's row
// and the counts change. The page requested nothing but its own assets,
// stream and probe, all from the server it came from.
func TestPageInChromium(t *testing.T) {
	chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	co, js := testCoordinator(t, ctx)
	sw := testSweep(2, 400)
	submitRunning(t, ctx, co, js, sw, 200)

	run := t.TempDir()
	srv := NewServer(Options{RunDir: run})
	go func() { _ = srv.Follow(ctx, co, sw.ID, 50*time.Millisecond) }()
	page := &probedPage{inner: srv, reports: make(chan probe, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: page, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	origin := "http://" + ln.Addr().String()
	startChromium(t, ctx, origin+"/")

	wait := func(what string, ok func(probe) bool) probe {
		t.Helper()
		for {
			select {
			case pr := <-page.reports:
				if ok(pr) {
					return pr
				}
			case <-ctx.Done():
				t.Fatalf("the page never showed %s", what)
			}
		}
	}
	n := len(sw.Replicas)
	pr := wait("the running sweep", func(p probe) bool { return p.Running == n && p.Paths > 0 })
	if pr.Done != 0 || len(pr.States) != n || pr.States["r0"] != "running" || !pr.Ladder || pr.Links != 0 {
		t.Errorf("running sweep: %+v", pr)
	}
	// The curves are grouped per method: a panel per method and metric
	// with that method's groups only, and a legend of adlala's settings.
	want := []panel{
		{"adam", "train_loss", []string{"method=adam"}},
		{"adam", "val_loss", []string{"method=adam"}},
		{"adlala", "train_loss", []string{"method=adlala,tau=0.0001", "method=adlala,tau=0.001"}},
		{"adlala", "val_loss", []string{"method=adlala,tau=0.0001", "method=adlala,tau=0.001"}},
	}
	if !reflect.DeepEqual(pr.Panels, want) {
		t.Errorf("curve panels: %+v, want %+v", pr.Panels, want)
	}
	if len(pr.Legends) != 1 || !strings.Contains(pr.Legends[0], "tau=0.0001") || !strings.Contains(pr.Legends[0], "tau=0.001") ||
		strings.Contains(pr.Legends[0], "method=") {
		t.Errorf("legends: %q, want adlala's temperatures", pr.Legends)
	}

	setRecord(t, ctx, co, js, sw.ID, "r0", protocol.ReplicaState{State: protocol.StateDone, Attempt: 1, Worker: "w1", Step: 400, Steps: 400})
	pr = wait("the finished replica", func(p probe) bool { return p.Done == 1 })
	if pr.Running != n-1 || pr.States["r0"] != "done" || pr.States["r1"] != "running" || pr.Links != 3 {
		t.Errorf("after r0 finished: %+v", pr)
	}
	for _, r := range pr.Resources {
		if !strings.HasPrefix(r, origin+"/") {
			t.Errorf("the page requested %s", r)
		}
	}
	page.mu.Lock()
	defer page.mu.Unlock()
	allowed := map[string]bool{"/": true, "/app.js": true, "/style.css": true, "/events": true, "/probe.js": true, "/probe": true, "/favicon.ico": true}
	for _, r := range page.requests {
		host, rest, _ := strings.Cut(r, " ")
		_, path, _ := strings.Cut(rest, " ")
		if host != ln.Addr().String() || !allowed[path] {
			t.Errorf("request %s", r)
		}
	}
	t.Logf("%d requests, %d resources", len(page.requests), len(pr.Resources))
}

// testCoordinator starts a one-node JetStream server and a coordinator on
// it.
func testCoordinator(t testing.TB, ctx context.Context) (*coordinator.Coordinator, jetstream.JetStream) {
	t.Helper()
	nc := testcluster.Start(t, 1).ConnectTo(0)
	co, err := coordinator.New(nc, coordinator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := co.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return co, js
}

// submitRunning submits sw, takes its tasks away (no worker runs here) and
// plays a worker on each replica: a running record and progress events
// with a train_loss at every 100 steps up to step.
func submitRunning(t testing.TB, ctx context.Context, co *coordinator.Coordinator, js jetstream.JetStream, sw *coordinator.Sweep, step int64) {
	t.Helper()
	sw.Spec = "name: live\n"
	if _, err := co.Submit(ctx, sw); err != nil {
		t.Fatal(err)
	}
	tasks, err := js.Stream(ctx, protocol.StreamTasks)
	if err != nil {
		t.Fatal(err)
	}
	if err := tasks.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	for i, r := range sw.Replicas {
		setRecord(t, ctx, co, js, sw.ID, r.ID, protocol.ReplicaState{State: protocol.StateRunning, Attempt: 1, Worker: "w1", Steps: r.Config.Steps})
		subj, _ := protocol.EventSubject(sw.ID, r.ID, protocol.EventProgress)
		for s := int64(100); s <= step; s += 100 {
			p := &protocol.Progress{Sweep: sw.ID, Replica: r.ID, Attempt: 1, Worker: "w1", Step: s, Steps: r.Config.Steps,
				Metrics: map[string]float64{"train_loss": 1 / float64(s) * float64(1+i%3), "val_loss": 2 / float64(s)}}
			b, err := protocol.Encode(p)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := js.Publish(ctx, subj, b); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// setRecord writes replica id's record.
func setRecord(t testing.TB, ctx context.Context, co *coordinator.Coordinator, js jetstream.JetStream, sweep, id string, st protocol.ReplicaState) {
	t.Helper()
	kv, err := js.KeyValue(ctx, protocol.BucketReplicas)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := protocol.ReplicaKey(sweep, id)
	st.Updated = time.Now()
	b, err := protocol.Encode(&st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, key, b); err != nil {
		t.Fatal(err)
	}
}

func jsonDecode(r *http.Request, v any) error { return json.NewDecoder(r.Body).Decode(v) }
