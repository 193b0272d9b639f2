#!/usr/bin/python3
"""Golden data for LR, FM, DNN, WideDeep and DeepFM (FuxiCTR model_zoo, written here from their definitions):
tests/FsdNet.Tests/Golden/zoo/basic.json.

    /usr/bin/python3 tools/zoo_torch/basic_golden.py

Inputs: three categorical fields (nn.Embedding, padding_idx 0) and one numeric field (nn.Linear(1, d, bias=False)).
LogisticRegression: the same fields embedded with dim 1, summed over fields, + bias. FM: LR + product_sum,
0.5 * sum_d((sum_f e)^2 - sum_f e^2). MLP_Block(output_dim=1): Linear -> BatchNorm -> ReLU per hidden layer, then
Linear. DNN = MLP(x0); WideDeep = LR + MLP(x0); DeepFM = FM + MLP(x0). Loss: BCE on sigmoid, mean.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import mlp, mlp_names, write  # noqa: E402

torch.set_num_threads(1)
VOCAB = [6, 5, 4]
D = 3
HIDDEN = [7, 5]




class Embed(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.cat = nn.ModuleList(nn.Embedding(v, dim, padding_idx=0) for v in VOCAB)
        self.num = nn.Linear(1, dim, bias=False)
        with torch.no_grad():
            for e in self.cat:
                e.weight.normal_(0, 0.5)
                e.weight[0].zero_()
            self.num.weight.normal_(0, 0.5)

    def forward(self, codes, values):
        return torch.stack([e(codes[:, i]) for i, e in enumerate(self.cat)] + [self.num(values)], dim=1)

    def named(self, prefix):
        out = {"%sf%d.weight" % (prefix, i): e.weight for i, e in enumerate(self.cat)}
        out[prefix + "n.weight"] = self.num.weight
        return out






def product_sum(e):
    return (0.5 * (e.sum(dim=1) ** 2 - (e ** 2).sum(dim=1))).sum(dim=-1, keepdim=True)


def main():
    codes = torch.tensor([[1, 2, 3], [5, 0, 1], [0, 4, 2], [3, 1, 0], [2, 3, 3], [4, 4, 1], [1, 0, 2], [5, 2, 0]])
    values = torch.tensor([[0.5], [-1.0], [2.0], [0.0], [1.5], [-0.5], [0.25], [1.0]])
    labels = torch.tensor([1, 0, 0, 1, 1, 0, 1, 0], dtype=torch.float32)
    tensors = {"codes": codes, "values": values, "labels": labels}
    for k, model in enumerate(["LR", "FM", "DNN", "WideDeep", "DeepFM"]):
        torch.manual_seed(300 + k)
        named = {}
        emb = lr = lr_bias = seq = None
        if model != "LR":
            emb = Embed(D)
            named.update(emb.named("embedding.embedding_layer."))
        if model in ("LR", "FM", "WideDeep", "DeepFM"):
            lr = Embed(1)
            lr_bias = nn.Parameter(torch.randn(1) * 0.3)
            pre = {"LR": "lr_layer.", "WideDeep": "lr_layer.", "FM": "fm.lr_layer.", "DeepFM": "fm.lr_layer."}[model]
            named.update(lr.named(pre + "embedding_layer.embedding_layer."))
            named[pre + "bias"] = lr_bias
        if model in ("DNN", "WideDeep", "DeepFM"):
            seq, _ = mlp(4 * D, HIDDEN, output_dim=1)
            named.update(mlp_names(seq, HIDDEN, "mlp.", hidden="hidden.", output=True))
        for n, p in named.items():
            tensors[model + ":" + n] = p.detach().clone()
        z = 0
        if lr is not None:
            z = z + lr(codes, values).sum(dim=1) + lr_bias
        if model in ("FM", "DeepFM"):
            z = z + product_sum(emb(codes, values))
        if seq is not None:
            z = z + seq(emb(codes, values).flatten(1))
        p = torch.sigmoid(z)
        loss = F.binary_cross_entropy(p.squeeze(1), labels)
        grads = torch.autograd.grad(loss, list(named.values()))
        tensors[model + ":y_pred"] = p
        tensors[model + ":loss"] = loss
        for n, g in zip(named, grads):
            tensors[model + ":d" + n] = g
    write("basic.json", "basic_zoo", __doc__, {"vocab_sizes": VOCAB, "embedding_dim": D, "hidden_units": HIDDEN}, tensors)


if __name__ == "__main__":
    main()
