package liveview

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/protocol"
)

// benchProbeJS reports, after each view is drawn, the page's clock, the
// time since navigation began and the done count.
const benchProbeJS = `"use strict";
window.addEventListener("liveview", function () {
  fetch("probe", {method: "POST", body: JSON.stringify({
    done: +document.getElementById("count-done").textContent,
    running: +document.getElementById("count-running").textContent,
    now: Date.now(), since_nav: performance.now()
  })});
});
`

// bigSweep is a sweep of groups groups (half adam at distinct step sizes,
// half adlala at distinct temperatures) of seeds replicas each.
func bigSweep(groups, seeds int, steps int64) *coordinator.Sweep {
	s := &coordinator.Sweep{ID: "big", Name: "bench", SpecHash: "h1", Created: t0}
	i := 0
	for g := range groups {
		set := map[string]string{"method": "adam", "lr": strconv.Itoa(g)}
		name := "method=adam,lr=" + strconv.Itoa(g)
		if g%2 == 1 {
			tau := fmt.Sprintf("%g", 1e-5*float64(g))
			set = map[string]string{"method": "adlala", "tau": tau}
			name = "method=adlala,tau=" + tau
		}
		for seed := 1; seed <= seeds; seed++ {
			rs := map[string]string{"seed": strconv.Itoa(seed)}
			for k, v := range set {
				rs[k] = v
			}
			s.Replicas = append(s.Replicas, coordinator.Replica{ID: fmt.Sprintf("r%d", i), Index: i, Group: name,
				Settings: rs, Seed: uint64(seed), Config: protocol.ReplicaConfig{Steps: steps}})
			i++
		}
	}
	return s
}

// BenchmarkPage1000 measures the live view of a sweep of 1,000 running
// replicas (100 groups of 10 seeds, 20 evaluations of 3 metrics each so
// far), followed through coordinator.Feed on a one-node JetStream server
// at the view's interval (uiInterval of cmd/heatbath, 500 ms), in headless
// Chromium: first-view-ms is the time the feed takes to read the records
// and the progress events' history (20,000 events) into the first view,
// load-ms the time from navigation to the first view drawn on a page opened
// after that (the page's own clock), update-ms the time from a replica's done record
// being written to the page showing it (feed interval, view, event
// stream, drawing; the median and the worst of updates updates),
// view-bytes the size of one view. Run with -benchtime 1x.
func BenchmarkPage1000(b *testing.B) {
	chromium(b)
	const updates = 8
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	co, js := testCoordinator(b, ctx)
	sw := bigSweep(100, 10, 10000)
	submitRunning(b, ctx, co, js, sw, 0)
	// 20 evaluations per replica, published asynchronously.
	for i, r := range sw.Replicas {
		subj, _ := protocol.EventSubject(sw.ID, r.ID, protocol.EventProgress)
		for s := int64(100); s <= 2000; s += 100 {
			p := &protocol.Progress{Sweep: sw.ID, Replica: r.ID, Attempt: 1, Worker: "w1", Step: s, Steps: r.Config.Steps,
				Metrics: map[string]float64{"train_loss": 1 / float64(s) * float64(1+i%7), "val_loss": 2 / float64(s), "val_acc": 1 - 1/float64(s)}}
			msg, err := protocol.Encode(p)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := js.PublishAsync(subj, msg); err != nil {
				b.Fatal(err)
			}
		}
		if i%100 == 99 || i == len(sw.Replicas)-1 {
			select {
			case <-js.PublishAsyncComplete():
			case <-ctx.Done():
				b.Fatal("progress events not acknowledged")
			}
		}
	}

	srv := NewServer(Options{})
	followed := time.Now()
	go func() { _ = srv.Follow(ctx, co, sw.ID, 500*time.Millisecond) }()
	page := &probedPage{inner: srv, reports: make(chan probe, 1)}
	bench := &benchPage{probedPage: page, reports: make(chan benchReport, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: bench, BaseContext: func(net.Listener) context.Context { return ctx }}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()
	// The first view (the feed read the records and the progress
	// events' history) before the page opens: load-ms is the page's.
	firstView := waitFirstView(b, ctx, "http://"+ln.Addr().String()+"/events")
	b.ResetTimer()
	startChromium(b, ctx, "http://"+ln.Addr().String()+"/")

	wait := func(ok func(benchReport) bool) benchReport {
		for {
			select {
			case r := <-bench.reports:
				if ok(r) {
					return r
				}
			case <-ctx.Done():
				b.Fatal("the page did not show it")
			}
		}
	}
	first := wait(func(r benchReport) bool { return r.Running == len(sw.Replicas) })
	var lat []float64
	for k := range updates {
		at := time.Now()
		setRecord(b, ctx, co, js, sw.ID, sw.Replicas[k].ID, protocol.ReplicaState{State: protocol.StateDone, Attempt: 1, Worker: "w1", Step: 10000, Steps: 10000})
		r := wait(func(r benchReport) bool { return r.Done == k+1 })
		lat = append(lat, float64(r.Now-at.UnixMilli()))
	}
	b.StopTimer()
	slices.Sort(lat)
	size := len(srv.latestView())
	b.ReportMetric(float64(firstView.Sub(followed).Milliseconds()), "first-view-ms")
	b.ReportMetric(first.SinceNav, "load-ms")
	b.ReportMetric(lat[len(lat)/2], "update-median-ms")
	b.ReportMetric(lat[len(lat)-1], "update-max-ms")
	b.ReportMetric(float64(size), "view-bytes")
	b.Logf("first view %d ms after the feed started; load %.0f ms; update latencies (ms) %v; view %d bytes",
		firstView.Sub(followed).Milliseconds(), first.SinceNav, lat, size)
}

type benchReport struct {
	Done     int     `json:"done"`
	Running  int     `json:"running"`
	Now      int64   `json:"now"`
	SinceNav float64 `json:"since_nav"`
}

// benchPage serves the page with benchProbeJS.
type benchPage struct {
	*probedPage
	reports chan benchReport
}

func (p *benchPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/probe.js":
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte(benchProbeJS))
	case "/probe":
		var br benchReport
		if err := jsonDecode(r, &br); err == nil {
			select {
			case <-p.reports:
			default:
			}
			p.reports <- br
		}
	default:
		p.probedPage.ServeHTTP(w, r)
	}
}

// waitFirstView reads the event stream at url until its first view and
// returns when that came.
func waitFirstView(b *testing.B, ctx context.Context, url string) time.Time {
	b.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			b.Fatalf("event stream: %v", err)
		}
		if strings.HasPrefix(line, "data: ") {
			return time.Now()
		}
	}
}
