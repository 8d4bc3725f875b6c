package ensemble

import (
	"sort"
	"strconv"
	"strings"
)

// ReplicaProblem is a replica that did not end done: failed, cancelled,
// diverged, unreadable (skipped), or pruned (stopped at a milestone by
// successive halving: Steps is the step it was cut at, Message the
// decision). Summary.Problems lists every one, so
// a report can say why each replica is missing from the statistics.
type ReplicaProblem struct {
	ID     string `json:"id"`
	Group  string `json:"group"`
	Seed   uint64 `json:"seed"`
	Status Status `json:"status"`
	// Code is the error code of a failed or cancelled replica
	// (failure.json "code", or the coordinator's summary.json
	// "error_code").
	Code string `json:"code,omitempty"`
	// Message is why: the failure's message, the divergence's reason
	// (result.json "error"), or the damage of an unreadable file.
	Message string `json:"message,omitempty"`
	// File is the damaged file of an unreadable replica, relative to the
	// run directory (with ":line" for CSV).
	File string `json:"file,omitempty"`
	// Attempts and Worker are failure.json's.
	Attempts int    `json:"attempts,omitempty"`
	Worker   string `json:"worker,omitempty"`
	// DivergedAt is the step at which a diverged chain went non-finite.
	DivergedAt int64 `json:"diverged_at,omitempty"`
	// Steps is the number of steps a diverged chain ran, or the step a
	// failed one had reached (0 when unknown).
	Steps int64 `json:"steps,omitempty"`
}

// problemRank orders Summary.Problems: failures first, then cancelled,
// diverged, unreadable and pruned replicas.
var problemRank = map[Status]int{StatusFailed: 0, StatusCancelled: 1, StatusDiverged: 2, StatusUnreadable: 3, StatusPruned: 4}

// problemsOf lists the replicas of run that are failed, cancelled,
// diverged, unreadable or pruned, by status (problemRank) and ID. A
// pruned replica's step is where it was cut (its decision in prune.json,
// when the run directory has one).
func problemsOf(run *Run) []ReplicaProblem {
	out := []ReplicaProblem{}
	for _, r := range run.Replicas {
		if _, ok := problemRank[r.Status]; !ok {
			continue
		}
		out = append(out, ReplicaProblem{
			ID: r.ID, Group: r.Group, Seed: r.Seed, Status: r.Status, Code: r.ErrorCode, Message: r.Error,
			File: r.File, Attempts: r.Attempts, Worker: r.Worker, DivergedAt: r.DivergedAt, Steps: r.Steps,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := problemRank[out[i].Status], problemRank[out[j].Status]; ri != rj {
			return ri < rj
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// ProblemCells returns the cells of a problem's row in the report's
// tables: status, error code, step (the step a diverged chain diverged
// at, or a failed one had reached), attempts, worker, and the reason
// (for an unreadable replica, "file: reason").
func ProblemCells(p ReplicaProblem) []string {
	step := ""
	switch {
	case p.Status == StatusDiverged && p.DivergedAt > 0:
		step = "diverged at " + strconv.FormatInt(p.DivergedAt, 10)
	case p.Status == StatusDiverged:
		step = "diverged"
	case p.Steps > 0:
		step = strconv.FormatInt(p.Steps, 10)
	}
	attempts := ""
	if p.Attempts > 0 {
		attempts = strconv.Itoa(p.Attempts)
	}
	reason := p.Message
	if p.File != "" {
		reason = p.File + ": " + reason
	}
	reason = strings.Join(strings.Fields(reason), " ") // one line in a table cell
	return []string{string(p.Status), p.Code, step, attempts, p.Worker, reason}
}

// writeProblems writes summary.md's list of failed, cancelled, diverged
// and unreadable replicas.
func writeProblems(m *mdWriter, s *Summary) {
	if len(s.Problems) == 0 {
		return
	}
	m.printf("## Failed, cancelled, diverged and unreadable replicas\n\n")
	m.printf("These replicas are counted in the status table and left out of every statistic. Failed and cancelled replicas have no result (failure.json gives the code and message); a diverged chain is a result whose loss went non-finite at the step shown; an unreadable replica has a damaged file and was skipped.\n\n")
	m.header("replica", "group", "status", "code", "step", "attempts", "worker", "reason")
	for _, p := range s.Problems {
		m.row(append([]string{p.ID, p.Group}, ProblemCells(p)...)...)
	}
	m.printf("\n")
}
