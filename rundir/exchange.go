package rundir

import (
	"encoding/json"
	"fmt"
	"path/filepath"
)

// Files of an exchange set's replica directory (a replica whose config has
// an exchange ladder), besides the usual ones, which describe the coldest
// rung: trajectory.csv holds at each evaluation the metrics of the chain
// that sat at rung 0, and the parameter, prediction and grid files are
// those of the coldest rung (params.safetensors: the chain at rung 0 at the
// end, init_params.safetensors and interp.csv: that chain's initialization
// and the line from it; best_params.safetensors: the best rung-0
// evaluation; predictions.json and grid.json "averaged": the average over
// the last rung-0 evaluations, whichever chains sat there).
const (
	// FileExchange is exchange.json (ExchangeSummary): the ladder,
	// acceptance per adjacent pair and round trips per chain.
	FileExchange = "exchange.json"
	// FileExchangeChains is exchange_chains.csv: the trajectory of every
	// chain, in long form: the columns "chain" and "rung" (the rung the
	// chain sat at for the steps that led to the row), then the columns of
	// trajectory.csv; rows by chain, then step.
	FileExchangeChains = "exchange_chains.csv"
	// FileExchangePath is exchange_path.csv: which chain sat at which rung
	// from each step on: the columns "step", "rung0", …, "rung<K−1>" (chain
	// indices), a row at step 0 and after every swap round.
	FileExchangePath = "exchange_path.csv"
)

// ExchangeVersion is the version of exchange.json.
const ExchangeVersion = 1

// ExchangeSummary is exchange.json.
type ExchangeSummary struct {
	Version int `json:"version"`
	// Ladder holds the temperatures, coldest (rung 0) first.
	Ladder []float64 `json:"ladder"`
	// Every is the number of steps between swap rounds; Energy "full" or
	// "minibatch"; F the minibatch correction factor.
	Every  int64   `json:"every"`
	Energy string  `json:"energy"`
	F      float64 `json:"f"`
	// Rounds is the number of swap rounds done.
	Rounds int64 `json:"rounds"`
	// Pairs holds one entry per adjacent pair of rungs (k, k+1).
	Pairs []ExchangePair `json:"pairs"`
	// Chains holds one entry per chain.
	Chains []ExchangeChain `json:"chains"`
}

// ExchangePair is the swap record of rungs Rung and Rung+1.
type ExchangePair struct {
	Rung     int     `json:"rung"`
	TauLo    float64 `json:"tau_lo"`
	TauHi    float64 `json:"tau_hi"`
	Proposed int64   `json:"proposed"`
	Accepted int64   `json:"accepted"`
	// Rate is Accepted/Proposed (null before the first proposal).
	Rate *float64 `json:"rate"`
}

// ExchangeChain is the record of one chain of the set.
type ExchangeChain struct {
	Chain int    `json:"chain"`
	Seed  uint64 `json:"seed"`
	// Rung is the chain's rung at the end; RoundTrips the number of
	// completed coldest → hottest → coldest trips.
	Rung       int   `json:"rung"`
	RoundTrips int64 `json:"round_trips"`
	// Diverged reports whether the chain stopped on a non-finite loss or
	// state, and DivergedAt the step it did (sampler.DivergenceError.Step).
	Diverged   bool  `json:"diverged,omitempty"`
	DivergedAt int64 `json:"diverged_at,omitempty"`
}

// Encode returns the JSON of exchange.json.
func (s *ExchangeSummary) Encode() ([]byte, error) { return json.MarshalIndent(s, "", "  ") }

// ReadExchange reads exchange.json of a replica directory (ReadJSON: a
// *FileError, fs.ErrNotExist when there is none) and checks its version
// and that it has one pair per adjacent rungs of a ladder of at least 2.
func ReadExchange(dir string) (*ExchangeSummary, error) {
	path := filepath.Join(dir, FileExchange)
	var s ExchangeSummary
	if err := ReadJSON(path, &s); err != nil {
		return nil, err
	}
	if s.Version != ExchangeVersion {
		return nil, &FileError{path, fmt.Errorf("version %d, want %d", s.Version, ExchangeVersion)}
	}
	if len(s.Ladder) < 2 || len(s.Pairs) != len(s.Ladder)-1 {
		return nil, &FileError{path, fmt.Errorf("%d pairs for a ladder of %d rungs, want rungs ≥ 2 and one pair fewer", len(s.Pairs), len(s.Ladder))}
	}
	return &s, nil
}

// ExchangeResultFiles returns the result files an exchange set carries
// besides ResultFiles, sorted. They are not in ResultFiles, whose every
// name but grid.json each finished replica has.
func ExchangeResultFiles() []string {
	return []string{FileExchange, FileExchangeChains, FileExchangePath}
}
