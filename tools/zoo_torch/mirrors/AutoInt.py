"""PyTorch mirror of FuxiCTR's model_zoo/AutoInt (AutoInt+ with dnn_hidden_units; written here from its definition),
for the parity golden file (tools/zoo_torch/autoint_golden.py) and the speed benchmark.

    build(vocab_sizes, cfg) -> module with predict(codes), loss(codes, labels), fsdnet_names(fields)

MultiHeadSelfAttention: Q, K, V = Linear(no bias)(X); per head softmax(Q K^T [/ sqrt(head_dim)]) V (dropout on the
weights); heads concatenated; + residual (W_res when the width changes); LayerNorm (optional); ReLU.
logit = fc(flatten(attention stack(E))) + MLP_Block(flatten(E)) + LR(x) (use_wide). With fsd: true (FsdNet's
plug-in) attention layer i (flattened) and DNN layer i are concatenated, head i gives w_i f_i + b_i (+ LR with
use_wide), and the loss is tools/fsdnet_torch/fsdnet.py's total_loss. Module attribute names follow FsdNet's.
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




class MultiHeadSelfAttention(nn.Module):
    def __init__(self, d_in, att, heads, dropout, residual, scale, layer_norm):
        super().__init__()
        assert att % heads == 0
        self.heads, self.hd = heads, att // heads
        self.scale = self.hd ** 0.5 if scale else None
        self.W_q = nn.Linear(d_in, att, bias=False)
        self.W_k = nn.Linear(d_in, att, bias=False)
        self.W_v = nn.Linear(d_in, att, bias=False)
        self.residual = residual
        self.W_res = nn.Linear(d_in, att, bias=False) if residual and d_in != att else None
        self.drop = nn.Dropout(dropout) if dropout > 0 else None
        self.layer_norm = nn.LayerNorm(att) if layer_norm else None

    def forward(self, x):
        b = x.size(0)
        q, k, v = (w(x).view(b, -1, self.heads, self.hd).transpose(1, 2) for w in (self.W_q, self.W_k, self.W_v))
        s = torch.matmul(q, k.transpose(-1, -2))
        if self.scale:
            s = s / self.scale
        a = s.softmax(dim=-1)
        if self.drop is not None:
            a = self.drop(a)
        out = torch.matmul(a, v).transpose(1, 2).contiguous().view(b, -1, self.heads * self.hd)
        if self.residual:
            out = out + (self.W_res(x) if self.W_res is not None else x)
        if self.layer_norm is not None:
            out = self.layer_norm(out)
        return out.relu()


class AutoInt(nn.Module):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        d = cfg.get("embedding_dim", 10)
        units = cfg.get("dnn_hidden_units", [64, 64, 64]) or []
        act = cfg.get("dnn_activations", "ReLU")
        layers = cfg.get("attention_layers", 2)
        heads = cfg.get("num_heads", 1)
        att = cfg.get("attention_dim", 8)
        dropout = cfg.get("net_dropout", 0)
        bn = cfg.get("batch_norm", False)
        self.fsd = bool(cfg.get("fsd", False))
        self.choice = cfg.get("choice", 2)
        self.mu = cfg.get("loss_coefficient", 0.9)
        self.beta = cfg.get("fea_coefficient", 0.01)
        self.tau = cfg.get("Temp", 1.0)
        self.soft = cfg.get("soft_loss", "official")
        nf = len(vocab_sizes)
        self.embedding = nn.ModuleDict({"tables": nn.ModuleList(nn.Embedding(v, d, padding_idx=0) for v in vocab_sizes)})
        self.lr_layer = (nn.ModuleDict({"tables": nn.ModuleList(nn.Embedding(v, 1, padding_idx=0) for v in vocab_sizes)})
                         if cfg.get("use_wide", False) else None)
        x0 = nf * d
        self.self_attention = nn.Sequential(*[
            MultiHeadSelfAttention(d if i == 0 else att, att, heads, dropout, cfg.get("use_residual", True),
                                   cfg.get("use_scale", False), cfg.get("layer_norm", False)) for i in range(layers)])
        if self.fsd:
            assert units and len(units) == layers, "fsd needs one DNN layer per attention layer"
            ws = [x0] + list(units)
            self.dnn = nn.ModuleList(Dense(ws[i], ws[i + 1], act, dropout, bn) for i in range(len(units)))
            self.heads = nn.ModuleList(nn.Linear(nf * att + u, 1) for u in units)
        else:
            self.dnn = MLP(x0, units, act, dropout, bn) if units else None
            self.fc = nn.Linear(nf * att, 1)
        self.reset_parameters()

    def reset_parameters(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
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
        a, h = e, e.flatten(start_dim=1)
        logits, feats, probs = [], [], []
        for i, layer in enumerate(self.dnn):
            a = self.self_attention[i](a)
            h = layer(h)
            f = torch.cat([a.flatten(start_dim=1), h], dim=1)
            z = self.heads[i](f)
            if self.lr_layer is not None:
                z = z + self.wide(codes)
            z = z.squeeze(1)
            feats.append(f)
            logits.append(z)
            probs.append(torch.sigmoid(z))
        return {"y_pred": sum(probs) / len(probs), "logits": logits, "probs": probs, "features": feats}

    def logit(self, codes):
        e = self.fields(codes)
        y = self.fc(self.self_attention(e).flatten(start_dim=1))
        if self.dnn is not None:
            y = y + self.dnn(e.flatten(start_dim=1))
        if self.lr_layer is not None:
            y = y + self.wide(codes)
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
    return AutoInt(vocab_sizes, cfg)
