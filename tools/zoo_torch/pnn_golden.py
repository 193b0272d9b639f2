#!/usr/bin/python3
"""Golden data for PNN (FuxiCTR model_zoo/PNN) from the mirror tools/zoo_torch/mirrors/PNN.py:
tests/FsdNet.Tests/Golden/zoo/pnn.json.

    /usr/bin/python3 tools/zoo_torch/pnn_golden.py

Cases: "bn" (hidden_units [7, 5], batch_norm true) and "plain" (hidden_units [6], batch_norm false, tanh).
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
import PNN  # noqa: E402

torch.set_num_threads(1)
VOCAB = [6, 5, 4]
FIELDS = ["f0", "f1", "f2"]
CASES = {
    "bn": {"embedding_dim": 3, "hidden_units": [7, 5], "batch_norm": True},
    "plain": {"embedding_dim": 4, "hidden_units": [6], "hidden_activations": "tanh"},
}


def main():
    codes = torch.tensor([[1, 2, 3], [5, 0, 1], [0, 4, 2], [3, 1, 0], [2, 3, 3], [4, 4, 1], [1, 0, 2], [5, 2, 0]])
    labels = torch.tensor([1, 0, 0, 1, 1, 0, 1, 0], dtype=torch.float32)
    tensors = {"codes": codes, "labels": labels}
    for k, (case, cfg) in enumerate(CASES.items()):
        torch.manual_seed(300 + k)
        golden_case(case, PNN.build(VOCAB, cfg), FIELDS, codes, labels, tensors, 400 + k)
    write("pnn.json", "pnn", __doc__, {"vocab_sizes": VOCAB, "cases": CASES}, tensors)


if __name__ == "__main__":
    main()
