"""PyTorch mirror of FuxiCTR's model_zoo/xDeepFM (written here from its definition), for the parity golden file
(tools/zoo_torch/xdeepfm_golden.py) and the speed benchmark.

    build(vocab_sizes, cfg) -> module with predict(codes), loss(codes, labels), fsdnet_names(fields)

logit = LR(x) (dim-1 embeddings summed, no bias) + CIN(E) + MLP_Block(flatten(E)) (when dnn_hidden_units is not
empty). CIN: X^k = Conv1d_k(kernel 1)(einsum("bhd,bmd->bhmd", X^0, X^{k-1}) viewed [B, F*H, d]); the sum over d of
every layer's maps, concatenated, goes through fc. With fsd: true (FsdNet's plug-in) layer i's pooled CIN maps and DNN
layer i are concatenated, head i gives w_i f_i + b_i + LR(x), and the loss is tools/fsdnet_torch/fsdnet.py's
total_loss. Module attribute names follow FsdNet's parameter names, so fsdnet_names only renames the embeddings.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fsdnet_torch"))
from fsdnet import total_loss  # noqa: E402

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "leakyrelu": nn.LeakyReLU, "linear": nn.Identity}


class Dense(nn.Module):
    """One MLP_Block hidden layer: Linear -> BatchNorm1d (optional) -> activation -> Dropout (when > 0)."""

    def __init__(self, d_in, d_out, act, dropout, bn):
        super().__init__()
        self.linear = nn.Linear(d_in, d_out)
        self.batch_norm = nn.BatchNorm1d(d_out) if bn else None
        self.act = ACTIVATIONS[act.lower()]()
        self.drop = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, x):
        x = self.linear(x)
        if self.batch_norm is not None:
            x = self.batch_norm(x)
        x = self.act(x)
        return self.drop(x) if self.drop is not None else x


class MLP(nn.Module):
    """MLP_Block(output_dim=1): hidden.{i} then output."""

    def __init__(self, d_in, units, act, dropout, bn):
        super().__init__()
        ws = [d_in] + list(units)
        self.hidden = nn.ModuleList(Dense(ws[i], ws[i + 1], act, dropout, bn) for i in range(len(units)))
        self.output = nn.Linear(ws[-1], 1)

    def forward(self, x):
        for layer in self.hidden:
            x = layer(x)
        return self.output(x)


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


class XDeepFM(nn.Module):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        d = cfg.get("embedding_dim", 10)
        units = cfg.get("dnn_hidden_units", [64, 64, 64]) or []
        act = cfg.get("dnn_activations", "ReLU")
        cin_units = cfg.get("cin_hidden_units", [16, 16, 16])
        dropout = cfg.get("net_dropout", 0)
        bn = cfg.get("batch_norm", False)
        self.fsd = bool(cfg.get("fsd", False))
        self.choice = cfg.get("choice", 2)
        self.mu = cfg.get("loss_coefficient", 0.9)
        self.beta = cfg.get("fea_coefficient", 0.01)
        self.tau = cfg.get("Temp", 1.0)
        self.soft = cfg.get("soft_loss", "official")
        self.embedding = nn.ModuleDict({"tables": nn.ModuleList(nn.Embedding(v, d, padding_idx=0) for v in vocab_sizes)})
        self.lr_layer = nn.ModuleDict({"tables": nn.ModuleList(nn.Embedding(v, 1, padding_idx=0) for v in vocab_sizes)})
        x0 = len(vocab_sizes) * d
        self.cin = CIN(len(vocab_sizes), cin_units, with_fc=not self.fsd)
        if self.fsd:
            assert units and len(units) == len(cin_units), "fsd needs one DNN layer per CIN layer"
            ws = [x0] + list(units)
            self.dnn = nn.ModuleList(Dense(ws[i], ws[i + 1], act, dropout, bn) for i in range(len(units)))
            self.heads = nn.ModuleList(nn.Linear(c + u, 1) for c, u in zip(cin_units, units))
        else:
            self.dnn = MLP(x0, units, act, dropout, bn) if units else None
        self.reset_parameters()

    def reset_parameters(self):
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv1d)):
                nn.init.xavier_normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, 0, 1e-4)
                with torch.no_grad():
                    m.weight[0].zero_()

    def fields(self, codes):
        return torch.stack([t(codes[:, i]) for i, t in enumerate(self.embedding["tables"])], dim=1)

    def wide(self, codes):
        return sum(t(codes[:, i]) for i, t in enumerate(self.lr_layer["tables"]))

    def heads_out(self, codes):
        e = self.fields(codes)
        wide = self.wide(codes)
        pooled = self.cin.layer_outputs(e)
        h = e.flatten(start_dim=1)
        logits, feats, probs = [], [], []
        for i, layer in enumerate(self.dnn):
            h = layer(h)
            f = torch.cat([pooled[i], h], dim=1)
            z = (self.heads[i](f) + wide).squeeze(1)
            feats.append(f)
            logits.append(z)
            probs.append(torch.sigmoid(z))
        return {"y_pred": sum(probs) / len(probs), "logits": logits, "probs": probs, "features": feats}

    def logit(self, codes):
        e = self.fields(codes)
        y = self.wide(codes) + self.cin(e)
        if self.dnn is not None:
            y = y + self.dnn(e.flatten(start_dim=1))
        return y

    def predict(self, codes):
        if self.fsd:
            return self.heads_out(codes)["y_pred"].unsqueeze(1)
        return torch.sigmoid(self.logit(codes))

    def loss(self, codes, labels):
        if self.fsd:
            out = self.heads_out(codes)
            return total_loss(out, labels, self.choice, self.mu, self.tau, self.beta, self.soft)
        return F.binary_cross_entropy_with_logits(self.logit(codes).squeeze(1), labels)

    def fsdnet_names(self, fields):
        out = {}
        for n, p in self.named_parameters():
            parts = n.split(".")
            if parts[0] == "embedding" and parts[1] == "tables":
                n = "embedding.embedding_layer.%s.weight" % fields[int(parts[2])]
            elif parts[0] == "lr_layer" and parts[1] == "tables":
                n = "lr_layer.embedding_layer.embedding_layer.%s.weight" % fields[int(parts[2])]
            out[n] = p
        return out


def build(vocab_sizes, cfg):
    return XDeepFM(vocab_sizes, cfg)
