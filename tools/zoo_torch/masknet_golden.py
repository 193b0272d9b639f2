#!/usr/bin/python3
"""Golden data for MaskNet (FuxiCTR model_zoo/MaskNet) through its mirror tools/zoo_torch/mirrors/MaskNet.py:
tests/FsdNet.Tests/Golden/zoo/masknet.json.

    /usr/bin/python3 tools/zoo_torch/masknet_golden.py

Cases: "serial" (SerialMaskNet, emb_layernorm and net_layernorm, reduction_ratio 1.5), "serial_plain" (no
LayerNorms, tanh), "parallel" (ParallelMaskNet, 2 blocks of 5, reduction_ratio 0.5, DNN [6, 4]).
Initial values perturbed (embeddings N(0, 0.5), Xavier weights, non-zero biases); one train-mode forward
each, loss and every parameter gradient.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import perturb_mirror  # noqa: E402
from mirror_golden import finish, record, start  # noqa: E402
from mirrors.MaskNet import build  # noqa: E402

BASE = {"embedding_dim": 3, "net_dropout": 0}
CASES = {
    "serial": dict(BASE, model_type="SerialMaskNet", dnn_hidden_units=[6, 5], reduction_ratio=1.5),
    "serial_plain": dict(BASE, model_type="SerialMaskNet", dnn_hidden_units=[6, 5], emb_layernorm=False,
                         net_layernorm=False, dnn_hidden_activations="tanh"),
    "parallel": dict(BASE, model_type="ParallelMaskNet", parallel_num_blocks=2, parallel_block_dim=5,
                     reduction_ratio=0.5, dnn_hidden_units=[6, 4]),
}


def main():
    tensors = start()
    for k, (case, cfg) in enumerate(CASES.items()):
        record(tensors, case, build, cfg, 500 + k, base_perturb=perturb_mirror)
    finish("masknet.json", "masknet", __doc__, {}, tensors)


if __name__ == "__main__":
    main()
