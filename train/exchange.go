package train

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/heatbath/heatbath/dataset"
	"github.com/heatbath/heatbath/protocol"
	"github.com/heatbath/heatbath/rundir"
	"github.com/heatbath/heatbath/sampler"
)

// An exchange set is one replica whose config has an exchange ladder: K
// chains, chain k built like the replica's single chain but with seed
// ChainSeed(Seed, k) and every temperature-carrying group at the ladder's
// τ_k, run in lockstep in one Replica (one worker slot): the chains advance
// to the next swap round, evaluation or the end, whichever comes first,
// one after the other; then the set evaluates the coldest rung and
// proposes swaps (sampler.Exchange). Each chain keeps its state through a
// swap and changes its temperature (sampler.Chain.ExchangeTau: momenta
// scaled by √(τ_new/τ_old); ξ of adaptive groups by τ_old/τ_new, since
// with minibatch gradients the equilibrium ξ·τ the exact map needs is
// not known).
//
// The Replica itself describes the coldest rung: its Chain is the chain at
// rung 0 (it changes after an accepted swap of pair 0), its trajectory rows,
// best evaluation, model average and parameter files are those of whichever
// chain sat at rung 0, so that the analysis selects from the coldest rung
// as it selects from a single chain. Each chain's own trajectory and the
// ladder's record go to the exchange files (rundir.FileExchange,
// FileExchangeChains, FileExchangePath).
//
// Energies: "full" is the mean loss L̄ over the whole training split at the
// chain's parameters (the function whose gradient the chains follow, so
// the exact rule applies). "minibatch" draws MinibatchEnergyBatches
// minibatches of the training batch size per chain from a batcher of its
// own (so the chains' minibatch order is that of the full criterion) and
// uses their mean loss as Û; the variance of Û is the sample variance of
// the batch losses over MinibatchEnergyBatches, smoothed per chain with
// weight 0.2 (sampler.VarianceEMA), and the pair's difference variance is
// the sum of the two chains' (independent minibatches).
//
// A chain that diverges stops; its energy is NaN, so every swap with it is
// rejected and it keeps its rung. The set ends diverged when the chain at
// rung 0 diverges; hotter chains that diverge only block their rung.
type exchangeSet struct {
	cfg   protocol.ExchangeConfig
	subs  []*Replica
	seeds []uint64
	x     *sampler.Exchange
	u     []float64

	// per chain: rows (chain, rung, trajectory columns…), copied
	chainRows [][][]float64
	// rows of exchange_path.csv: step, chain at rung 0..K−1
	path [][]float64

	// minibatch energies
	eb      *dataset.Batcher
	ebX     []float64
	ebY     []int
	vars    []sampler.VarianceEMA
	diffVar []float64
	losses  []float64
}

// MinibatchEnergyBatches is the number of minibatches each chain's energy
// is estimated from at a swap round under energy: minibatch.
const MinibatchEnergyBatches = 8

// streamEnergy is the PCG stream of the minibatch-energy batcher.
const streamEnergy = 0x656e7267

// ChainSeed returns the seed of chain k of an exchange set whose replica
// has seed s: s for chain 0 (the coldest rung starts as the replica's single
// chain would), a SplitMix64 mix of s and k otherwise.
func ChainSeed(s uint64, k int) uint64 {
	if k == 0 {
		return s
	}
	z := s + uint64(k)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// buildExchange builds the replica of an exchange set (cfg.Exchange set and
// resolved).
func buildExchange(cfg protocol.ReplicaConfig) (*Replica, error) {
	xc := *cfg.Exchange
	xc.Ladder = append([]float64(nil), xc.Ladder...)
	one := cfg
	one.Exchange = nil
	r, err := buildOn(one, nil)
	if err != nil {
		return nil, err
	}
	r.Config = cfg
	ex := &exchangeSet{cfg: xc, u: make([]float64, len(xc.Ladder))}
	for k, tau := range xc.Ladder {
		c := one
		c.Seed = ChainSeed(cfg.Seed, k)
		sub, err := buildOn(c, r) // the data set is loaded once, by r
		if err != nil {
			return nil, fmt.Errorf("exchange chain %d: %w", k, err)
		}
		sub.ID = r.ID
		sub.Chain.SetTau(tau)
		ex.subs = append(ex.subs, sub)
		ex.seeds = append(ex.seeds, c.Seed)
	}
	ex.chainRows = make([][][]float64, len(ex.subs))
	if ex.x, err = sampler.NewExchange(xc.Ladder, cfg.Seed, streamExchange); err != nil {
		return nil, fmt.Errorf("exchange.ladder: %w", err)
	}
	if xc.Energy == EnergyMinibatch {
		mode, _ := dataset.ParseSampling(cfg.Sampling)
		if ex.eb, err = dataset.NewBatcher(r.Train.Len(), r.BatchSize, mode, cfg.Seed, streamEnergy); err != nil {
			return nil, fmt.Errorf("batch: %w", err)
		}
		ex.ebX = make([]float64, r.BatchSize*r.Train.Dim)
		ex.ebY = make([]int, r.BatchSize)
		ex.vars = make([]sampler.VarianceEMA, len(ex.subs))
		for i := range ex.vars {
			ex.vars[i].W = 0.2
		}
		ex.diffVar = make([]float64, len(ex.subs)-1)
		ex.losses = make([]float64, MinibatchEnergyBatches)
	}
	r.ex = ex
	r.setColdest()
	return r, nil
}

// streamExchange is the PCG stream of the swap random source.
const streamExchange = 0x65786368

// rowFunc returns the RowFunc that keeps chain k's rows.
func (ex *exchangeSet) rowFunc(k int) RowFunc {
	return func(row []float64) error {
		out := make([]float64, 0, len(row)+2)
		out = append(out, float64(k), float64(ex.x.RungOf(k)))
		ex.chainRows[k] = append(ex.chainRows[k], append(out, row...))
		return nil
	}
}

func (ex *exchangeSet) recordPath(step int64) {
	row := []float64{float64(step)}
	for k := 0; k < ex.x.K(); k++ {
		row = append(row, float64(ex.x.ChainAt(k)))
	}
	ex.path = append(ex.path, row)
}

// runExchange is RunUntil for an exchange set.
func (r *Replica) runExchange(until int64, rows RowFunc) error {
	ex := r.ex
	steps, every := r.Config.Steps, r.Config.EvalEvery
	until = min(until, steps)
	if r.evals == 0 {
		for k, s := range ex.subs {
			if err := s.RunUntil(0, ex.rowFunc(k)); err != nil {
				return err
			}
		}
		if err := r.evaluate(rows); err != nil {
			return err
		}
		ex.recordPath(0)
	}
	for !r.done && r.Chain.Steps() < until {
		n := r.Chain.Steps()
		b := min(until, next(n, every), next(n, ex.cfg.Every))
		if r.plan != nil && r.plan.Cycle() != nil {
			b = min(b, next(n, r.plan.Cycle().Len()))
		}
		for k, s := range ex.subs {
			if err := s.RunUntil(b, ex.rowFunc(k)); err != nil {
				return err
			}
		}
		if r.Chain.Err() != nil {
			r.done = true // the coldest rung diverged
			return nil
		}
		if b%every == 0 || b == steps || r.collectAfter(b) {
			if err := r.evaluate(rows); err != nil {
				return err
			}
		}
		if b%ex.cfg.Every == 0 && b < steps {
			if err := r.swapRound(); err != nil {
				return err
			}
			ex.recordPath(b)
		}
		if b >= steps {
			r.done = true
		}
	}
	return nil
}

// next returns the smallest multiple of m above n.
func next(n, m int64) int64 { return (n/m + 1) * m }

// swapRound computes the energies, runs one round and moves the chains to
// their new rungs.
func (r *Replica) swapRound() error {
	ex := r.ex
	var diffVar []float64
	for i, s := range ex.subs {
		if s.Chain.Err() != nil {
			ex.u[i] = math.NaN()
			continue
		}
		if ex.eb == nil {
			ex.u[i], _ = r.Model.Evaluate(r.evalWS, s.Chain.Theta(), r.Train.X, r.Train.Y)
			continue
		}
		ex.u[i] = r.minibatchEnergy(i, s.Chain.Theta())
	}
	if ex.eb != nil {
		for k := range ex.diffVar {
			a, b := ex.x.ChainAt(k), ex.x.ChainAt(k+1)
			ex.diffVar[k] = (ex.vars[a].Value + ex.vars[b].Value) / MinibatchEnergyBatches
		}
		diffVar = ex.diffVar
	}
	if _, err := ex.x.Round(ex.u, diffVar, ex.cfg.F); err != nil {
		return err
	}
	for i, s := range ex.subs {
		s.Chain.ExchangeTau(ex.x.TauOf(i), nil) // a no-op for a chain that stays at its τ
	}
	r.setColdest()
	return nil
}

// setColdest points the replica's Chain and Init at the chain sitting at
// rung 0, so that its files (params, init_params, interp.csv) describe
// that chain.
func (r *Replica) setColdest() {
	c := r.ex.subs[r.ex.x.ChainAt(0)]
	r.Chain, r.Init = c.Chain, c.Init
}

// minibatchEnergy returns the mean loss of chain i over
// MinibatchEnergyBatches minibatches and folds their variance into the
// chain's estimate.
func (r *Replica) minibatchEnergy(i int, theta []float64) float64 {
	ex := r.ex
	d := r.Train.Dim
	var sum float64
	for j := range ex.losses {
		for k, idx := range ex.eb.Next() {
			copy(ex.ebX[k*d:(k+1)*d], r.Train.X[idx*d:(idx+1)*d])
			ex.ebY[k] = r.Train.Y[idx]
		}
		ex.losses[j], _ = r.Model.Evaluate(r.evalWS, theta, ex.ebX, ex.ebY)
		sum += ex.losses[j]
	}
	ex.vars[i].Update(ex.losses)
	return sum / float64(len(ex.losses))
}

// exchangeFiles adds the exchange files to the replica's artifacts.
func (r *Replica) exchangeFiles(out map[string][]byte) error {
	ex := r.ex
	k := ex.x.K()
	s := rundir.ExchangeSummary{Version: rundir.ExchangeVersion, Ladder: ex.cfg.Ladder, Every: ex.cfg.Every,
		Energy: ex.cfg.Energy, F: ex.cfg.F, Rounds: ex.x.Rounds()}
	for p := 0; p+1 < k; p++ {
		pr := rundir.ExchangePair{Rung: p, TauLo: ex.cfg.Ladder[p], TauHi: ex.cfg.Ladder[p+1],
			Proposed: ex.x.Proposed(p), Accepted: ex.x.Accepted(p)}
		if pr.Proposed > 0 {
			pr.Rate = rundir.Finite(float64(pr.Accepted) / float64(pr.Proposed))
		}
		s.Pairs = append(s.Pairs, pr)
	}
	for i, sub := range ex.subs {
		c := rundir.ExchangeChain{Chain: i, Seed: ex.seeds[i], Rung: ex.x.RungOf(i), RoundTrips: ex.x.RoundTrips(i)}
		var de *sampler.DivergenceError
		if errors.As(sub.Chain.Err(), &de) {
			c.Diverged, c.DivergedAt = true, de.Step
		}
		s.Chains = append(s.Chains, c)
	}
	b, err := s.Encode()
	if err != nil {
		return err
	}
	out[rundir.FileExchange] = b
	var csv bytes.Buffer
	tw, err := rundir.NewTrajectoryWriter(&csv, append([]string{"chain", "rung"}, r.Columns()...))
	if err != nil {
		return err
	}
	for _, rows := range ex.chainRows {
		for _, row := range rows {
			if err := tw.Write(row); err != nil {
				return err
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	out[rundir.FileExchangeChains] = csv.Bytes()
	cols := []string{"step"}
	for j := 0; j < k; j++ {
		cols = append(cols, fmt.Sprintf("rung%d", j))
	}
	var pb bytes.Buffer
	pw, err := rundir.NewTrajectoryWriter(&pb, cols)
	if err != nil {
		return err
	}
	for _, row := range ex.path {
		if err := pw.Write(row); err != nil {
			return err
		}
	}
	if err := pw.Flush(); err != nil {
		return err
	}
	out[rundir.FileExchangePath] = pb.Bytes()
	return nil
}

// exchangeMagic opens the checkpoint of an exchange set.
const exchangeMagic = "HBEXSET1"

// marshalExchange encodes the state of an exchange set: the swap state,
// every chain's replica checkpoint, the coldest rung's records, the
// minibatch-energy state and the rows kept for the exchange files.
func (r *Replica) marshalExchange() ([]byte, error) {
	ex := r.ex
	var b bytes.Buffer
	b.WriteString(exchangeMagic)
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	blob := func(p []byte) {
		w(uint64(len(p)))
		b.Write(p)
	}
	xb, err := ex.x.MarshalBinary()
	if err != nil {
		return nil, err
	}
	blob(xb)
	for _, s := range ex.subs {
		sb, err := s.marshalChain()
		if err != nil {
			return nil, err
		}
		blob(sb)
	}
	rb, err := r.marshalChain()
	if err != nil {
		return nil, err
	}
	blob(rb)
	w(ex.eb != nil)
	if ex.eb != nil {
		eb, err := ex.eb.MarshalBinary()
		if err != nil {
			return nil, err
		}
		blob(eb)
		for _, v := range ex.vars {
			w(v.Value)
			w(v.Seen)
		}
	}
	writeRows := func(rows [][]float64) {
		w(uint64(len(rows)))
		for _, row := range rows {
			w(uint64(len(row)))
			w(row)
		}
	}
	for _, rows := range ex.chainRows {
		writeRows(rows)
	}
	writeRows(ex.path)
	return b.Bytes(), nil
}

// maxCheckpointRows bounds the rows an exchange checkpoint may declare, so
// that a corrupt length cannot allocate without limit.
const maxCheckpointRows = 1 << 24

// unmarshalExchange restores a state written by marshalExchange into an
// exchange set built from the same config.
func (r *Replica) unmarshalExchange(data []byte) error {
	ex := r.ex
	if !bytes.HasPrefix(data, []byte(exchangeMagic)) {
		return errors.New("train: not an exchange-set checkpoint (bad magic)")
	}
	cr := newCkptReader(data[len(exchangeMagic):])
	read, blob := cr.read, cr.blob
	xb := blob()
	subs := make([][]byte, len(ex.subs))
	for i := range subs {
		subs[i] = blob()
	}
	rb := blob()
	var hasEB bool
	read(&hasEB)
	if cr.err == nil && hasEB != (ex.eb != nil) {
		return errors.New("train: exchange checkpoint is for another energy criterion")
	}
	var eb []byte
	vars := make([]sampler.VarianceEMA, len(ex.vars))
	if hasEB {
		eb = blob()
		for i := range vars {
			read(&vars[i].Value)
			read(&vars[i].Seen)
		}
	}
	readRows := func() [][]float64 {
		var n uint64
		read(&n)
		if cr.err == nil && n > maxCheckpointRows {
			cr.err = fmt.Errorf("%d rows", n)
		}
		if cr.err != nil {
			return nil
		}
		rows := make([][]float64, 0, n)
		for j := uint64(0); j < n && cr.err == nil; j++ {
			var m uint64
			read(&m)
			if cr.err == nil && m > uint64(cr.rd.Len()/8) {
				cr.err = io.ErrUnexpectedEOF
			}
			if cr.err != nil {
				return nil
			}
			row := make([]float64, m)
			read(row)
			rows = append(rows, row)
		}
		return rows
	}
	chainRows := make([][][]float64, len(ex.subs))
	for i := range chainRows {
		chainRows[i] = readRows()
	}
	path := readRows()
	if cr.err != nil {
		return fmt.Errorf("train: truncated exchange checkpoint: %w", cr.err)
	}
	if cr.rd.Len() != 0 {
		return fmt.Errorf("train: exchange checkpoint has %d trailing bytes", cr.rd.Len())
	}
	if err := ex.x.UnmarshalBinary(xb); err != nil {
		return err
	}
	for i, s := range ex.subs {
		if err := s.unmarshalChain(subs[i]); err != nil {
			return fmt.Errorf("train: exchange chain %d: %w", i, err)
		}
		s.Chain.SetTau(ex.x.TauOf(i))
	}
	r.setColdest()
	if err := r.unmarshalChain(rb); err != nil {
		return err
	}
	if hasEB {
		if err := ex.eb.UnmarshalBinary(eb); err != nil {
			return err
		}
		for i := range vars {
			ex.vars[i].Value, ex.vars[i].Seen = vars[i].Value, vars[i].Seen
		}
	}
	ex.chainRows, ex.path = chainRows, path
	return nil
}
