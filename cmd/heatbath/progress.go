package main

import (
	"fmt"
	"io"
	"os"
	"sort"
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

func printSummary(w io.Writer, sum *rundir.Summary, dir string) {
	fmt.Fprintf(w, "sweep %s: ", sum.Sweep)
	keys := make([]string, 0, len(sum.Counts))
	for k := range sum.Counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		fmt.Fprintf(w, "%d %s", sum.Counts[k], k)
	}
	fmt.Fprintf(w, "\nrun directory: %s\n", dir)
}
