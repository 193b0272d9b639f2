"""Mirror of FuxiCTR's DCNv2 (model_zoo/DCNv2), full-rank cross network x_{l+1} = x_l + x0 * (W_l x_l + b_l) and
MLP_Blocks: crossnet_only fc(cross); stacked fc(mlp_s(cross)); parallel fc([cross ; mlp_p(x0)]); stacked_parallel
fc([mlp_s(cross) ; mlp_p(x0)]). With fsd: true (parallel only) cross layer i and DNN layer i are fused, one head per
layer (that is FSDNet). FsdNet names: embedding.*, cross.cross_layers.<i>.*, stacked_dnn.<i>.*, dnn.<i>.*, fc.* or
heads.<i>.*. use_low_rank_mixture (CrossNetMix) is not mirrored here."""

import torch
import torch.nn as nn

from . import _base as B


class DCNv2(B.Mirror):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        if B.get(cfg, "use_low_rank_mixture", False):
            raise NotImplementedError("use_low_rank_mixture")
        d = int(B.get(cfg, "embedding_dim", 10))
        x0 = len(vocab_sizes) * d
        self.structure = str(B.get(cfg, "model_structure", "parallel")).lower()
        act, drop, bn = B.get(cfg, "dnn_activations", "ReLU"), float(B.get(cfg, "net_dropout", 0)), bool(B.get(cfg, "batch_norm", False))
        self.embedding = B.FeatureEmbedding(vocab_sizes, d)
        self.layers = int(B.get(cfg, "num_cross_layers", 3))
        self.cross = nn.ModuleList(nn.Linear(x0, x0) for _ in range(self.layers))
        self.stacked_dnn = self.parallel_dnn = None
        if self.structure in ("stacked", "stacked_parallel"):
            self.stacked_dnn = B.MLP(x0, list(B.get(cfg, "stacked_dnn_hidden_units", [])), act, drop, bn)
        if self.structure in ("parallel", "stacked_parallel"):
            self.parallel_dnn = B.MLP(x0, list(B.get(cfg, "parallel_dnn_hidden_units", [])), act, drop, bn)
        self.fsd = None
        if B.get(cfg, "fsd", False):
            units = list(B.get(cfg, "parallel_dnn_hidden_units", []))
            if self.structure != "parallel" or len(units) != self.layers:
                raise ValueError("fsd: true needs model_structure parallel and as many parallel_dnn_hidden_units as num_cross_layers")
            self.fsd = B.FsdHeads([x0 + u for u in units], cfg)
            self.fc = None
        else:
            final = {"crossnet_only": x0,
                     "stacked": self.stacked_dnn.out_dim if self.stacked_dnn is not None else 0,
                     "parallel": x0 + (self.parallel_dnn.out_dim if self.parallel_dnn is not None else 0),
                     "stacked_parallel": (self.stacked_dnn.out_dim + self.parallel_dnn.out_dim)
                     if self.stacked_dnn is not None and self.parallel_dnn is not None else 0}[self.structure]
            self.fc = nn.Linear(final, 1)
        B.reset_parameters(self)

    def forward(self, codes):
        x0 = self.embedding(codes).flatten(1)
        if self.fsd is not None:
            cross_step = lambda i, x0, c: c + x0 * self.cross[i](c)  # noqa: E731
            return self.fsd.run(*B.side_by_side(x0, cross_step, self.parallel_dnn.layers))
        x = x0
        for layer in self.cross:
            x = x + x0 * layer(x)
        s = self.structure
        if s == "crossnet_only":
            final = x
        elif s == "stacked":
            final = self.stacked_dnn(x)
        elif s == "parallel":
            final = torch.cat([x, self.parallel_dnn(x0)], dim=1)
        else:
            final = torch.cat([self.stacked_dnn(x), self.parallel_dnn(x0)], dim=1)
        return {"y_pred": torch.sigmoid(self.fc(final))}

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        for i, c in enumerate(self.cross):
            out["cross.cross_layers.%d.weight" % i] = c.weight
            out["cross.cross_layers.%d.bias" % i] = c.bias
        if self.stacked_dnn is not None:
            out.update(self.stacked_dnn.names("stacked_dnn."))
        if self.parallel_dnn is not None:
            out.update(self.parallel_dnn.names("dnn."))
        if self.fsd is not None:
            out.update(self.fsd.names())
        else:
            out["fc.weight"] = self.fc.weight
            out["fc.bias"] = self.fc.bias
        return out


def build(vocab_sizes, cfg):
    return DCNv2(vocab_sizes, cfg)
