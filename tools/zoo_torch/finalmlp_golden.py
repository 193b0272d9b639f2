#!/usr/bin/python3
"""Golden data for FinalMLP (FuxiCTR model_zoo/FinalMLP) from the mirror tools/zoo_torch/mirrors/FinalMLP.py:
tests/FsdNet.Tests/Golden/zoo/finalmlp.json.

    /usr/bin/python3 tools/zoo_torch/finalmlp_golden.py

Cases: "ctx" (fs1_context [f2], fs2_context [] (the learned bias), fs_hidden_units [5], mlp1 [6, 4] with batch_norm,
mlp2 [5]); "heads" (fs1_context [f1, f0] (embedded in schema order f0, f1), fs2_context [f1], no fs hidden layer,
num_heads 2, mlp1 [6, 4], mlp2 [8, 6]); "nofs" (use_fs false, mlp1 [5] tanh, mlp2 [6] with batch_norm); "fsd"
(fsd true, choice 2, loss_coefficient 0.7, Temp 1.5, fea_coefficient 0.05, mlp1 [6, 6] with batch_norm, mlp2 [5, 5]).
Embeddings and weights are perturbed from FuxiCTR's initial values; one train-mode forward each.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mirror_golden import FIELDS, golden_cases  # noqa: E402
from mirrors import FinalMLP  # noqa: E402

CASES = {
    "ctx": {"embedding_dim": 3, "fs1_context": ["f2"], "fs_hidden_units": [5], "mlp1_hidden_units": [6, 4],
            "mlp1_batch_norm": True, "mlp2_hidden_units": [5]},
    "heads": {"embedding_dim": 4, "fs1_context": ["f1", "f0"], "fs2_context": ["f1"], "fs_hidden_units": [],
              "num_heads": 2, "mlp1_hidden_units": [6, 4], "mlp2_hidden_units": [8, 6]},
    "nofs": {"embedding_dim": 3, "use_fs": False, "mlp1_hidden_units": [5], "mlp1_hidden_activations": "tanh",
             "mlp2_hidden_units": [6], "mlp2_batch_norm": True},
    "fsd": {"embedding_dim": 3, "fsd": True, "choice": 2, "loss_coefficient": 0.7, "Temp": 1.5, "fea_coefficient": 0.05,
            "mlp1_hidden_units": [6, 6], "mlp1_batch_norm": True, "mlp2_hidden_units": [5, 5], "fs_hidden_units": [4]},
}


def main():
    golden_cases("finalmlp.json", "finalmlp", __doc__, CASES, lambda vocab, cfg: FinalMLP.build(vocab, cfg, FIELDS))


if __name__ == "__main__":
    main()
