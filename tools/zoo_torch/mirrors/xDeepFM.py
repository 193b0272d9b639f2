"""PyTorch mirror of FuxiCTR's model_zoo/xDeepFM (written here from its definition), for the parity golden file
(tools/zoo_torch/xdeepfm_golden.py) and the speed benchmark.

    build(vocab_sizes, cfg) -> module with predict(codes), loss(codes, labels), fsdnet_names(fields)

logit = LR(x) (dim-1 embeddings summed, no bias) + CIN(E) + MLP_Block(flatten(E)) (when dnn_hidden_units is not
empty). CIN: X^k = Conv1d_k(kernel 1)(einsum("bhd,bmd->bhmd", X^0, X^{k-1}) viewed [B, F*H, d]); the sum over d of
every layer's maps, concatenated, goes through fc. With fsd: true (FsdNet's plug-in) layer i's pooled CIN maps and DNN
layer i are concatenated, head i gives w_i f_i + b_i + LR(x), and the loss is tools/fsdnet_torch/fsdnet.py's
total_loss (through _base.FsdHeads). The CIN's attribute paths are FsdNet's parameter names.
"""

import torch
import torch.nn as nn

from . import _base as B


class CIN(nn.Module):
    def __init__(self, num_fields, units, with_fc):
        super().__init__()
        self.units = list(units)
        self.cin_layer = nn.ModuleDict()
        for i, u in enumerate(self.units):
            c_in = num_fields * (self.units[i - 1] if i > 0 else num_fields)
            self.cin_layer["layer_%d" % (i + 1)] = nn.Conv1d(c_in, u, kernel_size=1)
        self.fc = nn.Linear(sum(self.units), 1) if with_fc else None

    def layer_outputs(self, e):
        b, _, d = e.shape
        x, pooled = e, []
        for i in range(len(self.units)):
            h = torch.einsum("bhd,bmd->bhmd", e, x).reshape(b, -1, d)
            x = self.cin_layer["layer_%d" % (i + 1)](h).view(b, -1, d)
            pooled.append(x.sum(dim=-1))
        return pooled

    def forward(self, e):
        return self.fc(torch.cat(self.layer_outputs(e), dim=-1))


class XDeepFM(B.Mirror):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        d = int(B.get(cfg, "embedding_dim", 10))
        units = list(B.get(cfg, "dnn_hidden_units", [64, 64, 64]))
        act = B.get(cfg, "dnn_activations", "ReLU")
        cin_units = list(B.get(cfg, "cin_hidden_units", [16, 16, 16]))
        dropout = float(B.get(cfg, "net_dropout", 0))
        bn = bool(B.get(cfg, "batch_norm", False))
        fsd = bool(B.get(cfg, "fsd", False))
        self.embedding = B.FeatureEmbedding(vocab_sizes, d)
        self.lr_layer = B.LogisticRegression(vocab_sizes, use_bias=False)
        x0 = len(vocab_sizes) * d
        self.cin = CIN(len(vocab_sizes), cin_units, with_fc=not fsd)
        self.fsd = None
        if fsd:
            assert units and len(units) == len(cin_units), "fsd needs one DNN layer per CIN layer"
            self.dnn = B.MLP(x0, units, act, dropout, bn)
            self.fsd = B.FsdHeads([c + u for c, u in zip(cin_units, units)], cfg)
        else:
            self.dnn = B.MLP(x0, units, act, dropout, bn, output_dim=1) if units else None
        B.reset_parameters(self)

    def forward(self, codes):
        e = self.embedding(codes)
        wide = self.lr_layer(codes)
        if self.fsd is not None:
            cs, h, ds = self.cin.layer_outputs(e), e.flatten(start_dim=1), []
            for layer in self.dnn.layers:
                h = layer(h)
                ds.append(h)
            return self.fsd.run(cs, ds, wide)
        y = wide + self.cin(e)
        if self.dnn is not None:
            y = y + self.dnn(e.flatten(start_dim=1))
        return {"y_pred": torch.sigmoid(y), "logit": y}

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        out.update(self.lr_layer.names("lr_layer.", fields))
        out.update(B.named("cin.", self.cin))
        if self.fsd is not None:
            out.update(self.dnn.names("dnn."))
            out.update(self.fsd.names())
        elif self.dnn is not None:
            out.update(self.dnn.names("dnn.", hidden="hidden."))
        return out


def build(vocab_sizes, cfg):
    return XDeepFM(vocab_sizes, cfg)
