"""Shared pieces of the zoo golden scripts: JSON entries, FuxiCTR's MLP_Block (Linear -> BatchNorm -> ReLU) with
perturbed initial values, its parameter names in FsdNet, and writing the golden file."""

import json
import math
import os

import torch
import torch.nn as nn

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def entry(t):
    t = t.detach()
    if t.is_floating_point():
        vals = [float(v) for v in t.float().reshape(-1).tolist()]
        assert all(math.isfinite(v) for v in vals)
    else:
        vals = [int(v) for v in t.reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": vals}


def perturb(modules):
    """Xavier-normal weights and non-zero biases / BatchNorm affine, so no value is trivially tiny."""
    with torch.no_grad():
        for m in modules:
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                if m.bias is not None:
                    m.bias.normal_(0, 0.2)
            elif isinstance(m, nn.BatchNorm1d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.3)


def perturb_mirror(model):
    """perturb() over a mirror, then embeddings N(0, 0.5) (padding row 0), LayerNorm affine away from 1/0, and
    Conv1d like Linear (the AutoInt, MaskNet and xDeepFM golden files)."""
    perturb(model.modules())
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Embedding):
                m.weight.normal_(0, 0.5)
                m.weight[0].zero_()
            elif isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.3)
            elif isinstance(m, nn.Conv1d):
                nn.init.xavier_normal_(m.weight)
                m.bias.normal_(0, 0.2)


def mlp(in_dim, units, output_dim=None):
    """FuxiCTR's MLP_Block with batch_norm and dropout 0; returns (nn.Sequential, output width)."""
    layers, w = [], in_dim
    for u in units:
        layers += [nn.Linear(w, u), nn.BatchNorm1d(u), nn.ReLU()]
        w = u
    if output_dim is not None:
        layers.append(nn.Linear(w, output_dim))
        w = output_dim
    seq = nn.Sequential(*layers)
    perturb(seq)
    return seq, w


def mlp_names(seq, units, prefix, hidden="", output=False):
    """FsdNet's names for an MLP's parameters: <prefix><hidden><i>.linear/batch_norm.*, and <prefix>output.* ."""
    out = {}
    for i in range(len(units)):
        lin, bn = seq[3 * i], seq[3 * i + 1]
        out["%s%s%d.linear.weight" % (prefix, hidden, i)] = lin.weight
        out["%s%s%d.linear.bias" % (prefix, hidden, i)] = lin.bias
        out["%s%s%d.batch_norm.weight" % (prefix, hidden, i)] = bn.weight
        out["%s%s%d.batch_norm.bias" % (prefix, hidden, i)] = bn.bias
    if output:
        out[prefix + "output.weight"] = seq[-1].weight
        out[prefix + "output.bias"] = seq[-1].bias
    return out


def write(name, case, description, params, tensors):
    out = os.path.join(REPO, "tests", "FsdNet.Tests", "Golden", "zoo", name)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    doc = {"case": case, "torch": torch.__version__, "description": description.strip(), "params": params,
           "tensors": {k: entry(v) for k, v in tensors.items()}}
    with open(out, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(doc, separators=(",", ":")))
        fh.write("\n")
    print("wrote", out)
