"""PyTorch mirror of FuxiCTR's GDCN and GDCNP (model_zoo/GDCN), written from its definition; GDCNP.py reuses it.

GateCorssLayer: c_{l+1} = x0 * (W_l c_l + b_l) * sigmoid(Wg_l c_l) + c_l (W, Wg bias-free, b uniform [0, 1)).
GDCN: y = sigmoid(MLP_Block(output_dim=1)(cross(x0))). GDCNP: y = sigmoid(fc([cross(x0) ; MLP(x0)])); with fsd the
FSD heads on [c_i ; d_i] replace the fc."""

import torch
import torch.nn as nn

from . import _base as B


class GatedCross(nn.Module):
    def __init__(self, dim, layers):
        super().__init__()
        self.w = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(layers))
        self.wg = nn.ModuleList(nn.Linear(dim, dim, bias=False) for _ in range(layers))
        self.b = nn.ParameterList(nn.Parameter(torch.rand(dim)) for _ in range(layers))

    def step(self, i, x0, c):
        return x0 * (self.w[i](c) + self.b[i]) * torch.sigmoid(self.wg[i](c)) + c

    def forward(self, x0):
        c = x0
        for i in range(len(self.w)):
            c = self.step(i, x0, c)
        return c

    def names(self, prefix):
        out = {}
        for i in range(len(self.w)):
            out["%sb.%d" % (prefix, i)] = self.b[i]
            out["%sw.%d.weight" % (prefix, i)] = self.w[i].weight
            out["%swg.%d.weight" % (prefix, i)] = self.wg[i].weight
        return out


def num_cross_layers(cfg):
    return int(cfg.get("num_cross_layers", cfg.get("crossing_layers", 3)))


class GDCNMirror(B.Mirror):
    def __init__(self, vocab_sizes, cfg, parallel):
        super().__init__()
        self.parallel = parallel
        units = list(cfg.get("dnn_hidden_units", []))
        assert units, "GDCN/GDCNP need dnn_hidden_units"
        self.embedding = B.FeatureEmbedding(vocab_sizes, int(cfg.get("embedding_dim", 10)))
        d0 = self.embedding.out_dim
        self.dnn = B.MLP(d0, units, cfg.get("dnn_activations", "ReLU"), float(cfg.get("net_dropout", 0)),
                         bool(cfg.get("batch_norm", False)), output_dim=None if parallel else 1)
        self.cross_net = GatedCross(d0, num_cross_layers(cfg))
        self.fsd = None
        self.fc = None
        if parallel and cfg.get("fsd", False):
            assert len(units) == len(self.cross_net.w)
            self.fsd = B.FsdHeads([d0 + u for u in units], cfg)
        elif parallel:
            self.fc = nn.Linear(d0 + units[-1], 1)
        B.reset_parameters(self)

    def forward(self, codes):
        x0 = self.embedding(codes).flatten(1)
        if self.fsd is not None:
            return self.fsd.run(*B.side_by_side(x0, self.cross_net.step, self.dnn.layers))
        if not self.parallel:
            return {"y_pred": torch.sigmoid(self.dnn(self.cross_net(x0)))}
        return {"y_pred": torch.sigmoid(self.fc(torch.cat([self.cross_net(x0), self.dnn(x0)], dim=1)))}

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        out.update(self.dnn.names("dnn.", hidden="" if self.parallel else "hidden."))
        out.update(self.cross_net.names("cross_net."))
        if self.fc is not None:
            out["fc.weight"] = self.fc.weight
            out["fc.bias"] = self.fc.bias
        if self.fsd is not None:
            out.update(self.fsd.names())
        return out


def build(vocab_sizes, cfg):
    return GDCNMirror(vocab_sizes, cfg, parallel=False)
