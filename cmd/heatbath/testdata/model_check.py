#!/usr/bin/python3
"""Load an exported model the way its model.json tells a PyTorch user to.

Usage: model_check.py EXPORT_DIR GRID_JSON

Builds the module from model.json "pytorch" (torch.nn code such as
"Sequential(Linear(2, 8), ReLU(), Linear(8, 1))", evaluated with the names of
torch.nn only), in float64, and loads every file model.json "files" lists
with load_state_dict(strict=True). The final parameters (params.safetensors),
through model.json "output" (sigmoid or softmax), must reproduce GRID_JSON,
the replica's own grid.json: P(class 1) at (x[i], y[j]) equal to final[j][i]
to +-1 in the 6th significant digit it is written with.

The safetensors reader and the comparison are those of
train/testdata/torch_check.py. Exit status 0 when every check passes, 1 with
a one-line reason otherwise.
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "train", "testdata"))
from torch_check import compare, fail, read_safetensors  # noqa: E402


def main():
    if len(sys.argv) != 3:
        fail("usage: model_check.py EXPORT_DIR GRID_JSON")
    d = sys.argv[1]
    with open(os.path.join(d, "model.json")) as f:
        model_json = json.load(f)
    names = {n: getattr(torch.nn, n) for n in ("Sequential", "Linear", "ReLU", "Tanh")}
    files = {}
    for entry in model_json["files"]:
        module = eval(model_json["pytorch"], {"__builtins__": {}}, names).double()
        tensors, meta = read_safetensors(os.path.join(d, entry["file"]))
        module.load_state_dict(tensors, strict=True)
        module.eval()
        if meta["widths"] != ",".join(str(w) for w in model_json["widths"]) or meta["parameters"] != entry["parameters"]:
            fail("%s: metadata widths %s, parameters %s; model.json says %s, %s"
                 % (entry["file"], meta["widths"], meta["parameters"], model_json["widths"], entry["parameters"]))
        files[entry["file"]] = module
    if "params.safetensors" not in files:
        fail("model.json lists no params.safetensors")
    with open(sys.argv[2]) as f:
        grid = json.load(f)
    if model_json["input_scaling"] != "none":
        fail("grid of 2-D data but input scaling %r" % model_json["input_scaling"])
    pts = torch.tensor([[x, y] for y in grid["y"] for x in grid["x"]], dtype=torch.float64)
    with torch.no_grad():
        z = files["params.safetensors"](pts)
        if model_json["output"] == "sigmoid":
            p = torch.sigmoid(z[:, 0])
        else:
            p = torch.softmax(z, dim=1)[:, 1]
    worst = compare("params.safetensors", p.reshape(len(grid["y"]), len(grid["x"])), grid["final"])
    print("model_check: ok: %s, files %s, worst deviation %.3g units of the 6th significant digit"
          % (model_json["pytorch"], sorted(files), worst))


if __name__ == "__main__":
    main()
