#!/usr/bin/python3
"""Golden data for DCNv2 with use_low_rank_mixture: True (FuxiCTR's CrossNetMix, cross_layers.CrossNetMix), every
model_structure and the parallel structure with fsd: true: tests/FsdNet.Tests/Golden/zoo/crossnetmix.json.

    /usr/bin/python3 tools/zoo_torch/crossnetmix_golden.py

DCNv2 as in dcnv2_golden.py with the cross network replaced: crossnet_only cross_out; stacked mlp_s(cross_out);
parallel [cross_out ; mlp_p(x0)]; stacked_parallel [mlp_s(cross_out) ; mlp_p(x0)]; y = sigmoid(fc(final)); with
fsd head i on [c_i ; d_i]. Embedding_dim 3, num_cross_layers 2, low_rank 3, num_experts 3, batch_norm, dropout 0,
batch 8, one train-mode forward each; the cross biases are perturbed away from zero.
"""

import torch
import torch.nn as nn

from cross_layers import CrossNetMix, DenseStack, Embeddings, FsdHeads, bce, linear_init
from mirror_golden import finish, record, start

BASE = {"embedding_dim": 3, "num_cross_layers": 2, "low_rank": 3, "num_experts": 3, "batch_norm": True,
        "stacked_dnn_hidden_units": [7, 5], "parallel_dnn_hidden_units": [6, 4]}
FSD = {"fsd": True, "choice": 2, "loss_coefficient": 0.7, "Temp": 1.5, "fea_coefficient": 0.05}


class MixDCNv2(nn.Module):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        self.structure = cfg["model_structure"]
        self.embedding = Embeddings(vocab_sizes, cfg["embedding_dim"])
        d0 = self.embedding.out_dim
        self.cross = CrossNetMix(d0, cfg["num_cross_layers"], cfg["low_rank"], cfg["num_experts"])
        self.stacked = self.parallel = self.fc = self.fsd = None
        if self.structure in ("stacked", "stacked_parallel"):
            self.stacked = DenseStack(d0, cfg["stacked_dnn_hidden_units"], batch_norm=cfg["batch_norm"])
        if self.structure in ("parallel", "stacked_parallel"):
            self.parallel = DenseStack(d0, cfg["parallel_dnn_hidden_units"], batch_norm=cfg["batch_norm"])
        if cfg.get("fsd", False):
            self.fsd = FsdHeads([d0 + u for u in cfg["parallel_dnn_hidden_units"]], cfg)
        else:
            final = {"crossnet_only": d0, "stacked": self.stacked and self.stacked.out_dim,
                     "parallel": self.parallel and d0 + self.parallel.out_dim,
                     "stacked_parallel": self.stacked and self.parallel and self.stacked.out_dim + self.parallel.out_dim}
            self.fc = linear_init(nn.Linear(final[self.structure], 1))

    def _fsd_out(self, codes):
        x0 = self.embedding(codes)
        c, d, pairs = x0, x0, []
        for i, layer in enumerate(self.parallel.layers):
            c = self.cross.step(i, x0, c)
            d = layer(d)
            pairs.append((c, d))
        return self.fsd.run(pairs)

    def forward(self, codes):
        x0 = self.embedding(codes)
        x = self.cross(x0)
        final = {"crossnet_only": lambda: x, "stacked": lambda: self.stacked(x),
                 "parallel": lambda: torch.cat([x, self.parallel(x0)], 1),
                 "stacked_parallel": lambda: torch.cat([self.stacked(x), self.parallel(x0)], 1)}[self.structure]()
        return torch.sigmoid(self.fc(final))

    def predict(self, codes):
        return self.fsd.predict(self._fsd_out(codes)) if self.fsd is not None else self.forward(codes)

    def loss(self, codes, labels):
        return self.fsd.loss(self._fsd_out(codes), labels) if self.fsd is not None else bce(self.forward(codes), labels)

    def fsdnet_names(self, fields):
        out = self.embedding.names(fields)
        out.update(self.cross.names("cross."))
        if self.stacked is not None:
            out.update(self.stacked.names("stacked_dnn."))
        if self.parallel is not None:
            out.update(self.parallel.names("dnn."))
        if self.fc is not None:
            out["fc.weight"] = self.fc.weight
            out["fc.bias"] = self.fc.bias
        else:
            out.update(self.fsd.names())
        return out


def spread(mirror):
    with torch.no_grad():
        for p in mirror.cross.bias:
            p.normal_(0, 0.3)
        for key in ("U_list", "V_list", "C_list"):
            for p in getattr(mirror.cross, key):
                p.mul_(2.0)


def main():
    t = start()
    for k, s in enumerate(["crossnet_only", "stacked", "parallel", "stacked_parallel"]):
        record(t, s, MixDCNv2, dict(BASE, model_structure=s), 500 + k, spread)
    record(t, "parallel_fsd", MixDCNv2, dict(BASE, model_structure="parallel", parallel_dnn_hidden_units=[5, 5], **FSD),
           510, spread)
    finish("crossnetmix.json", "crossnetmix", __doc__, dict(BASE, **FSD), t)


if __name__ == "__main__":
    main()
