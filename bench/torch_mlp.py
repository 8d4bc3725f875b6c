#!/usr/bin/env python3
"""PyTorch reference for the general (MNIST-shaped) network: steps/s of a BAOAB
Langevin loop and the cost of evaluating 1,000 rows, CPU, one thread.

Network: 784 -> H1 [-> H2] -> 10 (ReLU), softmax cross-entropy (mean over the
minibatch), PyTorch's default nn.Linear initialisation. Data: 10,000 rows of
784 features uniform in [0, 1) and labels uniform in 0..9, i.e. MNIST's shape
scaled as heatbath scales it (x/255); the content does not change the cost.
Methods (one gradient per step):
  baoab_flat  BAOAB on one flat parameter buffer (each of B/A/O one vector op),
              h = 0.05, gamma = 1, tau = 1e-4, as bench/torch_shlp.py
  sgd         torch.optim.SGD (zero_grad, backward, step)
Minibatches: a fresh permutation per epoch, contiguous slices. Timing: wall clock
per block of --steps steps, blocks of all configurations interleaved round-robin
(--reps rounds), median (and min, max) reported. eval1000: loss and accuracy of
1,000 rows under no_grad, timed the same way.

Run with Debian's interpreter and OpenBLAS (libopenblas0-pthread):

    OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch_mlp.py --dtype float32

Own code; output lines are parsed by bench/compare_issue12.py.
"""
import argparse
import statistics
import time

import torch

# The flat-buffer BAOAB is torch_shlp.py's (this folder is on sys.path when the
# script runs): one definition for both benchmarks.
from torch_shlp import BAOABFlat


def make_model(sizes):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


class Batcher:
    """Epoch-wise random permutation, contiguous slices of size B."""

    def __init__(self, X, Y, B):
        self.X, self.Y, self.B = X, Y, B
        self.N = X.shape[0]
        self.pos = self.N

    def next(self):
        if self.pos + self.B > self.N:
            self.perm = torch.randperm(self.N)
            self.pos = 0
        idx = self.perm[self.pos:self.pos + self.B]
        self.pos += self.B
        return self.X[idx], self.Y[idx]


class SGD:
    def __init__(self, model, lossf, batcher, lr):
        self.model, self.lossf, self.batcher = model, lossf, batcher
        self.opt = torch.optim.SGD(model.parameters(), lr=lr)

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        xb, yb = self.batcher.next()
        self.lossf(self.model(xb), yb).backward()
        self.opt.step()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nets", nargs="+", default=["784-100-10", "784-256-256-10"])
    ap.add_argument("--B", type=int, nargs="+", default=[50, 100])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=300, help="steps per timed block")
    ap.add_argument("--reps", type=int, default=5, help="timed blocks per configuration (median taken)")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--methods", nargs="+", default=["baoab_flat", "sgd"])
    ap.add_argument("--eval-reps", type=int, default=20)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_default_dtype(getattr(torch, args.dtype))
    torch.manual_seed(1)
    X = torch.rand(10000, 784)
    Y = torch.randint(0, 10, (10000,))
    Xt, Yt = X[:1000].clone(), Y[:1000].clone()
    print(f"# torch {torch.__version__} threads={torch.get_num_threads()} dtype={args.dtype} "
          f"steps/block={args.steps} reps={args.reps}", flush=True)

    runners, evals = {}, {}
    for net in args.nets:
        sizes = [int(s) for s in net.split("-")]
        for B in args.B:
            for m in args.methods:
                torch.manual_seed(2)
                model = make_model(sizes)
                lossf = torch.nn.CrossEntropyLoss()
                bt = Batcher(X, Y, B)
                if m == "baoab_flat":
                    r = BAOABFlat(model, lossf, bt, 0.05, 1.0, 1e-4)
                elif m == "sgd":
                    r = SGD(model, lossf, bt, 0.05)
                else:
                    raise SystemExit("unknown method " + m)
                runners[(net, B, m)] = r
        model = make_model(sizes)
        lossf = torch.nn.CrossEntropyLoss()

        def ev(model=model, lossf=lossf):
            with torch.no_grad():
                out = model(Xt)
                loss = lossf(out, Yt).item()
                acc = (out.argmax(1) == Yt).to(out.dtype).mean().item()
            return loss, acc
        evals[net] = ev

    for r in runners.values():
        for _ in range(args.warmup):
            r.step()
    for ev in evals.values():
        ev()
    times = {k: [] for k in runners}
    ctimes = {k: [] for k in runners}
    etimes = {k: [] for k in evals}
    for _ in range(args.reps):
        for k, r in runners.items():
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(args.steps):
                r.step()
            times[k].append((time.perf_counter() - t0) / args.steps)
            ctimes[k].append((time.process_time() - c0) / args.steps)
        for k, ev in evals.items():
            t0 = time.perf_counter()
            for _ in range(args.eval_reps):
                ev()
            etimes[k].append((time.perf_counter() - t0) / args.eval_reps)
    # steps/s from wall time, and from the process's CPU time (less sensitive to
    # other processes on a shared machine; one thread, so equal when idle).
    for (net, B, m), ts in times.items():
        med = statistics.median(ts)
        cmed = statistics.median(ctimes[(net, B, m)])
        print(f"MLP={net} B={B} {m:11s} {1 / med:9.1f} steps/s  (median {med * 1e6:8.1f} us/step, "
              f"min {min(ts) * 1e6:8.1f}, max {max(ts) * 1e6:8.1f}); cpu {1 / cmed:9.1f} steps/s", flush=True)
    for net, ts in etimes.items():
        med = statistics.median(ts)
        print(f"MLP={net} eval1000 {med * 1e6:9.1f} us/eval  (min {min(ts) * 1e6:8.1f}, max {max(ts) * 1e6:8.1f})",
              flush=True)


if __name__ == "__main__":
    main()
