package spec

import (
	"strings"

	"github.com/heatbath/heatbath/internal/suggest"
	"github.com/heatbath/heatbath/protocol"
)

// PruneSpec is asynchronous successive halving (ASHA) over the sweep's
// replicas: at each milestone At (fractions of the steps), a replica whose
// Metric ranks below the best Keep fraction of the replicas of its cohort
// (Among: group, method or all) that reached that milestone before it is
// stopped and recorded pruned. It needs a following coordinator (run,
// submit without -d, resume); with none, replicas run to the end.
type PruneSpec struct {
	// Metric is val_loss (default), val_acc or train_loss.
	Metric string `yaml:"metric"`
	// At lists the milestones: increasing fractions in (0, 1).
	At []float64 `yaml:"at"`
	// Keep is the fraction that goes on at each milestone, in (0, 1)
	// (default 0.5).
	Keep float64 `yaml:"keep"`
	// Among is the cohort: group (default), method or all.
	Among string `yaml:"among"`
}

// Config returns the protocol form of p with its defaults filled in, nil
// for nil.
func (p *PruneSpec) Config() *protocol.PruneConfig {
	if p == nil {
		return nil
	}
	c := &protocol.PruneConfig{Metric: p.Metric, At: append([]float64(nil), p.At...), Keep: p.Keep, Among: p.Among}
	if c.Metric == "" {
		c.Metric = "val_loss"
	}
	if c.Keep == 0 {
		c.Keep = 0.5
	}
	if c.Among == "" {
		c.Among = "group"
	}
	return c
}

// checkPrune validates the prune section.
func (f *File) checkPrune() error {
	p := f.Spec.Prune
	if p == nil {
		return nil
	}
	c := p.Config()
	err := c.Check()
	if err == nil {
		if strings.HasPrefix(c.Metric, "val_") && f.Spec.Data.Validation == 0 {
			// Every value would be NaN (an empty split): all tie and
			// nothing is ever pruned.
			field, given := "prune.metric", c.Metric
			if p.Metric == "" {
				field, given = "prune", c.Metric+" (the default metric)"
			}
			return f.errorf(field, "%s needs a validation split, and data.validation is 0: give data.validation points, or metric: train_loss", given)
		}
		return nil
	}
	field, msg, _ := strings.Cut(err.Error(), ": ")
	switch field {
	case "metric":
		msg = suggest.Unknown(c.Metric, protocol.PruneMetrics)
	case "among":
		msg = suggest.Unknown(c.Among, protocol.PruneAmong)
	}
	return f.errorf("prune."+field, "%s", msg)
}
