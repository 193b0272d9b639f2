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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mirror_golden import golden_cases  # noqa: E402
from mirrors import AFN  # noqa: E402

CASES = {
    "plus": {"embedding_dim": 3, "afn_hidden_units": [7, 5], "dnn_hidden_units": [6], "logarithmic_neurons": 4},
    "afn": {"embedding_dim": 4, "ensemble_dnn": False, "batch_norm": False, "afn_hidden_units": [6],
            "logarithmic_neurons": 3},
}


def main():
    golden_cases("afn.json", "afn", __doc__, CASES, AFN.build)


if __name__ == "__main__":
    main()
