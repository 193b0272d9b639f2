#!/usr/bin/python3
"""Golden data for AutoInt (FuxiCTR model_zoo/AutoInt) through its mirror tools/zoo_torch/mirrors/AutoInt.py:
tests/FsdNet.Tests/Golden/zoo/autoint.json.

    /usr/bin/python3 tools/zoo_torch/autoint_golden.py

Cases: "plain" (one head, no DNN, residual through W_res), "plus" (AutoInt+: 2 heads, use_scale, layer_norm,
use_wide, DNN with batch_norm), "no_residual" (use_residual false, 2 layers), "fsd" (fsd: true, choice 2,
loss_coefficient 0.8, Temp 1.5, fea_coefficient 0.05, use_wide; fused widths equal). Initial values perturbed (embeddings N(0, 0.5), Xavier weights, non-zero biases); one train-mode forward
each, loss and every parameter gradient.
"""

import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import perturb, write  # noqa: E402
from mirrors.AutoInt import build  # noqa: E402

torch.set_num_threads(1)
VOCAB = [6, 5, 4]
FIELDS = ["f0", "f1", "f2"]
BASE = {"embedding_dim": 3, "attention_dim": 4, "net_dropout": 0, "batch_norm": True}
CASES = {
    "plain": dict(BASE, attention_layers=2, num_heads=1, dnn_hidden_units=[]),
    "plus": dict(BASE, attention_layers=2, num_heads=2, use_scale=True, layer_norm=True, use_wide=True,
                 dnn_hidden_units=[6, 5]),
    "no_residual": dict(BASE, attention_layers=2, num_heads=2, use_residual=False, dnn_hidden_units=[]),
    "fsd": dict(BASE, attention_layers=2, num_heads=2, layer_norm=True, use_wide=True, dnn_hidden_units=[5, 5],
                fsd=True, choice=2, loss_coefficient=0.8, Temp=1.5, fea_coefficient=0.05),
}


def perturb_model(model):
    perturb(model.modules())
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Embedding):
                m.weight.normal_(0, 0.5)
                m.weight[0].zero_()
            elif isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.3)


def main():
    codes = torch.tensor([[1, 2, 3], [5, 0, 1], [0, 4, 2], [3, 1, 0], [2, 3, 3], [4, 4, 1], [1, 0, 2], [5, 2, 0]])
    labels = torch.tensor([1, 0, 0, 1, 1, 0, 1, 0], dtype=torch.float32)
    tensors = {"codes": codes, "labels": labels}
    for k, (case, cfg) in enumerate(CASES.items()):
        torch.manual_seed(400 + k)
        model = build(VOCAB, cfg)
        perturb_model(model)
        model.train()
        named = model.fsdnet_names(FIELDS)
        for n, p in named.items():
            tensors[case + ":" + n] = p.detach().clone()
        tensors[case + ":y_pred"] = model.predict(codes)
        loss = model.loss(codes, labels)
        tensors[case + ":loss"] = loss
        grads = torch.autograd.grad(loss, list(named.values()))
        for n, g in zip(named, grads):
            tensors[case + ":d" + n] = g
    write("autoint.json", "autoint", __doc__, {"vocab_sizes": VOCAB, "cases": CASES}, tensors)


if __name__ == "__main__":
    main()
