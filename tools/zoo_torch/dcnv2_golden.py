#!/usr/bin/python3
"""Golden data for DCNv2 (FuxiCTR model_zoo/DCNv2, written here from its definition): every model_structure, plus
fsd: true: tests/FsdNet.Tests/Golden/zoo/dcnv2.json.

    /usr/bin/python3 tools/zoo_torch/dcnv2_golden.py

CrossNetV2: x_{l+1} = x_l + x0 * (W_l x_l + b_l). MLP_Block without output layer: Linear -> BatchNorm -> ReLU per
hidden layer (dropout 0). final: crossnet_only cross_out; stacked mlp_s(cross_out); parallel [cross_out ;
mlp_p(x0)]; stacked_parallel [mlp_s(cross_out) ; mlp_p(x0)]; y = sigmoid(fc(final)); loss = BCE mean.
Embeddings: one nn.Embedding per field (padding_idx 0), flattened. One train-mode forward per structure.
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
    perturb([*cross, fc])
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
        if stacked is not None:
            named.update(mlp_names(stacked, STACKED, "stacked_dnn."))
        if parallel is not None:
            named.update(mlp_names(parallel, PARALLEL, "dnn."))
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
    write("dcnv2.json", "dcnv2", __doc__, {"vocab_sizes": VOCAB, "embedding_dim": D, "num_cross_layers": LAYERS,
                      "stacked_dnn_hidden_units": STACKED, "parallel_dnn_hidden_units": PARALLEL}, tensors)


if __name__ == "__main__":
    main()
