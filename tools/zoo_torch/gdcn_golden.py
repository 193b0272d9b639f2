#!/usr/bin/python3
"""Golden data for GDCN (stacked) and GDCNP (parallel, also with fsd: true), from the mirrors
tools/zoo_torch/mirrors/GDCN.py and GDCNP.py: tests/FsdNet.Tests/Golden/zoo/gdcn.json.

    /usr/bin/python3 tools/zoo_torch/gdcn_golden.py

Cases: gdcn (dnn [7, 5], batch_norm), gdcnp (dnn [6, 4], batch_norm), gdcnp_fsd (dnn [5, 5], batch_norm, choice 2,
loss_coefficient 0.7, Temp 1.5, fea_coefficient 0.05); embedding_dim 3, num_cross_layers 2, dropout 0, batch 8,
one train-mode forward each.
"""

from mirror_golden import finish, record, start

BASE = {"embedding_dim": 3, "num_cross_layers": 2, "batch_norm": True, "net_dropout": 0}
FSD = {"fsd": True, "choice": 2, "loss_coefficient": 0.7, "Temp": 1.5, "fea_coefficient": 0.05}


def main():
    t = start()
    record(t, "gdcn", "GDCN", dict(BASE, dnn_hidden_units=[7, 5]), 300)
    record(t, "gdcnp", "GDCNP", dict(BASE, dnn_hidden_units=[6, 4]), 301)
    record(t, "gdcnp_fsd", "GDCNP", dict(BASE, dnn_hidden_units=[5, 5], **FSD), 302)
    finish("gdcn.json", "gdcn", __doc__, dict(BASE, **FSD), t)


if __name__ == "__main__":
    main()
