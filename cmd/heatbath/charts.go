package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/heatbath/heatbath/charts"
	"github.com/heatbath/heatbath/ensemble"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/train"
)

// renderCharts draws the charts and report.html (package charts), with
// the loss along the line between the best solutions of each pair of
// methods (Goodfellow et al.), computed here since it needs the network.
func renderCharts(runDir, outDir string, run *ensemble.Run, sum *ensemble.Summary) error {
	spec, _ := os.ReadFile(filepath.Join(runDir, rundir.FileSpec))
	extra := charts.Extra{Spec: string(spec)}
	best := charts.BestReplicas(run, sum)
	for i := 0; i < len(best); i++ {
		for j := i + 1; j < len(best) && len(extra.Between) < 6; j++ {
			pts, err := between(best[i], best[j])
			if err != nil {
				// The line needs both replicas on the same data and network;
				// skip pairs that are not.
				continue
			}
			extra.Between = append(extra.Between, charts.BetweenCurve{
				Label: fmt.Sprintf("%s → %s", best[i].Settings["method"], best[j].Settings["method"]), Points: pts})
		}
	}
	return charts.Render(runDir, outDir, sum, run, extra)
}

// between evaluates the loss on θ(α) = (1−α)θ_a + αθ_b for the final
// parameters of two replicas that share data and architecture.
func between(a, b *ensemble.Replica) ([]charts.InterpPoint, error) {
	ma, err := rundir.ReadReplicaInfo(a.Dir)
	if err != nil {
		return nil, err
	}
	mb, err := rundir.ReadReplicaInfo(b.Dir)
	if err != nil {
		return nil, err
	}
	da, _ := json.Marshal(ma.Config.Data)
	db, _ := json.Marshal(mb.Config.Data)
	if string(da) != string(db) || ma.Config.DataSeed != mb.Config.DataSeed {
		return nil, fmt.Errorf("different data")
	}
	rep, err := train.Build(ma.Config)
	if err != nil {
		return nil, err
	}
	pa, err := rundir.ReadParams(a.Dir, rundir.FileParams)
	if err != nil {
		return nil, err
	}
	pb, err := rundir.ReadParams(b.Dir, rundir.FileParams)
	if err != nil {
		return nil, err
	}
	if len(pa.Theta) != len(pb.Theta) || len(pa.Theta) != rep.Model.NumParams() {
		return nil, fmt.Errorf("different networks")
	}
	var out []charts.InterpPoint
	for _, p := range rep.Interpolate(pa.Theta, pb.Theta) {
		out = append(out, charts.InterpPoint{Alpha: p[0], Train: p[1], Test: p[2]})
	}
	return out, nil
}
