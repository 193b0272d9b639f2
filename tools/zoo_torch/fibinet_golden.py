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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mirror_golden import golden_cases  # noqa: E402
from mirrors import FiBiNET  # noqa: E402

CASES = {
    "interaction": {"embedding_dim": 3, "hidden_units": [7, 5], "batch_norm": True, "reduction_ratio": 1.5},
    "all": {"embedding_dim": 4, "bilinear_type": "field_all", "excitation_activation": "sigmoid"},
    "each": {"embedding_dim": 3, "bilinear_type": "field_each", "reduction_ratio": 2, "hidden_units": [6],
             "excitation_activation": "sigmoid"},
}


def main():
    golden_cases("fibinet.json", "fibinet", __doc__, CASES, FiBiNET.build)


if __name__ == "__main__":
    main()
