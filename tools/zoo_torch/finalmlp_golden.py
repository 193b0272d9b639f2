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

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "mirrors"))
from common import write  # noqa: E402
from _layers_zoo_a import golden_case  # noqa: E402
import FinalMLP  # noqa: E402

torch.set_num_threads(1)
VOCAB = [6, 5, 4]
FIELDS = ["f0", "f1", "f2"]
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
    codes = torch.tensor([[1, 2, 3], [5, 0, 1], [0, 4, 2], [3, 1, 0], [2, 3, 3], [4, 4, 1], [1, 0, 2], [5, 2, 0]])
    labels = torch.tensor([1, 0, 0, 1, 1, 0, 1, 0], dtype=torch.float32)
    tensors = {"codes": codes, "labels": labels}
    for k, (case, cfg) in enumerate(CASES.items()):
        torch.manual_seed(300 + k)
        golden_case(case, FinalMLP.build(VOCAB, cfg, FIELDS), FIELDS, codes, labels, tensors, 400 + k)
    write("finalmlp.json", "finalmlp", __doc__, {"vocab_sizes": VOCAB, "cases": CASES}, tensors)


if __name__ == "__main__":
    main()
