#!/usr/bin/env python3
"""Throughput reference for SHLP training on the trig data set (PyTorch, CPU).

SHLP: 2 -> H (ReLU) -> 1 (sigmoid), binary cross-entropy (mean over the minibatch).
Data: "trig" set, 500 points per class: t ~ U(0,1), x = 10 t,
      class 0: y = cos(pi t) + 0.02 N(0,1); class 1: y = sin(pi t) + 0.02 N(0,1).
Methods timed (one gradient evaluation per step in every case):
  baoab       Langevin BAOAB in plain tensor ops, looping over the 4 parameter tensors
  baoab_flat  same, but all parameters (and their .grad) are views of one flat buffer,
              so each of B/A/O is a single vector op
  sgd, adam   torch.optim.SGD / torch.optim.Adam (zero_grad, backward, step)
Minibatches: a fresh random permutation per epoch, sliced into contiguous batches.
Timing: wall clock (time.perf_counter) per block of --steps steps; the blocks of the
different methods are interleaved round-robin (--reps rounds) and the median is reported,
so that machine-speed drift hits all methods alike.  Test evaluation (loss + accuracy on
1000 fresh points, no_grad) is timed the same way.

Own code written for the perf study (copied into bench/ from the project's shared reference, ../shared/bench/torch_ref.py, so that a fresh checkout has it); not taken from the paper's repository.
"""
import argparse
import math
import statistics
import sys
import time

import torch


def trig_data(n_per_class, gen):
    t0 = torch.rand(n_per_class, generator=gen)
    t1 = torch.rand(n_per_class, generator=gen)
    x0 = torch.stack([10 * t0, torch.cos(math.pi * t0) + 0.02 * torch.randn(n_per_class, generator=gen)], 1)
    x1 = torch.stack([10 * t1, torch.sin(math.pi * t1) + 0.02 * torch.randn(n_per_class, generator=gen)], 1)
    X = torch.cat([x0, x1])
    Y = torch.cat([torch.zeros(n_per_class), torch.ones(n_per_class)]).unsqueeze(1)
    return X, Y


def make_model(H):
    return torch.nn.Sequential(torch.nn.Linear(2, H), torch.nn.ReLU(),
                               torch.nn.Linear(H, 1), torch.nn.Sigmoid())


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


def grad_once(model, lossf, batcher):
    xb, yb = batcher.next()
    loss = lossf(model(xb), yb)
    loss.backward()
    return loss


class BAOAB:
    """Per-tensor BAOAB; one new gradient per step (the closing B's force is reused
    by the next step's opening B)."""

    def __init__(self, model, lossf, batcher, h, gamma, tau):
        self.model, self.lossf, self.batcher = model, lossf, batcher
        self.params = list(model.parameters())
        self.h = h
        self.c = math.exp(-gamma * h)
        self.s = math.sqrt((1 - self.c ** 2) * tau)
        self.mom = [torch.zeros_like(p) for p in self.params]
        self._grad()

    def _grad(self):
        for p in self.params:
            p.grad = None
        return grad_once(self.model, self.lossf, self.batcher)

    def step(self):
        h, c, s = self.h, self.c, self.s
        with torch.no_grad():
            for p, m in zip(self.params, self.mom):
                m.add_(p.grad, alpha=-h / 2)          # B
                p.add_(m, alpha=h / 2)                # A
                m.mul_(c).add_(torch.randn_like(m), alpha=s)  # O
                p.add_(m, alpha=h / 2)                # A
        self._grad()
        with torch.no_grad():
            for p, m in zip(self.params, self.mom):
                m.add_(p.grad, alpha=-h / 2)          # B


class BAOABFlat:
    """BAOAB with parameters and gradients living in one flat vector each."""

    def __init__(self, model, lossf, batcher, h, gamma, tau):
        self.model, self.lossf, self.batcher = model, lossf, batcher
        params = list(model.parameters())
        n = sum(p.numel() for p in params)
        dtype = params[0].dtype
        self.theta = torch.empty(n, dtype=dtype)
        self.g = torch.zeros(n, dtype=dtype)
        off = 0
        for p in params:
            k = p.numel()
            self.theta[off:off + k].copy_(p.detach().view(-1))
            p.data = self.theta[off:off + k].view_as(p)
            p.grad = self.g[off:off + k].view_as(p)
            off += k
        self.p = torch.zeros(n, dtype=dtype)
        self.noise = torch.empty(n, dtype=dtype)
        self.h = h
        self.c = math.exp(-gamma * h)
        self.s = math.sqrt((1 - self.c ** 2) * tau)
        self._grad()

    def _grad(self):
        self.g.zero_()  # autograd accumulates in place into the .grad views
        return grad_once(self.model, self.lossf, self.batcher)

    def step(self):
        h, c, s = self.h, self.c, self.s
        with torch.no_grad():
            self.p.add_(self.g, alpha=-h / 2)       # B
            self.theta.add_(self.p, alpha=h / 2)    # A
            self.noise.normal_()
            self.p.mul_(c).add_(self.noise, alpha=s)  # O
            self.theta.add_(self.p, alpha=h / 2)    # A
        self._grad()
        with torch.no_grad():
            self.p.add_(self.g, alpha=-h / 2)       # B


class TorchOpt:
    def __init__(self, model, lossf, batcher, opt):
        self.model, self.lossf, self.batcher, self.opt = model, lossf, batcher, opt

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        grad_once(self.model, self.lossf, self.batcher)
        self.opt.step()


def evaluator(model, lossf, Xt, Yt):
    def ev():
        with torch.no_grad():
            out = model(Xt)
            loss = lossf(out, Yt).item()
            acc = ((out > 0.5).to(Yt.dtype) == Yt).to(Yt.dtype).mean().item()
        return loss, acc
    return ev


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--H", type=int, nargs="+", default=[100, 500])
    ap.add_argument("--B", type=int, nargs="+", default=[50])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=2000, help="steps per timed block")
    ap.add_argument("--reps", type=int, default=5, help="timed blocks per method (median taken)")
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--methods", nargs="+", default=["baoab", "baoab_flat", "sgd", "adam"])
    ap.add_argument("--h", type=float, default=0.05)
    ap.add_argument("--gamma", type=float, default=1.0)
    ap.add_argument("--tau", type=float, default=1e-4)
    ap.add_argument("--eval-reps", type=int, default=200)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_default_dtype(getattr(torch, args.dtype))
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(1)
    X, Y = trig_data(500, gen)
    Xt, Yt = trig_data(500, gen)
    print(f"# torch {torch.__version__} threads={torch.get_num_threads()} dtype={args.dtype} "
          f"steps/block={args.steps} reps={args.reps}", flush=True)

    for H in args.H:
        for B in args.B:
            runners = {}
            for m in args.methods:
                torch.manual_seed(2)
                model = make_model(H)
                lossf = torch.nn.BCELoss()
                bt = Batcher(X, Y, B)
                if m == "baoab":
                    r = BAOAB(model, lossf, bt, args.h, args.gamma, args.tau)
                elif m == "baoab_flat":
                    r = BAOABFlat(model, lossf, bt, args.h, args.gamma, args.tau)
                elif m == "sgd":
                    r = TorchOpt(model, lossf, bt, torch.optim.SGD(model.parameters(), lr=args.h))
                elif m == "adam":
                    r = TorchOpt(model, lossf, bt, torch.optim.Adam(model.parameters(), lr=1e-3))
                else:
                    sys.exit("unknown method " + m)
                runners[m] = (r, model, lossf)
            ev = evaluator(runners[args.methods[0]][1], runners[args.methods[0]][2], Xt, Yt)
            for r, _, _ in runners.values():
                for _ in range(args.warmup):
                    r.step()
            for _ in range(20):
                ev()
            times = {m: [] for m in runners}
            times["eval"] = []
            for _ in range(args.reps):
                for m, (r, _, _) in runners.items():
                    t0 = time.perf_counter()
                    for _ in range(args.steps):
                        r.step()
                    times[m].append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                for _ in range(args.eval_reps):
                    ev()
                times["eval"].append(time.perf_counter() - t0)
            base = statistics.median(times[args.methods[0]]) / args.steps
            for m in runners:
                med = statistics.median(times[m]) / args.steps
                lo = min(times[m]) / args.steps
                hi = max(times[m]) / args.steps
                print(f"H={H} B={B} {m:11s} {1 / med:9.0f} steps/s  (median {med * 1e6:7.1f} us/step, "
                      f"min {lo * 1e6:7.1f}, max {hi * 1e6:7.1f}; ratio to {args.methods[0]} {med / base:5.2f})",
                      flush=True)
            med = statistics.median(times["eval"]) / args.eval_reps
            print(f"H={H} B={B} eval1000    {med * 1e6:9.1f} us/eval = {med / base:5.2f} {args.methods[0]} steps; "
                  f"every 100 steps adds {100 * med / (100 * base):.1f}% ; loss,acc={ev()}", flush=True)


if __name__ == "__main__":
    main()
