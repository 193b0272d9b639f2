#!/usr/bin/python3
"""Golden data for xDeepFM (FuxiCTR model_zoo/xDeepFM) through its mirror tools/zoo_torch/mirrors/xDeepFM.py:
tests/FsdNet.Tests/Golden/zoo/xdeepfm.json.

    /usr/bin/python3 tools/zoo_torch/xdeepfm_golden.py

Cases: "cin_only" (dnn_hidden_units []), "with_dnn" (CIN + DNN with batch_norm), "fsd" (fsd: true, choice 2,
loss_coefficient 0.8, Temp 1.5, fea_coefficient 0.05; CIN and DNN layers equally wide so the hint compares equal
widths). Initial values perturbed (embeddings N(0, 0.5), Xavier weights, non-zero biases); one train-mode forward
each, loss and every parameter gradient.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import perturb_mirror  # noqa: E402
from mirror_golden import finish, record, start  # noqa: E402
from mirrors.xDeepFM import build  # noqa: E402

BASE = {"embedding_dim": 3, "cin_hidden_units": [4, 3], "batch_norm": True, "net_dropout": 0}
CASES = {
    "cin_only": dict(BASE, dnn_hidden_units=[]),
    "with_dnn": dict(BASE, dnn_hidden_units=[6, 5]),
    "fsd": dict(BASE, cin_hidden_units=[4, 4], dnn_hidden_units=[5, 5], fsd=True, choice=2,
                loss_coefficient=0.8, Temp=1.5, fea_coefficient=0.05),
}


def main():
    tensors = start()
    for k, (case, cfg) in enumerate(CASES.items()):
        record(tensors, case, build, cfg, 300 + k, base_perturb=perturb_mirror)
    finish("xdeepfm.json", "xdeepfm", __doc__, {}, tensors)


if __name__ == "__main__":
    main()
