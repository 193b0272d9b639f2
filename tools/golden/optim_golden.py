#!/usr/bin/python3
"""Generate PyTorch reference data for FsdNet's optimizers (src/FsdNet/Training/Optimizers).

Run from anywhere with the Debian python (torch 1.13):

    /usr/bin/python3 tools/golden/optim_golden.py

Writes tests/FsdNet.Tests/Golden/optim/<case>.json. For each case two float32 parameters (shapes [5, 4] and [7], so
both the vector loop and the scalar tail of the C# code run) take STEPS steps of a torch.optim optimizer with
gradients set by hand (seeded normal values). At step ZERO_GRAD_STEP the second parameter's gradient is all zeros
(what optimizer.zero_grad() leaves in torch 1.13 when a parameter gets no gradient). After step DECAY_STEP the
learning rate of every param group is multiplied by 0.1 (FuxiCTR's lr decay on plateau). Tensors:
p<k>_init, g<t>_<k> (gradient used in step t, 1-based), p<t>_<k> (parameter after step t).
Deterministic: running it again gives byte-identical files.
"""

import json
import math
import os

import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO, "tests", "FsdNet.Tests", "Golden", "optim")
STEPS = 6
ZERO_GRAD_STEP = 3
DECAY_STEP = 4

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

CASES = [
    ("adam", "Adam", 0.01, {}),
    ("adam_betas", "Adam", 0.01, {"betas": (0.8, 0.99), "eps": 1e-6}),
    ("adamw", "AdamW", 0.01, {}),
    ("adamw_wd", "AdamW", 0.01, {"weight_decay": 0.1, "betas": (0.85, 0.995)}),
    ("sgd", "SGD", 0.1, {}),
    ("sgd_momentum", "SGD", 0.1, {"momentum": 0.9}),
    ("sgd_dampening_wd", "SGD", 0.1, {"momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    ("sgd_nesterov", "SGD", 0.1, {"momentum": 0.9, "nesterov": True, "weight_decay": 1e-3}),
    ("adagrad", "Adagrad", 0.1, {}),
    ("adagrad_decay", "Adagrad", 0.1, {"lr_decay": 0.05, "weight_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("rmsprop", "RMSprop", 0.01, {}),
    ("rmsprop_centered", "RMSprop", 0.01, {"centered": True, "alpha": 0.9}),
    ("rmsprop_momentum", "RMSprop", 0.01, {"momentum": 0.9, "centered": True, "weight_decay": 0.01}),
]


def entry(t):
    t = t.detach().to(torch.float32)
    data = [float(v) for v in t.reshape(-1).tolist()]
    assert all(math.isfinite(v) for v in data)
    return {"shape": list(t.shape), "data": data}


def run(name, cls, lr, kwargs, seed):
    torch.manual_seed(seed)
    params = [torch.randn(5, 4).requires_grad_(True), torch.randn(7).requires_grad_(True)]
    tensors = {f"p{k}_init": p.clone() for k, p in enumerate(params)}
    opt = getattr(torch.optim, cls)(params, lr=lr, **kwargs)
    for t in range(1, STEPS + 1):
        for k, p in enumerate(params):
            g = torch.randn_like(p) * (0.5 + k)
            if k == 1 and t == ZERO_GRAD_STEP:
                g = torch.zeros_like(p)
            p.grad = g
            tensors[f"g{t}_{k}"] = g.clone()
        opt.step()
        for k, p in enumerate(params):
            tensors[f"p{t}_{k}"] = p.detach().clone()
        if t == DECAY_STEP:
            for group in opt.param_groups:
                group["lr"] = group["lr"] * 0.1
    jsonable = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()}
    doc = {
        "case": name,
        "torch": torch.__version__,
        "description": f"torch.optim.{cls}(lr={lr}, {jsonable}); {STEPS} steps with set gradients; "
                       f"param 1 has a zero gradient at step {ZERO_GRAD_STEP}; lr x 0.1 after step {DECAY_STEP}.",
        "params": {"optimizer": cls, "lr": lr, "kwargs": jsonable, "steps": STEPS, "decay_step": DECAY_STEP},
        "tensors": {k: entry(v) for k, v in tensors.items()},
    }
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, name + ".json"), "w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(doc, indent=None, separators=(",", ":"), ensure_ascii=True))
        fh.write("\n")


if __name__ == "__main__":
    for i, (name, cls, lr, kwargs) in enumerate(CASES):
        run(name, cls, lr, kwargs, 1000 + i)
    print(f"wrote {len(CASES)} cases to {OUT_DIR}")
