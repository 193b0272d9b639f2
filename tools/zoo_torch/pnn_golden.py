#!/usr/bin/python3
"""Golden data for PNN (FuxiCTR model_zoo/PNN) from the mirror tools/zoo_torch/mirrors/PNN.py:
tests/FsdNet.Tests/Golden/zoo/pnn.json.

    /usr/bin/python3 tools/zoo_torch/pnn_golden.py

Cases: "bn" (hidden_units [7, 5], batch_norm true) and "plain" (hidden_units [6], batch_norm false, tanh).
Embeddings and weights are perturbed from FuxiCTR's initial values; one train-mode forward each.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mirror_golden import golden_cases  # noqa: E402
from mirrors import PNN  # noqa: E402

CASES = {
    "bn": {"embedding_dim": 3, "hidden_units": [7, 5], "batch_norm": True},
    "plain": {"embedding_dim": 4, "hidden_units": [6], "hidden_activations": "tanh"},
}


def main():
    golden_cases("pnn.json", "pnn", __doc__, CASES, PNN.build)


if __name__ == "__main__":
    main()
