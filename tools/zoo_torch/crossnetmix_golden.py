#!/usr/bin/python3
"""Golden data for DCNv2 with use_low_rank_mixture: True (FuxiCTR's CrossNetMix, written here), every
model_structure and the parallel structure with fsd: true: tests/FsdNet.Tests/Golden/zoo/crossnetmix.json.

    /usr/bin/python3 tools/zoo_torch/crossnetmix_golden.py

DCNv2 as in dcnv2_golden.py with the cross network replaced: crossnet_only cross_out; stacked mlp_s(cross_out);
parallel [cross_out ; mlp_p(x0)]; stacked_parallel [mlp_s(cross_out) ; mlp_p(x0)]; y = sigmoid(fc(final)); with
fsd head i on [c_i ; d_i]. Embedding_dim 3, num_cross_layers 2, low_rank 3, num_experts 3, batch_norm, dropout 0,
batch 8, one train-mode forward each; the cross biases are perturbed away from zero.
"""

import torch
import torch.nn as nn

from mirror_golden import finish, record, start
from mirrors import _base as B

BASE = {"embedding_dim": 3, "num_cross_layers": 2, "low_rank": 3, "num_experts": 3, "batch_norm": True,
        "stacked_dnn_hidden_units": [7, 5], "parallel_dnn_hidden_units": [6, 4]}
FSD = {"fsd": True, "choice": 2, "loss_coefficient": 0.7, "Temp": 1.5, "fea_coefficient": 0.05}


class CrossNetMix(nn.Module):
    """FuxiCTR's CrossNetMix as written there (a loop over experts): per layer and expert
    x0 * (U tanh(C tanh(V^T x_l)) + b), mixed by softmax over experts of gating_e(x_l) (gates shared by all layers),
    plus the residual x_l. U, V [E, d, r], C [E, r, r] xavier_normal_, bias [d, 1] zeros; the gates' weights are
    xavier_normal_ through _base.reset_parameters."""

    def __init__(self, d, layers, low_rank=32, num_experts=4):
        super().__init__()
        self.U_list = nn.ParameterList(nn.Parameter(nn.init.xavier_normal_(torch.empty(num_experts, d, low_rank)))
                                       for _ in range(layers))
        self.V_list = nn.ParameterList(nn.Parameter(nn.init.xavier_normal_(torch.empty(num_experts, d, low_rank)))
                                       for _ in range(layers))
        self.C_list = nn.ParameterList(nn.Parameter(nn.init.xavier_normal_(torch.empty(num_experts, low_rank, low_rank)))
                                       for _ in range(layers))
        self.gating = nn.ModuleList(nn.Linear(d, 1, bias=False) for _ in range(num_experts))
        self.bias = nn.ParameterList(nn.Parameter(torch.zeros(d, 1)) for _ in range(layers))
        self.num_experts = num_experts

    def step(self, i, x0, xl):
        x0, xl = x0.unsqueeze(2), xl.unsqueeze(2)
        outs, scores = [], []
        for e in range(self.num_experts):
            scores.append(self.gating[e](xl.squeeze(2)))
            v = torch.tanh(torch.matmul(self.V_list[i][e].t(), xl))
            v = torch.tanh(torch.matmul(self.C_list[i][e], v))
            uv = torch.matmul(self.U_list[i][e], v)
            outs.append((x0 * (uv + self.bias[i])).squeeze(2))
        moe = torch.matmul(torch.stack(outs, 2), torch.stack(scores, 1).softmax(1))
        return (moe + xl).squeeze(2)

    def forward(self, x0):
        x = x0
        for i in range(len(self.U_list)):
            x = self.step(i, x0, x)
        return x

    def names(self, prefix):
        out = {}
        for key in ("U_list", "V_list", "C_list"):
            for i, p in enumerate(getattr(self, key)):
                out["%s%s.%d" % (prefix, key, i)] = p
        for e, g in enumerate(self.gating):
            out["%sgating.%d.weight" % (prefix, e)] = g.weight
        for i, p in enumerate(self.bias):
            out["%sbias.%d" % (prefix, i)] = p
        return out


class MixDCNv2(B.Mirror):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        self.structure = cfg["model_structure"]
        self.embedding = B.FeatureEmbedding(vocab_sizes, cfg["embedding_dim"])
        d0 = self.embedding.out_dim
        self.cross = CrossNetMix(d0, cfg["num_cross_layers"], cfg["low_rank"], cfg["num_experts"])
        self.stacked = self.parallel = self.fc = self.fsd = None
        if self.structure in ("stacked", "stacked_parallel"):
            self.stacked = B.MLP(d0, cfg["stacked_dnn_hidden_units"], batch_norm=cfg["batch_norm"])
        if self.structure in ("parallel", "stacked_parallel"):
            self.parallel = B.MLP(d0, cfg["parallel_dnn_hidden_units"], batch_norm=cfg["batch_norm"])
        if cfg.get("fsd", False):
            self.fsd = B.FsdHeads([d0 + u for u in cfg["parallel_dnn_hidden_units"]], cfg)
        else:
            final = {"crossnet_only": d0, "stacked": self.stacked and self.stacked.out_dim,
                     "parallel": self.parallel and d0 + self.parallel.out_dim,
                     "stacked_parallel": self.stacked and self.parallel and self.stacked.out_dim + self.parallel.out_dim}
            self.fc = nn.Linear(final[self.structure], 1)
        B.reset_parameters(self)

    def forward(self, codes):
        x0 = self.embedding(codes).flatten(1)
        if self.fsd is not None:
            return self.fsd.run(*B.side_by_side(x0, self.cross.step, self.parallel.layers))
        x = self.cross(x0)
        final = {"crossnet_only": lambda: x, "stacked": lambda: self.stacked(x),
                 "parallel": lambda: torch.cat([x, self.parallel(x0)], 1),
                 "stacked_parallel": lambda: torch.cat([self.stacked(x), self.parallel(x0)], 1)}[self.structure]()
        return {"y_pred": torch.sigmoid(self.fc(final))}

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
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
