#!/usr/bin/python3
"""Golden data for FSDNet on every input type: tests/FsdNet.Tests/Golden/fsdnet/inputs.json.

Run with the Debian python (torch):  /usr/bin/python3 tools/fsdnet_torch/make_inputs_golden.py
Deterministic (fixed seed, one thread, one train-mode forward).

The input layer follows FuxiCTR 2.3's FeatureEmbeddingDict, written here from its definition:
  categorical  nn.Embedding(vocab, d, padding_idx=0)
  numeric      nn.Linear(1, d, bias=False) applied to the value            -> value * w
  sequence     nn.Embedding(vocab, d, padding_idx=0) per token, then
               MaskedAveragePooling (sum / (#non-zero-vector tokens + 1e-12)) or MaskedSumPooling (sum)
  share        a field reads another field's nn.Embedding (share_embedding)
  embedding    the row's pretrain_dim floats through nn.Linear(pretrain_dim, d, bias=False)
  per-field    embedding_dim overrides the model's
x0 = torch.cat of the field embeddings in feature-map order (flatten_emb=True).
On top: FSDNet (CrossNetV2 + parallel DNN with BatchNorm, one head per layer), loss choice 2, official soft loss,
the same as tools/fsdnet_torch/fsdnet.py.
"""

import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fsdnet as M  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "tests", "FsdNet.Tests", "Golden", "fsdnet", "inputs.json")

torch.set_num_threads(1)
SEED = 20261201
D = 4
L = 2
H = 6
MU, TAU, BETA = 0.8, 1.3, 0.05

# Feature map order: a (categorical, vocab 6), n1 (numeric), s (sequence, vocab 7, max_len 4, mean),
# t (sequence, max_len 3, sum, shares a's table), e (embedding, pretrain_dim 5), n2 (numeric, embedding_dim 3).
FIELDS = ["a", "n1", "s", "t", "e", "n2"]


def entry(t):
    t = t.detach().cpu()
    if t.is_floating_point():
        vals = [float(v) for v in t.to(torch.float32).reshape(-1).tolist()]
        assert all(math.isfinite(v) for v in vals)
    else:
        vals = [int(v) for v in t.reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": vals}


def masked_mean(emb):
    mask = emb.sum(dim=-1) != 0
    return emb.sum(dim=1) / (mask.float().sum(-1, keepdim=True) + 1e-12)


class Inputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Embedding(6, D, padding_idx=0)
        self.n1 = nn.Linear(1, D, bias=False)
        self.s = nn.Embedding(7, D, padding_idx=0)
        self.e = nn.Linear(5, D, bias=False)
        self.n2 = nn.Linear(1, 3, bias=False)
        with torch.no_grad():
            for emb in (self.a, self.s):
                emb.weight.normal_(0.0, 0.5)
                emb.weight[0].zero_()
            for lin in (self.n1, self.e, self.n2):
                nn.init.xavier_normal_(lin.weight)

    def forward(self, cat, num, seq, dense):
        parts = [
            self.a(cat[:, 0]),
            self.n1(num[:, 0:1]),
            masked_mean(self.s(seq[:, 0:4])),
            self.a(seq[:, 4:7]).sum(dim=1),
            self.e(dense),
            self.n2(num[:, 1:2]),
        ]
        return torch.cat(parts, dim=1)


class Tower(nn.Module):
    def __init__(self, d0):
        super().__init__()
        self.cross = nn.ModuleList(nn.Linear(d0, d0) for _ in range(L))
        self.dnn = nn.ModuleList()
        self.bns = nn.ModuleList()
        w = d0
        for _ in range(L):
            self.dnn.append(nn.Linear(w, H))
            self.bns.append(nn.BatchNorm1d(H))
            w = H
        self.heads = nn.ModuleList(nn.Linear(d0 + H, 1) for _ in range(L))
        with torch.no_grad():
            for lin in list(self.cross) + list(self.dnn) + list(self.heads):
                nn.init.xavier_normal_(lin.weight)
                lin.bias.normal_(0.0, 0.2)
            for bn in self.bns:
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.normal_(0.0, 0.3)

    def forward(self, x0):
        xc, xd = x0, x0
        feats, logits, probs = [], [], []
        for i in range(L):
            xc = xc + x0 * self.cross[i](xc)
            xd = F.relu(self.bns[i](self.dnn[i](xd)))
            f = torch.cat([xc, xd], dim=1)
            z = self.heads[i](f).squeeze(1)
            feats.append(f)
            logits.append(z)
            probs.append(torch.sigmoid(z))
        return {"y_pred": sum(probs) / len(probs), "logits": logits, "probs": probs, "features": feats}


def main():
    torch.manual_seed(SEED)
    inputs = Inputs()
    d0 = 5 * D + 3
    tower = Tower(d0)
    inputs.train()
    tower.train()
    cat = torch.tensor([[1], [5], [0], [3], [2], [4]], dtype=torch.long)
    num = torch.tensor([[0.5, -1.0], [1.5, 0.0], [-0.25, 2.0], [0.0, 0.75], [2.0, -0.5], [-1.0, 1.0]])
    # s: 4 codes (post padding), t: 3 codes into a's table; row 2 has an all-padding s, row 4 an all-padding t
    seq = torch.tensor([[1, 2, 0, 0, 1, 1, 0],
                        [3, 0, 0, 0, 5, 2, 3],
                        [0, 0, 0, 0, 4, 0, 0],
                        [6, 5, 4, 3, 2, 0, 0],
                        [2, 2, 1, 0, 0, 0, 0],
                        [4, 1, 0, 0, 3, 3, 1]], dtype=torch.long)
    dense = torch.randn(6, 5)
    labels = torch.tensor([1, 0, 0, 1, 1, 0], dtype=torch.float32)

    params = {
        "emb_a": inputs.a.weight, "num_n1": inputs.n1.weight, "emb_s": inputs.s.weight,
        "proj_e": inputs.e.weight, "num_n2": inputs.n2.weight,
    }
    for i in range(L):
        params["cross_W%d" % i] = tower.cross[i].weight
        params["cross_b%d" % i] = tower.cross[i].bias
        params["dnn_W%d" % i] = tower.dnn[i].weight
        params["dnn_b%d" % i] = tower.dnn[i].bias
        params["bn_gamma%d" % i] = tower.bns[i].weight
        params["bn_beta%d" % i] = tower.bns[i].bias
        params["head_W%d" % i] = tower.heads[i].weight
        params["head_b%d" % i] = tower.heads[i].bias
    tensors = {"cat": cat, "num": num, "seq": seq, "dense": dense, "labels": labels}
    for k, v in params.items():
        tensors[k] = v.detach().clone()

    x0 = inputs(cat, num, seq, dense)
    out = tower(x0)
    tensors["x0"] = x0
    for i in range(L):
        tensors["logits%d" % i] = out["logits"][i]
        tensors["f%d" % i] = out["features"][i]
    tensors["y_pred"] = out["y_pred"]
    loss = M.total_loss(out, labels, 2, MU, TAU, BETA, soft="official")
    tensors["loss"] = loss
    names = list(params.keys())
    grads = torch.autograd.grad(loss, [params[n] for n in names])
    for n, g in zip(names, grads):
        tensors["d" + n] = g

    doc = {
        "case": "fsdnet_inputs",
        "torch": torch.__version__,
        "description": __doc__.strip(),
        "params": {"embedding_dim": D, "num_layers": L, "hidden_units": H, "mu": MU, "tau": TAU, "beta": BETA,
                   "fields": FIELDS, "seed": SEED},
        "tensors": {k: entry(v) for k, v in tensors.items()},
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(doc, separators=(",", ":"), ensure_ascii=True))
        fh.write("\n")
    print("wrote %s, loss %r" % (OUT, float(loss)))


if __name__ == "__main__":
    main()
