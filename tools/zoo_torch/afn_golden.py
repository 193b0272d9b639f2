#!/usr/bin/python3
"""Golden data for AFN (FuxiCTR model_zoo/AFN) from the mirror tools/zoo_torch/mirrors/AFN.py:
tests/FsdNet.Tests/Golden/zoo/afn.json.

    /usr/bin/python3 tools/zoo_torch/afn_golden.py

Cases: "plus" (AFN+: ensemble_dnn true, batch_norm true, afn_hidden_units [7, 5], dnn_hidden_units [6],
logarithmic_neurons 4) and "afn" (ensemble_dnn false, batch_norm false, afn_hidden_units [6], logarithmic_neurons 3).
Codes 0 (padding, a zero embedding) reach the clamp of |e| at 1e-5.
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
import AFN  # noqa: E402

torch.set_num_threads(1)
VOCAB = [6, 5, 4]
FIELDS = ["f0", "f1", "f2"]
CASES = {
    "plus": {"embedding_dim": 3, "afn_hidden_units": [7, 5], "dnn_hidden_units": [6], "logarithmic_neurons": 4},
    "afn": {"embedding_dim": 4, "ensemble_dnn": False, "batch_norm": False, "afn_hidden_units": [6],
            "logarithmic_neurons": 3},
}


def main():
    codes = torch.tensor([[1, 2, 3], [5, 0, 1], [0, 4, 2], [3, 1, 0], [2, 3, 3], [4, 4, 1], [1, 0, 2], [5, 2, 0]])
    labels = torch.tensor([1, 0, 0, 1, 1, 0, 1, 0], dtype=torch.float32)
    tensors = {"codes": codes, "labels": labels}
    for k, (case, cfg) in enumerate(CASES.items()):
        torch.manual_seed(300 + k)
        golden_case(case, AFN.build(VOCAB, cfg), FIELDS, codes, labels, tensors, 400 + k)
    write("afn.json", "afn", __doc__, {"vocab_sizes": VOCAB, "cases": CASES}, tensors)


if __name__ == "__main__":
    main()
