"""PyTorch mirror of FuxiCTR's EDCN (model_zoo/EDCN), written from its definition.

Layer i: c_i = (w_i . c_{i-1}) c_0 + b_i (CrossInteraction, no residual), d_i = act(Linear(d_{i-1})) (width
fields * embedding_dim, no BatchNorm), bridge_i = bridge(c_i, d_i); for i < L the next layer's regulation module
turns bridge_i into (c_i, d_i). Regulation: g = softmax(g_field / temperature) repeated over each field's entries;
(g1 * x, g2 * x), each through its own BatchNorm with batch_norm. y = sigmoid(fc([c_L ; d_L ; bridge_L])); with fsd
head i reads [c_i ; d_i ; bridge_i]. attention_pooling uses attention1 for both inputs, as FuxiCTR."""

import torch
import torch.nn as nn

from . import _base as B


class Bridge(nn.Module):
    def __init__(self, d, kind):
        super().__init__()
        self.kind = kind
        if kind == "concatenation":
            self.concat_pooling = nn.Sequential(nn.Linear(2 * d, d), nn.ReLU())
        elif kind == "attention_pooling":
            self.attention1 = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d, bias=False), nn.Softmax(dim=-1))
        elif kind not in ("hadamard_product", "pointwise_addition"):
            raise ValueError(kind)

    def forward(self, x1, x2):
        if self.kind == "hadamard_product":
            return x1 * x2
        if self.kind == "pointwise_addition":
            return x1 + x2
        if self.kind == "concatenation":
            return self.concat_pooling(torch.cat([x1, x2], dim=-1))
        return self.attention1(x1) * x1 + self.attention1(x2) * x2

    def names(self, prefix):
        if self.kind == "concatenation":
            return {prefix + "concat_pooling.0.weight": self.concat_pooling[0].weight,
                    prefix + "concat_pooling.0.bias": self.concat_pooling[0].bias}
        if self.kind == "attention_pooling":
            return {prefix + "attention1.0.weight": self.attention1[0].weight,
                    prefix + "attention1.0.bias": self.attention1[0].bias,
                    prefix + "attention1.2.weight": self.attention1[2].weight}
        return {}


class Regulation(nn.Module):
    def __init__(self, fields, dim, tau, bn, gates=True):
        super().__init__()
        self.dim, self.tau, self.gates, self.bn = dim, tau, gates, bn
        if gates:
            self.g1 = nn.Parameter(torch.ones(fields))
            self.g2 = nn.Parameter(torch.ones(fields))
        if bn:
            self.bn1 = nn.BatchNorm1d(fields * dim)
            self.bn2 = nn.BatchNorm1d(fields * dim)

    def forward(self, x):
        a, b = x, x
        if self.gates:
            g1 = (self.g1 / self.tau).softmax(dim=-1).unsqueeze(-1).repeat(1, self.dim).view(1, -1)
            g2 = (self.g2 / self.tau).softmax(dim=-1).unsqueeze(-1).repeat(1, self.dim).view(1, -1)
            a, b = g1 * x, g2 * x
        if self.bn:
            a, b = self.bn1(a), self.bn2(b)
        return a, b

    def names(self, prefix):
        out = {}
        if self.gates:
            out[prefix + "g1"] = self.g1
            out[prefix + "g2"] = self.g2
        if self.bn:
            for k in ("bn1", "bn2"):
                out[prefix + k + ".weight"] = getattr(self, k).weight
                out[prefix + k + ".bias"] = getattr(self, k).bias
        return out


class EDCNMirror(B.Mirror):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        dim = int(cfg.get("embedding_dim", 10))
        layers = int(cfg.get("num_cross_layers", 3))
        self.embedding = B.FeatureEmbedding(vocab_sizes, dim)
        h = self.embedding.out_dim
        act = cfg.get("hidden_activations", "ReLU")
        drop = float(cfg.get("net_dropout", 0))
        self.dense_layers = nn.ModuleList(B.Dense(h, h, act, drop, False) for _ in range(layers))
        self.cross_w = nn.ModuleList(nn.Linear(h, 1, bias=False) for _ in range(layers))
        self.cross_b = nn.ParameterList(nn.Parameter(torch.zeros(h)) for _ in range(layers))
        kind = str(cfg.get("bridge_type", "hadamard_product"))
        self.bridges = nn.ModuleList(Bridge(h, kind) for _ in range(layers))
        self.regulation = nn.ModuleList(
            Regulation(len(vocab_sizes), dim, float(cfg.get("temperature", 1)), bool(cfg.get("batch_norm", False)),
                       bool(cfg.get("use_regulation_module", True))) for _ in range(layers))
        self.fsd = B.FsdHeads([3 * h] * layers, cfg) if cfg.get("fsd", False) else None
        self.fc = None if self.fsd is not None else nn.Linear(3 * h, 1)
        B.reset_parameters(self)

    def _layers(self, codes):
        c, d = self.regulation[0](self.embedding(codes).flatten(1))
        c0, triples = c, []
        n = len(self.cross_w)
        for i in range(n):
            c = self.cross_w[i](c) * c0 + self.cross_b[i]
            d = self.dense_layers[i](d)
            b = self.bridges[i](c, d)
            triples.append((c, d, b))
            if i + 1 < n:
                c, d = self.regulation[i + 1](b)
        return triples

    def forward(self, codes):
        triples = self._layers(codes)
        if self.fsd is not None:
            return self.fsd.run([c for c, _, _ in triples], [torch.cat([d, b], dim=1) for _, d, b in triples])
        c, d, b = triples[-1]
        return {"y_pred": torch.sigmoid(self.fc(torch.cat([c, d, b], dim=-1)))}

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        for i, layer in enumerate(self.dense_layers):
            out.update(layer.names("dense_layers.%d." % i))
        for i in range(len(self.cross_w)):
            out["cross_layers.%d.bias" % i] = self.cross_b[i]
            out["cross_layers.%d.weight.weight" % i] = self.cross_w[i].weight
        for i, b in enumerate(self.bridges):
            out.update(b.names("bridge_modules.%d." % i))
        for i, r in enumerate(self.regulation):
            out.update(r.names("regulation_modules.%d." % i))
        if self.fc is not None:
            out["fc.weight"] = self.fc.weight
            out["fc.bias"] = self.fc.bias
        else:
            out.update(self.fsd.names())
        return out


def build(vocab_sizes, cfg):
    return EDCNMirror(vocab_sizes, cfg)
