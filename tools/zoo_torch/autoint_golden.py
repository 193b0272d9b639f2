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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import perturb_mirror  # noqa: E402
from mirror_golden import finish, record, start  # noqa: E402
from mirrors.AutoInt import build  # noqa: E402

BASE = {"embedding_dim": 3, "attention_dim": 4, "net_dropout": 0, "batch_norm": True}
CASES = {
    "plain": dict(BASE, attention_layers=2, num_heads=1, dnn_hidden_units=[]),
    "plus": dict(BASE, attention_layers=2, num_heads=2, use_scale=True, layer_norm=True, use_wide=True,
                 dnn_hidden_units=[6, 5]),
    "no_residual": dict(BASE, attention_layers=2, num_heads=2, use_residual=False, dnn_hidden_units=[]),
    "fsd": dict(BASE, attention_layers=2, num_heads=2, layer_norm=True, use_wide=True, dnn_hidden_units=[5, 5],
                fsd=True, choice=2, loss_coefficient=0.8, Temp=1.5, fea_coefficient=0.05),
}


def main():
    tensors = start()
    for k, (case, cfg) in enumerate(CASES.items()):
        record(tensors, case, build, cfg, 400 + k, base_perturb=perturb_mirror)
    finish("autoint.json", "autoint", __doc__, {}, tensors)


if __name__ == "__main__":
    main()
