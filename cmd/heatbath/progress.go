package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/heatbath/heatbath/coordinator"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

// sweepProgress shows a sweep's progress: on a terminal one bar per group
// (steps of all its replicas) and a bar of finished replicas; otherwise a
// log line every 10 seconds.
type sweepProgress struct {
	mu      sync.Mutex
	log     hclog.Logger
	tty     bool
	p       *mpb.Progress
	bars    map[string]*mpb.Bar
	overall *mpb.Bar
	last    time.Time
	final   bool // the line for the finished sweep was printed
}

func newSweepProgress(log hclog.Logger, quiet bool) *sweepProgress {
	sp := &sweepProgress{log: log, bars: map[string]*mpb.Bar{}}
	if quiet {
		return sp
	}
	sp.tty = isTerminal(os.Stderr)
	if sp.tty {
		sp.p = mpb.New(mpb.WithOutput(os.Stderr), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))
	}
	return sp
}

func (sp *sweepProgress) update(s coordinator.Snapshot) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	finished := s.Counts[protocol.StateDone] + s.Counts[protocol.StateFailed] + s.Counts[protocol.StateCancelled]
	type agg struct{ done, total int64 }
	groups := map[string]*agg{}
	var all agg
	for id, total := range s.StepsTotal {
		g := s.Groups[id]
		if groups[g] == nil {
			groups[g] = &agg{}
		}
		st := min(s.Steps[id], total)
		groups[g].done += st
		groups[g].total += total
		all.done += st
		all.total += total
	}
	if sp.p != nil {
		names := make([]string, 0, len(groups))
		for g := range groups {
			names = append(names, g)
		}
		sort.Strings(names)
		for _, g := range names {
			b := sp.bars[g]
			if b == nil {
				label := g
				if len(label) > 48 {
					label = label[:45] + "..."
				}
				b = sp.p.AddBar(groups[g].total, mpb.PrependDecorators(decor.Name(fmt.Sprintf("%-48s", label))),
					mpb.AppendDecorators(decor.Percentage(decor.WC{W: 5})))
				sp.bars[g] = b
			}
			b.SetCurrent(groups[g].done)
		}
		if sp.overall == nil {
			sp.overall = sp.p.AddBar(int64(s.Total), mpb.PrependDecorators(decor.Name(fmt.Sprintf("%-48s", "replicas finished"))),
				mpb.AppendDecorators(decor.CountersNoUnit("%d/%d", decor.WC{W: 9}), decor.Name(" "), decor.Elapsed(decor.ET_STYLE_GO)))
		}
		sp.overall.SetCurrent(int64(finished))
		return
	}
	if sp.tty || sp.final || time.Since(sp.last) < 10*time.Second && finished < s.Total {
		return
	}
	sp.last, sp.final = time.Now(), finished == s.Total
	pct := 0.0
	if all.total > 0 {
		pct = 100 * float64(all.done) / float64(all.total)
	}
	if sp.log != nil {
		sp.log.Info("sweep progress", "sweep", s.Sweep, "finished", fmt.Sprintf("%d/%d", finished, s.Total),
			"running", s.Counts[protocol.StateRunning], "failed", s.Counts[protocol.StateFailed], "steps", fmt.Sprintf("%.1f%%", pct))
	}
}

func (sp *sweepProgress) close() {
	if sp.p == nil {
		return
	}
	for _, b := range sp.bars {
		b.SetTotal(-1, true)
	}
	if sp.overall != nil {
		sp.overall.SetTotal(-1, true)
	}
	sp.p.Wait()
}

// maxFailureLines is how many failed replicas the end of a sweep lists
// one by one; `heatbath report` lists them all.
const maxFailureLines = 10

// finishSweep ends run, submit and resume once the sweep is collected into
// out: the report (if report is set), the failed replicas, and the last
// line counting every replica by status (printSummary). It returns the
// report's error, else a *replicasFailedError when some replica failed.
func finishSweep(w io.Writer, sum *rundir.Summary, out string, report bool) error {
	var rerr error
	if report {
		if err := writeReport(out, w); err != nil {
			rerr = fmt.Errorf("the sweep finished, but its report failed: %w", err)
		}
	}
	printSummary(w, sum, out)
	if rerr != nil {
		return rerr
	}
	if n := sum.Failed(); n > 0 {
		return &replicasFailedError{sweep: sum.Sweep, failed: n}
	}
	return nil
}

// printSummary prints a line for each failed replica (the first
// maxFailureLines), then the line that counts the sweep's replicas by
// status, e.g.
//
//	sweep quick-c4d87fe9: 18 done, 1 diverged, 1 failed, 0 cancelled (run dir runs/quick)
//
// Done, diverged, failed and cancelled are always shown, other statuses
// (none is expected of a collected sweep) after them.
func printSummary(w io.Writer, sum *rundir.Summary, dir string) {
	shown := 0
	for _, r := range sum.Replicas {
		if r.Status != rundir.StatusFailed {
			continue
		}
		if shown == maxFailureLines {
			fmt.Fprintf(w, "... and %d more failed replicas: heatbath report %s lists them all\n", sum.Failed()-shown, dir)
			break
		}
		shown++
		code := r.ErrorCode
		if code == "" {
			code = "error"
		}
		msg := r.Error
		if msg == "" {
			msg = "(no message)"
		}
		after := ""
		switch {
		case r.Attempts == 1:
			after = " after 1 attempt"
		case r.Attempts > 1:
			after = fmt.Sprintf(" after %d attempts", r.Attempts)
		}
		fmt.Fprintf(w, "replica %s failed%s: %s: %s\n", r.ID, after, code, oneLine(msg))
	}
	fmt.Fprintf(w, "sweep %s: %s (run dir %s)\n", sum.Sweep, countLine(sum), dir)
}

// countLine counts a summary's replicas by status: "18 done, 1 diverged,
// 1 failed, 0 cancelled".
func countLine(sum *rundir.Summary) string {
	fixed := []string{rundir.StatusDone, rundir.StatusDiverged, rundir.StatusFailed, rundir.StatusCancelled}
	var parts []string
	for _, k := range fixed {
		parts = append(parts, fmt.Sprintf("%d %s", sum.Counts[k], k))
	}
	var other []string
	for k, n := range sum.Counts {
		if !slices.Contains(fixed, k) && n > 0 {
			other = append(other, fmt.Sprintf("%d %s", n, k))
		}
	}
	sort.Strings(other)
	return strings.Join(append(parts, other...), ", ")
}

// oneLine joins the lines of s with "; " (an error message must not break
// the one-line-per-replica listing).
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}
