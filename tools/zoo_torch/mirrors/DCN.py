"""Mirror of FuxiCTR's DCN (model_zoo/DCN): CrossNet x_{l+1} = x_l + (w_l . x_l) x0 + b_l beside (dnn_hidden_units
not empty) an MLP_Block on x0, y = sigmoid(fc([cross_out ; dnn_out])). With fsd: true (FsdNet's plug-in) cross layer
i and DNN layer i are fused, f_i = [c_i ; d_i], one head per layer instead of fc. FsdNet names: embedding.*,
crossnet.cross_net.<i>.weight.weight / .bias, dnn.<i>.*, fc.* or heads.<i>.*."""

import torch
import torch.nn as nn

from . import _base as B


class CrossNet(nn.Module):
    def __init__(self, dim, layers):
        super().__init__()
        self.w = nn.ModuleList(nn.Linear(dim, 1, bias=False) for _ in range(layers))
        self.b = nn.ParameterList(nn.Parameter(torch.zeros(dim)) for _ in range(layers))

    def step(self, i, x0, x):
        return x + self.w[i](x) * x0 + self.b[i]

    def names(self, prefix):
        out = {}
        for i in range(len(self.w)):
            out["%scross_net.%d.weight.weight" % (prefix, i)] = self.w[i].weight
            out["%scross_net.%d.bias" % (prefix, i)] = self.b[i]
        return out


class DCN(B.Mirror):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        d = int(B.get(cfg, "embedding_dim", 10))
        x0 = len(vocab_sizes) * d
        units = list(B.get(cfg, "dnn_hidden_units", []))
        self.embedding = B.FeatureEmbedding(vocab_sizes, d)
        self.dnn = B.MLP(x0, units, B.get(cfg, "dnn_activations", "ReLU"), float(B.get(cfg, "net_dropout", 0)),
                         bool(B.get(cfg, "batch_norm", False))) if units else None
        self.layers = int(B.get(cfg, "num_cross_layers", 3))
        self.crossnet = CrossNet(x0, self.layers)
        self.fsd = None
        if B.get(cfg, "fsd", False):
            if self.dnn is None or len(units) != self.layers:
                raise ValueError("fsd: true needs as many dnn_hidden_units as num_cross_layers")
            self.fsd = B.FsdHeads([x0 + u for u in units], cfg)
            self.fc = None
        else:
            self.fc = nn.Linear(x0 + (self.dnn.out_dim if self.dnn is not None else 0), 1)
        B.reset_parameters(self)

    def forward(self, codes):
        x0 = self.embedding(codes).flatten(1)
        if self.fsd is not None:
            return self.fsd.run(*B.side_by_side(x0, self.crossnet.step, self.dnn.layers))
        x = x0
        for i in range(self.layers):
            x = self.crossnet.step(i, x0, x)
        final = torch.cat([x, self.dnn(x0)], dim=1) if self.dnn is not None else x
        return {"y_pred": torch.sigmoid(self.fc(final))}

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        if self.dnn is not None:
            out.update(self.dnn.names("dnn."))
        out.update(self.crossnet.names("crossnet."))
        if self.fsd is not None:
            out.update(self.fsd.names())
        else:
            out["fc.weight"] = self.fc.weight
            out["fc.bias"] = self.fc.bias
        return out


def build(vocab_sizes, cfg):
    return DCN(vocab_sizes, cfg)
