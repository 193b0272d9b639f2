#!/usr/bin/python3
"""PyTorch reference values for the engine's shape and math ops (broadcasting, axis reductions, permutes, unary math,
softmax over an axis): tests/FsdNet.Tests/Golden/engine/shape_ops.json.

    /usr/bin/python3 tools/golden/shape_ops_golden.py

Each case stores its inputs, the output and, for a fixed random upstream dy, the input gradients of (y * dy).sum()
under "<case>_out", "<case>_dy", "<case>_d<input>". Deterministic (fixed seed, one thread).
"""

import json
import math
import os

import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "tests", "FsdNet.Tests", "Golden", "engine", "shape_ops.json")
torch.set_num_threads(1)
torch.manual_seed(20261201)


def entry(t):
    t = t.detach()
    vals = [float(v) for v in t.to(torch.float32).reshape(-1).tolist()]
    assert all(math.isfinite(v) for v in vals)
    return {"shape": list(t.shape), "data": vals}


tensors = {}


def case(name, fn, **inputs):
    ins = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**ins)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    for k, v in ins.items():
        tensors[f"{name}_{k}"] = v
        tensors[f"{name}_d{k}"] = v.grad
    tensors[f"{name}_out"] = y
    tensors[f"{name}_dy"] = dy


r = torch.randn
case("add_row", lambda a, b: a + b, a=r(4, 3), b=r(3))
case("sub_col", lambda a, b: a - b, a=r(4, 3), b=r(4, 1))
case("mul_fields", lambda a, b: a * b, a=r(2, 3, 4), b=r(2, 3, 1))
case("mul_outer", lambda a, b: a * b, a=r(3, 1, 4), b=r(1, 5, 4))
case("div_bcast", lambda a, b: a / b, a=r(2, 3, 4), b=torch.rand(1, 3, 1) + 0.5)
case("sum_axis1", lambda x: x.sum(dim=1), x=r(2, 3, 4))
case("mean_axis0_keep", lambda x: x.mean(dim=0, keepdim=True), x=r(3, 5))
case("max_axis2", lambda x: x.max(dim=2).values, x=r(2, 3, 4))
case("permute_021", lambda x: x.permute(0, 2, 1).contiguous(), x=r(2, 3, 4))
case("permute_201", lambda x: x.permute(2, 0, 1).contiguous(), x=r(2, 3, 4))
case("transpose_2d", lambda x: x.t().contiguous(), x=r(3, 5))
case("exp", lambda x: torch.exp(x), x=r(3, 4))
case("log_clamped", lambda x: torch.log(torch.clamp(x, min=1e-4)), x=torch.rand(3, 4) * 2 - 0.2)
case("square", lambda x: x * x, x=r(3, 4))
case("abs", lambda x: torch.abs(x), x=r(3, 4))
case("leaky_relu", lambda x: torch.nn.functional.leaky_relu(x, 0.01), x=r(3, 4))
case("cat_axis1", lambda a, b, c: torch.cat([a, b, c], dim=1), a=r(2, 1, 4), b=r(2, 3, 4), c=r(2, 2, 4))
case("cat_axis0", lambda a, b: torch.cat([a, b], dim=0), a=r(2, 3), b=r(4, 3))
case("stack_axis1", lambda a, b, c: torch.stack([a, b, c], dim=1), a=r(4, 5), b=r(4, 5), c=r(4, 5))
PAIRS = torch.tensor([0, 0, 1, 3, 3, 2])
case("index_select_axis1", lambda x: torch.index_select(x, 1, PAIRS), x=r(2, 4, 3))
tensors["index_select_axis1_index"] = PAIRS.float()
case("prelu", lambda x, w: torch.nn.functional.prelu(x, w), x=r(5, 3), w=torch.tensor([0.25]))


def dice(x, alpha):
    bn = torch.nn.functional.batch_norm(x, torch.zeros(x.shape[1]), torch.ones(x.shape[1]), training=True, momentum=0.01, eps=1e-9)
    p = torch.sigmoid(bn)
    return p * x + alpha * (1 - p) * x


case("dice", dice, x=r(6, 3), alpha=r(3))
case("softmax_axis1", lambda x: torch.softmax(x, dim=1), x=r(2, 3, 4))

doc = {"case": "shape_ops", "torch": torch.__version__, "description": __doc__.strip(),
       "tensors": {k: entry(v) for k, v in tensors.items()}}
with open(OUT, "w", encoding="utf-8", newline="\n") as fh:
    fh.write(json.dumps(doc, separators=(",", ":")))
    fh.write("\n")
print("wrote", OUT, len(tensors), "tensors")
