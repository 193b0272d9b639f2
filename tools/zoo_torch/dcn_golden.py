#!/usr/bin/python3
"""Golden data for DCN (FuxiCTR model_zoo/DCN, written here from its definition), with and without the DNN tower:
tests/FsdNet.Tests/Golden/zoo/dcn.json.

    /usr/bin/python3 tools/zoo_torch/dcn_golden.py

CrossNet: x_{l+1} = x_l + (w_l . x_l) x0 + b_l (w_l: Linear(d, 1, bias=False), b_l [d]). MLP_Block without output
layer: Linear -> BatchNorm -> ReLU per hidden layer. final = [cross_out ; mlp(x0)] (or cross_out alone);
y = sigmoid(fc(final)); loss = BCE mean. One train-mode forward per variant.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import mlp, mlp_names, perturb, write  # noqa: E402

torch.set_num_threads(1)
VOCAB = [6, 5, 4]
D = 3
LAYERS = 2
STACKED = [7, 5]
PARALLEL = [6, 4]






def build(structure, seed):
    torch.manual_seed(seed)
    emb = nn.ModuleList(nn.Embedding(v, D, padding_idx=0) for v in VOCAB)
    d0 = len(VOCAB) * D
    cross_w = nn.ModuleList(nn.Linear(d0, 1, bias=False) for _ in range(LAYERS))
    cross_b = nn.ParameterList(nn.Parameter(torch.randn(d0) * 0.2) for _ in range(LAYERS))
    parallel = None
    if structure == "with_dnn":
        parallel, _ = mlp(d0, PARALLEL)
    fc = nn.Linear(d0 + (PARALLEL[-1] if parallel is not None else 0), 1)
    with torch.no_grad():
        for e in emb:
            e.weight.normal_(0, 0.5)
            e.weight[0].zero_()
    perturb([*cross_w, fc])
    return emb, cross_w, cross_b, parallel, fc


def main():
    codes = torch.tensor([[1, 2, 3], [5, 0, 1], [0, 4, 2], [3, 1, 0], [2, 3, 3], [4, 4, 1], [1, 0, 2], [5, 2, 0]])
    labels = torch.tensor([1, 0, 0, 1, 1, 0, 1, 0], dtype=torch.float32)
    tensors = {"codes": codes, "labels": labels}
    for k, structure in enumerate(["cross_only", "with_dnn"]):
        emb, cross_w, cross_b, parallel, fc = build(structure, 200 + k)
        named = {}
        for i, e in enumerate(emb):
            named["embedding.embedding_layer.f%d.weight" % i] = e.weight
        if parallel is not None:
            named.update(mlp_names(parallel, PARALLEL, "dnn."))
        for i in range(LAYERS):
            named["crossnet.cross_net.%d.weight.weight" % i] = cross_w[i].weight
            named["crossnet.cross_net.%d.bias" % i] = cross_b[i]
        named["fc.weight"] = fc.weight
        named["fc.bias"] = fc.bias
        for n, p in named.items():
            tensors[structure + ":" + n] = p.detach().clone()
        x0 = torch.cat([e(codes[:, i]) for i, e in enumerate(emb)], dim=1)
        x = x0
        for i in range(LAYERS):
            x = x + cross_w[i](x) * x0 + cross_b[i]
        final = torch.cat([x, parallel(x0)], 1) if parallel is not None else x
        p = torch.sigmoid(fc(final))
        loss = F.binary_cross_entropy(p.squeeze(1), labels)
        grads = torch.autograd.grad(loss, list(named.values()))
        tensors[structure + ":y_pred"] = p
        tensors[structure + ":loss"] = loss
        for n, g in zip(named, grads):
            tensors[structure + ":d" + n] = g
    write("dcn.json", "dcn", __doc__, {"vocab_sizes": VOCAB, "embedding_dim": D, "num_cross_layers": LAYERS, "dnn_hidden_units": PARALLEL}, tensors)


if __name__ == "__main__":
    main()
