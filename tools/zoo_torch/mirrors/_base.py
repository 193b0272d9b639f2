"""Shared pieces of every PyTorch mirror (tools/zoo_torch/mirrors/<Model>.py) and of the models in the golden
scripts, written from FuxiCTR 2.3's definitions (fuxictr/pytorch/layers, model_zoo/<Model>/src): the categorical
FeatureEmbedding (one nn.Embedding per field, padding_idx 0, N(0, 1e-4^2) init), LogisticRegression, MLP_Block
(Linear -> BatchNorm -> activation -> Dropout per hidden layer, optional output layer and output activation),
FuxiCTR's reset_parameters (xavier_normal Linear weights, zero biases), and the FSD plug-in (a cross and a dense tower
side by side, one head per fused layer, loss from tools/fsdnet_torch/fsdnet.py). Each mirror module returns a dict
from forward(codes) with "y_pred" [B, 1] (plus "logits"/"probs"/"features" lists with FSD), or has predict/loss of
its own, and takes FsdNet's parameter names through fsdnet_names(fields).
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fsdnet_torch"))
import fsdnet as _fsd  # noqa: E402


def activation(name):
    n = (name or "relu").lower()
    if n == "relu":
        return nn.ReLU()
    if n == "sigmoid":
        return nn.Sigmoid()
    if n == "tanh":
        return nn.Tanh()
    if n in ("leakyrelu", "leaky_relu"):
        return nn.LeakyReLU()
    if n in ("linear", "none", "identity"):
        return nn.Identity()
    raise NotImplementedError("mirror activation '%s' (prelu/dice carry parameters FsdNet names differently)" % name)


class FeatureEmbedding(nn.Module):
    """FuxiCTR's FeatureEmbedding for categorical fields: [B, F] codes -> [B, F, d]."""

    def __init__(self, vocab_sizes, dim):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(v, dim, padding_idx=0) for v in vocab_sizes)
        self.dim = dim
        self.out_dim = len(vocab_sizes) * dim

    def init_weights(self):
        with torch.no_grad():
            for e in self.tables:
                nn.init.normal_(e.weight, std=1e-4)
                e.weight[0].zero_()

    def forward(self, codes):
        return torch.stack([e(codes[:, i]) for i, e in enumerate(self.tables)], dim=1)

    def names(self, prefix, fields):
        return {"%sembedding_layer.%s.weight" % (prefix, f): e.weight for f, e in zip(fields, self.tables)}


class LogisticRegression(nn.Module):
    """FuxiCTR's LogisticRegression layer: sum of 1-d embeddings over fields, + bias (zeros)."""

    def __init__(self, vocab_sizes, use_bias=True):
        super().__init__()
        self.embedding = FeatureEmbedding(vocab_sizes, 1)
        self.bias = nn.Parameter(torch.zeros(1)) if use_bias else None

    def forward(self, codes):
        out = self.embedding(codes).sum(dim=1)
        return out + self.bias if self.bias is not None else out

    def names(self, prefix, fields):
        out = self.embedding.names(prefix + "embedding_layer.", fields)
        if self.bias is not None:
            out[prefix + "bias"] = self.bias
        return out


class Dense(nn.Module):
    """One hidden layer of MLP_Block: Linear -> BatchNorm (optional) -> activation -> Dropout (when > 0)."""

    def __init__(self, in_dim, out_dim, act, dropout, batch_norm):
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)
        self.batch_norm = nn.BatchNorm1d(out_dim) if batch_norm else None
        self.act = activation(act)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None

    def forward(self, x):
        x = self.linear(x)
        if self.batch_norm is not None:
            x = self.batch_norm(x)
        x = self.act(x)
        return self.dropout(x) if self.dropout is not None else x

    def names(self, prefix):
        out = {prefix + "linear.weight": self.linear.weight, prefix + "linear.bias": self.linear.bias}
        if self.batch_norm is not None:
            out[prefix + "batch_norm.weight"] = self.batch_norm.weight
            out[prefix + "batch_norm.bias"] = self.batch_norm.bias
        return out


class MLP(nn.Module):
    """FuxiCTR's MLP_Block: hidden layers, then (output_dim given) a Linear output layer."""

    def __init__(self, in_dim, units, act="relu", dropout=0.0, batch_norm=False, output_dim=None,
                 output_activation=None):
        super().__init__()
        widths = [in_dim] + list(units)
        self.layers = nn.ModuleList(Dense(widths[i], widths[i + 1], act, dropout, batch_norm) for i in range(len(units)))
        self.output = nn.Linear(widths[-1], output_dim) if output_dim is not None else None
        self.output_activation = activation(output_activation) if output_activation else None
        self.out_dim = output_dim if output_dim is not None else widths[-1]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        if self.output is not None:
            x = self.output(x)
        return self.output_activation(x) if self.output_activation is not None else x

    def names(self, prefix, hidden=""):
        """FsdNet's names: MlpBlock <prefix>hidden.<i>.* and <prefix>output.*; MlpTower <prefix><i>.* (hidden="")."""
        out = {}
        for i, layer in enumerate(self.layers):
            out.update(layer.names("%s%s%d." % (prefix, hidden, i)))
        if self.output is not None:
            out[prefix + "output.weight"] = self.output.weight
            out[prefix + "output.bias"] = self.output.bias
        return out


def bce(p, labels):
    """binary_cross_entropy on a [B, 1] probability, as FuxiCTR's loss."""
    return F.binary_cross_entropy(p.squeeze(1), labels)


def reset_parameters(model):
    """FuxiCTR's BaseModel.reset_parameters: xavier_normal Linear weights and zero biases, then init_weights()."""
    for m in model.modules():
        if type(m) in (nn.Linear, nn.Conv1d):
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                m.bias.data.fill_(0)
    for m in model.modules():
        if hasattr(m, "init_weights"):
            m.init_weights()


def get(cfg, key, default):
    v = cfg.get(key, default)
    return default if v is None else v


class FsdSettings:
    """The FSD loss keys (defaults: the official FSDNet constructor's, as FsdNet's DistillationOptions)."""

    def __init__(self, cfg):
        self.choice = int(get(cfg, "choice", 0))
        self.mu = float(get(cfg, "loss_coefficient", 0.3))
        self.beta = float(get(cfg, "fea_coefficient", 0.01))
        self.tau = float(get(cfg, "Temp", 1.0))
        self.soft = str(get(cfg, "soft_loss", "official")).lower()
        self.score_head = cfg.get("score_head")
        if cfg.get("detach_teacher") or cfg.get("hint_projection"):
            raise NotImplementedError("the mirrors have no detach_teacher / hint_projection")

    def loss(self, out, labels):
        return _fsd.total_loss(out, labels, self.choice, self.mu, self.tau, self.beta, soft=self.soft)


def side_by_side(x0, cross_step, dense_layers):
    """Layer i of a cross tower, c_i = cross_step(i, x0, c_{i-1}), beside layer i of a dense tower,
    d_i = dense_layers[i](d_{i-1}), both from c_0 = d_0 = x0: the lists [c_1 .. c_L], [d_1 .. d_L] FsdHeads.run fuses."""
    c, d, cs, ds = x0, x0, [], []
    for i, layer in enumerate(dense_layers):
        c = cross_step(i, x0, c)
        d = layer(d)
        cs.append(c)
        ds.append(d)
    return cs, ds


class FsdHeads(nn.Module):
    """The FSD plug-in's heads: head i maps f_i = [c_i ; d_i] to a logit; FsdNet names them heads.<i>."""

    def __init__(self, widths, cfg):
        super().__init__()
        self.heads = nn.ModuleList(nn.Linear(w, 1) for w in widths)
        self.settings = FsdSettings(cfg)

    def run(self, cs, ds, extra=None):
        """Head i on f_i = [cs[i] ; ds[i]]; extra ([B, 1], e.g. an LR logit) joins every head's logit."""
        feats = [torch.cat([c, d], dim=1) for c, d in zip(cs, ds)]
        if extra is None:
            logits = [h(f).squeeze(1) for h, f in zip(self.heads, feats)]
        else:
            logits = [(h(f) + extra).squeeze(1) for h, f in zip(self.heads, feats)]
        probs = [torch.sigmoid(z) for z in logits]
        sh = self.settings.score_head
        y = probs[int(sh)] if sh is not None else sum(probs) / len(probs)
        return {"y_pred": y.unsqueeze(1), "logits": logits, "probs": probs, "features": feats}

    def loss(self, out, labels):
        return self.settings.loss(out, labels)

    def names(self):
        out = {}
        for i, h in enumerate(self.heads):
            out["heads.%d.weight" % i] = h.weight
            out["heads.%d.bias" % i] = h.bias
        return out


def named(prefix, module):
    """A module's parameters under FsdNet's names where its attribute paths already are them: <prefix><path>."""
    return {prefix + n: p for n, p in module.named_parameters()}


class Mirror(nn.Module):
    """Base of the mirrors: predict/loss on top of forward(codes) -> {"y_pred": [B, 1], ...}; a forward that also
    returns "logit" [B, 1] is trained through binary_cross_entropy_with_logits on it."""

    def predict(self, codes):
        return self.forward(codes)["y_pred"]

    def loss(self, codes, labels):
        out = self.forward(codes)
        if getattr(self, "fsd", None) is not None:
            return self.fsd.loss(out, labels)
        if "logit" in out:
            return F.binary_cross_entropy_with_logits(out["logit"].squeeze(1), labels)
        return F.binary_cross_entropy(out["y_pred"].squeeze(1), labels)

    def embedding_parameters(self):
        """What FuxiCTR's embedding_regularizer covers: every table of a FeatureEmbedding (LR's included)."""
        return [p for m in self.modules() if isinstance(m, FeatureEmbedding) for p in m.parameters()]
