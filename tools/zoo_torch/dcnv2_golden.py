#!/usr/bin/python3
"""Golden data for DCNv2 (FuxiCTR model_zoo/DCNv2, written here from its definition): every model_structure, plus
fsd: true: tests/FsdNet.Tests/Golden/zoo/dcnv2.json.

    /usr/bin/python3 tools/zoo_torch/dcnv2_golden.py

CrossNetV2: x_{l+1} = x_l + x0 * (W_l x_l + b_l). MLP_Block without output layer: Linear -> BatchNorm -> ReLU per
hidden layer (dropout 0). final: crossnet_only cross_out; stacked mlp_s(cross_out); parallel [cross_out ;
mlp_p(x0)]; stacked_parallel [mlp_s(cross_out) ; mlp_p(x0)]; y = sigmoid(fc(final)); loss = BCE mean.
Embeddings: one nn.Embedding per field (padding_idx 0), flattened. One train-mode forward per structure.
"""

import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "tests", "FsdNet.Tests", "Golden", "zoo", "dcnv2.json")
torch.set_num_threads(1)
VOCAB = [6, 5, 4]
D = 3
LAYERS = 2
STACKED = [7, 5]
PARALLEL = [6, 4]


def entry(t):
    t = t.detach()
    if t.is_floating_point():
        vals = [float(v) for v in t.float().reshape(-1).tolist()]
        assert all(math.isfinite(v) for v in vals)
    else:
        vals = [int(v) for v in t.reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": vals}


def mlp(in_dim, units):
    layers, w = [], in_dim
    for u in units:
        layers += [nn.Linear(w, u), nn.BatchNorm1d(u), nn.ReLU()]
        w = u
    return nn.Sequential(*layers), w


def build(structure, seed):
    torch.manual_seed(seed)
    emb = nn.ModuleList(nn.Embedding(v, D, padding_idx=0) for v in VOCAB)
    d0 = len(VOCAB) * D
    cross = nn.ModuleList(nn.Linear(d0, d0) for _ in range(LAYERS))
    stacked = parallel = None
    if structure in ("stacked", "stacked_parallel"):
        stacked, ws = mlp(d0, STACKED)
    if structure in ("parallel", "stacked_parallel"):
        parallel, wp = mlp(d0, PARALLEL)
    final = {"crossnet_only": d0, "stacked": STACKED[-1], "parallel": d0 + PARALLEL[-1],
             "stacked_parallel": STACKED[-1] + PARALLEL[-1]}[structure]
    fc = nn.Linear(final, 1)
    with torch.no_grad():
        for e in emb:
            e.weight.normal_(0, 0.5)
            e.weight[0].zero_()
        for m in [*cross, fc, *(stacked or []), *(parallel or [])]:
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                m.bias.normal_(0, 0.2)
            elif isinstance(m, nn.BatchNorm1d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.3)
    return emb, cross, stacked, parallel, fc


def main():
    codes = torch.tensor([[1, 2, 3], [5, 0, 1], [0, 4, 2], [3, 1, 0], [2, 3, 3], [4, 4, 1], [1, 0, 2], [5, 2, 0]])
    labels = torch.tensor([1, 0, 0, 1, 1, 0, 1, 0], dtype=torch.float32)
    tensors = {"codes": codes, "labels": labels}
    for k, structure in enumerate(["crossnet_only", "stacked", "parallel", "stacked_parallel"]):
        emb, cross, stacked, parallel, fc = build(structure, 100 + k)
        named = {}
        for i, e in enumerate(emb):
            named["embedding.embedding_layer.f%d.weight" % i] = e.weight
        for i, c in enumerate(cross):
            named["cross.cross_layers.%d.weight" % i] = c.weight
            named["cross.cross_layers.%d.bias" % i] = c.bias
        for prefix, seq in (("stacked_dnn", stacked), ("dnn", parallel)):
            if seq is None:
                continue
            for i in range(len(seq) // 3):
                lin, bn = seq[3 * i], seq[3 * i + 1]
                named["%s.%d.linear.weight" % (prefix, i)] = lin.weight
                named["%s.%d.linear.bias" % (prefix, i)] = lin.bias
                named["%s.%d.batch_norm.weight" % (prefix, i)] = bn.weight
                named["%s.%d.batch_norm.bias" % (prefix, i)] = bn.bias
        named["fc.weight"] = fc.weight
        named["fc.bias"] = fc.bias
        for n, p in named.items():
            tensors[structure + ":" + n] = p.detach().clone()
        x0 = torch.cat([e(codes[:, i]) for i, e in enumerate(emb)], dim=1)
        x = x0
        for c in cross:
            x = x + x0 * c(x)
        final = {"crossnet_only": lambda: x, "stacked": lambda: stacked(x), "parallel": lambda: torch.cat([x, parallel(x0)], 1),
                 "stacked_parallel": lambda: torch.cat([stacked(x), parallel(x0)], 1)}[structure]()
        z = fc(final)
        p = torch.sigmoid(z)
        loss = F.binary_cross_entropy(p.squeeze(1), labels)
        grads = torch.autograd.grad(loss, list(named.values()))
        tensors[structure + ":y_pred"] = p
        tensors[structure + ":loss"] = loss
        for n, g in zip(named, grads):
            tensors[structure + ":d" + n] = g
    doc = {"case": "dcnv2", "torch": torch.__version__, "description": __doc__.strip(),
           "params": {"vocab_sizes": VOCAB, "embedding_dim": D, "num_cross_layers": LAYERS,
                      "stacked_dnn_hidden_units": STACKED, "parallel_dnn_hidden_units": PARALLEL},
           "tensors": {k: entry(v) for k, v in tensors.items()}}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(doc, separators=(",", ":")))
        fh.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
