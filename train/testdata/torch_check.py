#!/usr/bin/python3
"""Load a replica's parameter files into PyTorch and check them against grid.json.

Usage: torch_check.py REPLICA_DIR [BEST_GRID_JSON]

Reads params.safetensors, best_params.safetensors and init_params.safetensors
with the standard library and torch.frombuffer (Debian has no Python
safetensors package), builds the network their __metadata__ describes,

    torch.nn.Sequential(Linear(w0, w1), Act(), Linear(w1, w2), Act(), ..., Linear(.., k))

in float64, and loads each file with load_state_dict(strict=True). The
classifier of params.safetensors on grid.json's grid, P(class 1) at
(x[i], y[j]) (the sigmoid of the single output for two classes, the second
softmax output otherwise), must equal grid.json's final[j][i] to +-1 in the
6th significant digit, the precision grid.json is written with. When
BEST_GRID_JSON is given (a grid.json-shaped file whose "final" the caller
computed from the best parameters), best_params.safetensors must reproduce it
the same way.

Exit status 0 when every check passes, 1 with a one-line reason otherwise.
"""

import json
import math
import os
import struct
import sys

import torch

FORMAT = "heatbath-params/1"


def fail(msg):
    print("torch_check: FAIL: " + msg)
    sys.exit(1)


def read_safetensors(path):
    """Return ({name: float64 tensor}, metadata) of a safetensors file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail("%s: %d bytes, shorter than the header length" % (path, len(raw)))
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        fail("%s: header length %d past the end of the file" % (path, n))
    header = json.loads(raw[8 : 8 + n].decode("utf-8"))
    data = bytearray(raw[8 + n :])  # writable, so torch.frombuffer does not warn
    meta = header.pop("__metadata__", {})
    tensors = {}
    end_max = 0
    for name, info in header.items():
        if info["dtype"] != "F64":
            fail("%s: tensor %s has dtype %s, want F64" % (path, name, info["dtype"]))
        begin, end = info["data_offsets"]
        shape = info["shape"]
        count = math.prod(shape)
        if end - begin != 8 * count:
            fail("%s: tensor %s spans %d bytes for shape %s" % (path, name, end - begin, shape))
        t = torch.frombuffer(data, dtype=torch.float64, count=count, offset=begin)
        tensors[name] = t.reshape(shape).clone()
        end_max = max(end_max, end)
    if end_max != len(data):
        fail("%s: tensors cover %d of %d data bytes" % (path, end_max, len(data)))
    return tensors, meta


def build_model(meta, path):
    if meta.get("format") != FORMAT:
        fail("%s: metadata format %r, want %r" % (path, meta.get("format"), FORMAT))
    widths = [int(w) for w in meta["widths"].split(",")]
    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}
    if meta["activation"] not in acts:
        fail("%s: unknown activation %r" % (path, meta["activation"]))
    layers = []
    for l in range(len(widths) - 1):
        if l > 0:
            layers.append(acts[meta["activation"]]())
        layers.append(torch.nn.Linear(widths[l], widths[l + 1]))
    model = torch.nn.Sequential(*layers).double()
    classes = int(meta["classes"])
    want_out = "sigmoid" if classes == 2 else "softmax"
    if meta["output"] != want_out or widths[-1] != (1 if classes == 2 else classes):
        fail("%s: output %r with %d units for %d classes" % (path, meta["output"], widths[-1], classes))
    return model


def load(path):
    tensors, meta = read_safetensors(path)
    model = build_model(meta, path)
    model.load_state_dict(tensors, strict=True)
    model.eval()
    for p in model.parameters():
        if p.dtype != torch.float64:
            fail("%s: parameter of dtype %s" % (path, p.dtype))
    return model, meta


def p_class1(model, meta, xs, ys):
    if meta["input_scaling"] != "none":
        fail("grid of 2-D data but input scaling %r" % meta["input_scaling"])
    pts = torch.tensor([[x, y] for y in ys for x in xs], dtype=torch.float64)
    with torch.no_grad():
        z = model(pts)
        if meta["output"] == "sigmoid":
            p = torch.sigmoid(z[:, 0])
        else:
            p = torch.softmax(z, dim=1)[:, 1]
    return p.reshape(len(ys), len(xs))


def unit6(w):
    """One unit in the 6th significant digit of the written value w."""
    if w == 0:
        return 1e-300
    return 10.0 ** (math.floor(math.log10(abs(w))) - 5)


def compare(name, p, final):
    worst = 0.0
    for j, row in enumerate(final):
        for i, w in enumerate(row):
            got = p[j][i].item()
            dev = abs(got - w) / unit6(w)
            if not dev <= 1.0:
                fail("%s: P(class 1) at grid (%d, %d) is %.17g in torch, %r in the file (%.3g units of the 6th digit)" % (name, i, j, got, w, dev))
            worst = max(worst, dev)
    return worst


def main():
    if len(sys.argv) not in (2, 3):
        fail("usage: torch_check.py REPLICA_DIR [BEST_GRID_JSON]")
    d = sys.argv[1]
    with open(os.path.join(d, "grid.json")) as f:
        grid = json.load(f)
    model, meta = load(os.path.join(d, "params.safetensors"))
    p = p_class1(model, meta, grid["x"], grid["y"])
    worst = compare("params.safetensors", p, grid["final"])
    n = len(grid["x"]) * len(grid["y"])

    best, bmeta = load(os.path.join(d, "best_params.safetensors"))
    for k in ("widths", "activation", "classes", "output", "input_scaling"):
        if bmeta[k] != meta[k]:
            fail("best_params.safetensors: metadata %s = %r, params.safetensors has %r" % (k, bmeta[k], meta[k]))
    best_worst = None
    if len(sys.argv) == 3:
        with open(sys.argv[2]) as f:
            want = json.load(f)
        best_worst = compare("best_params.safetensors", p_class1(best, bmeta, grid["x"], grid["y"]), want["final"])
    load(os.path.join(d, "init_params.safetensors"))

    print("torch_check: ok: torch %s, widths %s, %s, %d grid points, worst deviation %.3g (best %s) units of the 6th significant digit"
          % (torch.__version__, meta["widths"], meta["activation"], n, worst,
             "unchecked" if best_worst is None else "%.3g" % best_worst))


if __name__ == "__main__":
    main()
