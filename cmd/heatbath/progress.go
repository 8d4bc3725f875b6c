package main

import (
	"context"
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
	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
)

// sweepProgress shows a sweep's progress, read from the coordinator's live
// feed (the same one `heatbath status` reads): on a terminal one bar per
// group (steps of all its replicas, with the group's ETA) and a bar of
// finished replicas with the sweep's steps/s and ETA; otherwise a log line
// every 10 seconds.
type sweepProgress struct {
	mu      sync.Mutex
	log     hclog.Logger
	tty     bool
	p       *mpb.Progress
	bars    map[string]*mpb.Bar
	overall *mpb.Bar
	last    time.Time
	final   bool // the line for the finished sweep was printed

	// rmu guards rate, eta and groupETA, which the bars' decorators read
	// on the bars' goroutine (never under mu: update holds mu while it
	// waits for the bars).
	rmu      sync.Mutex
	rate     float64
	eta      *float64
	groupETA map[string]string

	// The feed: co follows sweep on a goroutine until stop; done is
	// closed when it has returned.
	ctx   context.Context
	co    *coordinator.Coordinator
	sweep string
	stop  context.CancelFunc
	done  chan struct{}
}

// followProgress shows the progress of a sweep from co's feed until close
// (nothing with quiet).
func followProgress(ctx context.Context, co *coordinator.Coordinator, sweep string, log hclog.Logger, quiet bool) *sweepProgress {
	sp := newSweepProgress(log, quiet)
	if quiet {
		return sp
	}
	sp.ctx, sp.co, sp.sweep, sp.done = ctx, co, sweep, make(chan struct{})
	fctx, stop := context.WithCancel(ctx)
	sp.stop = stop
	go func() {
		defer close(sp.done)
		err := co.Feed(fctx, sweep, progressInterval, func(s *coordinator.FeedSnapshot) bool {
			sp.update(s)
			return true
		})
		if err != nil && fctx.Err() == nil && log != nil {
			log.Warn("no progress display", "error", err)
		}
	}()
	return sp
}

// progressInterval is the time between the feed's snapshots for the bars.
const progressInterval = 500 * time.Millisecond

func newSweepProgress(log hclog.Logger, quiet bool) *sweepProgress {
	return newSweepProgressTo(os.Stderr, log, quiet)
}

// newSweepProgressTo shows progress on out: bars when it is a terminal
// with a size (terminalWidth), else log lines.
func newSweepProgressTo(out *os.File, log hclog.Logger, quiet bool) *sweepProgress {
	sp := &sweepProgress{log: log, bars: map[string]*mpb.Bar{}, groupETA: map[string]string{}}
	if quiet {
		return sp
	}
	sp.tty = terminalWidth(out) > 0
	if sp.tty {
		sp.p = mpb.New(mpb.WithOutput(out), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))
	}
	return sp
}

// rateETA is the text after the bar of finished replicas: the sweep's
// steps/s and ETA.
func (sp *sweepProgress) rateETA() string {
	sp.rmu.Lock()
	defer sp.rmu.Unlock()
	if sp.rate <= 0 {
		return ""
	}
	return fmt.Sprintf(" %s steps/s, ETA %s", rate(sp.rate), duration(sp.eta))
}

// groupAgg is one group's share of a snapshot: its replicas' steps, the
// steps left to its unfinished replicas, the summed rate of its running
// ones, and whether every replica of it is finished.
type groupAgg struct {
	done, total, remaining int64
	rate                   float64
	finished               bool
}

// groupsOf adds up the replicas of a snapshot by group.
func groupsOf(s *coordinator.FeedSnapshot) map[string]*groupAgg {
	groups := map[string]*groupAgg{}
	for _, r := range s.Replicas {
		g := groups[r.Group]
		if g == nil {
			g = &groupAgg{finished: true}
			groups[r.Group] = g
		}
		g.done += r.Step
		g.total += r.Steps
		if !r.State.Terminal() {
			g.finished = false
			g.remaining += r.Steps - r.Step
			if r.State == protocol.StateRunning {
				g.rate += r.StepsPerSecond
			}
		}
	}
	return groups
}

// eta is the text after a group's bar, as the sweep's ETA is reckoned (the
// steps left at the current rate) from the group's own replicas: "ETA
// 1m20s" at the summed rate of its running replicas, "done" when every
// replica is finished, "queued" while none runs.
func (g *groupAgg) eta() string {
	switch {
	case g.finished:
		return "done"
	case g.rate <= 0:
		return "queued"
	}
	left := float64(g.remaining) / g.rate
	return "ETA " + duration(&left)
}

// groupText is the text after the bar of group g.
func (sp *sweepProgress) groupText(g string) string {
	sp.rmu.Lock()
	defer sp.rmu.Unlock()
	return sp.groupETA[g]
}

func (sp *sweepProgress) update(s *coordinator.FeedSnapshot) {
	groups := groupsOf(s)
	sp.rmu.Lock()
	sp.rate, sp.eta = s.StepsPerSecond, s.ETASeconds
	for g, a := range groups {
		sp.groupETA[g] = " " + a.eta()
	}
	sp.rmu.Unlock()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	finished := s.Finished()
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
					mpb.AppendDecorators(decor.Percentage(decor.WC{W: 5}),
						decor.Any(func(decor.Statistics) string { return sp.groupText(g) })))
				sp.bars[g] = b
			}
			b.SetCurrent(groups[g].done)
		}
		if sp.overall == nil {
			sp.overall = sp.p.AddBar(int64(s.Total), mpb.PrependDecorators(decor.Name(fmt.Sprintf("%-48s", "replicas finished"))),
				mpb.AppendDecorators(decor.CountersNoUnit("%d/%d", decor.WC{W: 9}), decor.Name(" "), decor.Elapsed(decor.ET_STYLE_GO),
					decor.Any(func(decor.Statistics) string { return sp.rateETA() })))
		}
		sp.overall.SetCurrent(int64(finished))
		return
	}
	if sp.tty || sp.final || time.Since(sp.last) < 10*time.Second && finished < s.Total {
		return
	}
	sp.last, sp.final = time.Now(), finished == s.Total
	pct := 0.0
	if s.StepsTotal > 0 {
		pct = 100 * float64(s.StepsDone) / float64(s.StepsTotal)
	}
	if sp.log != nil {
		sp.log.Info("sweep progress", "sweep", s.Sweep, "finished", fmt.Sprintf("%d/%d", finished, s.Total),
			"running", s.Counts[protocol.StateRunning], "failed", s.Counts[protocol.StateFailed], "steps", fmt.Sprintf("%.1f%%", pct),
			"steps_per_s", rate(s.StepsPerSecond), "eta", duration(s.ETASeconds))
	}
}

// close stops the feed, shows the sweep's final state (unless the sweep's
// context ended: an interrupted run) and ends the bars.
func (sp *sweepProgress) close() {
	if sp.stop != nil {
		sp.stop()
		<-sp.done
		if sp.ctx.Err() == nil {
			ctx, cancel := context.WithTimeout(sp.ctx, 5*time.Second)
			if s, err := sp.co.SweepSnapshot(ctx, sp.sweep); err == nil {
				sp.update(s)
			}
			cancel()
		}
	}
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
		if err := writeReport(out, w, ensemble.Options{Curves: true}); err != nil {
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
