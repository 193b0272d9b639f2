#!/usr/bin/python3
"""Golden data for EDCN, every bridge_type, with fsd: true and without the regulation gates, from the mirror
tools/zoo_torch/mirrors/EDCN.py: tests/FsdNet.Tests/Golden/zoo/edcn.json.

    /usr/bin/python3 tools/zoo_torch/edcn_golden.py

Cases (embedding_dim 3, num_cross_layers 2, dropout 0, batch 8, one train-mode forward each): hadamard_product,
pointwise_addition, concatenation, attention_pooling (temperature 0.7, batch_norm on the first and third),
hadamard_fsd (fsd, choice 2, loss_coefficient 0.7, Temp 1.5, fea_coefficient 0.05, batch_norm), no_regulation
(use_regulation_module false). The gates g1, g2 and the cross biases are perturbed away from ones / zeros.
"""

import torch

from mirror_golden import finish, record, start

BASE = {"embedding_dim": 3, "num_cross_layers": 2, "net_dropout": 0, "temperature": 0.7}
FSD = {"fsd": True, "choice": 2, "loss_coefficient": 0.7, "Temp": 1.5, "fea_coefficient": 0.05}


def spread(mirror):
    with torch.no_grad():
        for n, p in mirror.named_parameters():
            if n.split(".")[-1] in ("g1", "g2") or n.startswith("cross_b"):
                p.normal_(0.5, 0.5)


def main():
    t = start()
    cases = [("hadamard_product", {"batch_norm": True}), ("pointwise_addition", {}),
             ("concatenation", {"batch_norm": True}), ("attention_pooling", {})]
    for k, (bridge, extra) in enumerate(cases):
        record(t, bridge, "EDCN", dict(BASE, bridge_type=bridge, **extra), 400 + k, spread)
    record(t, "hadamard_fsd", "EDCN", dict(BASE, bridge_type="hadamard_product", batch_norm=True, **FSD), 410, spread)
    record(t, "no_regulation", "EDCN", dict(BASE, bridge_type="pointwise_addition", use_regulation_module=False), 411, spread)
    finish("edcn.json", "edcn", __doc__, dict(BASE, **FSD), t)


if __name__ == "__main__":
    main()
