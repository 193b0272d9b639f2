#!/usr/bin/python3
"""Golden data for FiBiNET (FuxiCTR model_zoo/FiBiNET) from the mirror tools/zoo_torch/mirrors/FiBiNET.py:
tests/FsdNet.Tests/Golden/zoo/fibinet.json.

    /usr/bin/python3 tools/zoo_torch/fibinet_golden.py

Cases: "interaction" (bilinear_type field_interaction, reduction_ratio 1.5, hidden_units [7, 5], batch_norm true), "all" (field_all,
excitation_activation sigmoid, no hidden layer), "each" (field_each, reduction_ratio 2, sigmoid, hidden_units [6]).
Embeddings and weights are perturbed from FuxiCTR's initial values; one train-mode forward each.
"""

import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "mirrors"))
from common import write  # noqa: E402
from _layers_zoo_a import golden_case  # noqa: E402
import FiBiNET  # noqa: E402

torch.set_num_threads(1)
VOCAB = [6, 5, 4]
FIELDS = ["f0", "f1", "f2"]
CASES = {
    "interaction": {"embedding_dim": 3, "hidden_units": [7, 5], "batch_norm": True, "reduction_ratio": 1.5},
    "all": {"embedding_dim": 4, "bilinear_type": "field_all", "excitation_activation": "sigmoid"},
    "each": {"embedding_dim": 3, "bilinear_type": "field_each", "reduction_ratio": 2, "hidden_units": [6],
             "excitation_activation": "sigmoid"},
}


def main():
    codes = torch.tensor([[1, 2, 3], [5, 0, 1], [0, 4, 2], [3, 1, 0], [2, 3, 3], [4, 4, 1], [1, 0, 2], [5, 2, 0]])
    labels = torch.tensor([1, 0, 0, 1, 1, 0, 1, 0], dtype=torch.float32)
    tensors = {"codes": codes, "labels": labels}
    for k, (case, cfg) in enumerate(CASES.items()):
        torch.manual_seed(300 + k)
        golden_case(case, FiBiNET.build(VOCAB, cfg), FIELDS, codes, labels, tensors, 400 + k)
    write("fibinet.json", "fibinet", __doc__, {"vocab_sizes": VOCAB, "cases": CASES}, tensors)


if __name__ == "__main__":
    main()
