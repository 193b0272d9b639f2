"""PyTorch pieces shared by the mirrors of GDCN/GDCNP, EDCN and DCNv2's CrossNetMix (tools/zoo_torch/mirrors/), each
written from FuxiCTR's definition: field embeddings, MLP_Block hidden layers one module per layer, the FSD heads
and loss (tools/fsdnet_torch/fsdnet.py's total_loss), and FsdNet's parameter names for each of them."""

import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fsdnet_torch"))
from fsdnet import total_loss  # noqa: E402


def activation(name):
    n = str(name).lower()
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
    raise ValueError("activation %s is not in this mirror" % name)


class Embeddings(nn.Module):
    """One nn.Embedding(v, dim, padding_idx=0) per categorical field, FuxiCTR's init (normal std 1e-4, row 0 zero)."""

    def __init__(self, vocab_sizes, dim):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(v, dim, padding_idx=0) for v in vocab_sizes)
        with torch.no_grad():
            for e in self.tables:
                nn.init.normal_(e.weight, std=1e-4)
                e.weight[0].zero_()
        self.out_dim = len(vocab_sizes) * dim

    def forward(self, codes, flatten=True):
        e = torch.stack([t(codes[:, i]) for i, t in enumerate(self.tables)], dim=1)
        return e.flatten(1) if flatten else e

    def names(self, fields):
        return {"embedding.embedding_layer.%s.weight" % f: t.weight for f, t in zip(fields, self.tables)}


class DenseStack(nn.Module):
    """MLP_Block's hidden layers, one nn.Sequential per layer (Linear -> BatchNorm -> activation -> Dropout), and an
    optional output Linear; xavier_normal weights and zero biases (FuxiCTR's reset_parameters)."""

    def __init__(self, in_dim, units, act="ReLU", dropout=0.0, batch_norm=False, output_dim=None):
        super().__init__()
        self.layers = nn.ModuleList()
        self.batch_norm = batch_norm
        w = in_dim
        for u in units:
            parts = [nn.Linear(w, u)]
            if batch_norm:
                parts.append(nn.BatchNorm1d(u))
            parts.append(activation(act))
            if dropout > 0:
                parts.append(nn.Dropout(dropout))
            self.layers.append(nn.Sequential(*parts))
            w = u
        self.output = nn.Linear(w, output_dim) if output_dim is not None else None
        self.out_dim = output_dim if output_dim is not None else w
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.output(x) if self.output is not None else x

    def names(self, prefix, hidden=""):
        out = {}
        for i, layer in enumerate(self.layers):
            out["%s%s%d.linear.weight" % (prefix, hidden, i)] = layer[0].weight
            out["%s%s%d.linear.bias" % (prefix, hidden, i)] = layer[0].bias
            if self.batch_norm:
                out["%s%s%d.batch_norm.weight" % (prefix, hidden, i)] = layer[1].weight
                out["%s%s%d.batch_norm.bias" % (prefix, hidden, i)] = layer[1].bias
        if self.output is not None:
            out[prefix + "output.weight"] = self.output.weight
            out[prefix + "output.bias"] = self.output.bias
        return out


def linear_init(m):
    nn.init.xavier_normal_(m.weight)
    if m.bias is not None:
        nn.init.zeros_(m.bias)
    return m


class FsdHeads(nn.Module):
    """The FSD module: head i = Linear(width_i, 1) on f_i = [c_i ; d_i]; prediction the mean of the heads'
    probabilities; loss total_loss(choice, loss_coefficient, Temp, fea_coefficient, soft_loss)."""

    def __init__(self, widths, cfg):
        super().__init__()
        self.heads = nn.ModuleList(linear_init(nn.Linear(w, 1)) for w in widths)
        self.choice = int(cfg.get("choice", 0))
        self.mu = float(cfg.get("loss_coefficient", 0.3))
        self.beta = float(cfg.get("fea_coefficient", 0.01))
        self.tau = float(cfg.get("Temp", 1.0))
        self.soft = str(cfg.get("soft_loss", "official")).lower()

    def run(self, pairs):
        feats = [torch.cat([c, d], dim=1) for c, d in pairs]
        logits = [h(f).squeeze(1) for h, f in zip(self.heads, feats)]
        probs = [torch.sigmoid(z) for z in logits]
        return {"features": feats, "logits": logits, "probs": probs}

    @staticmethod
    def predict(out):
        return (sum(out["probs"]) / len(out["probs"])).unsqueeze(1)

    def loss(self, out, labels):
        return total_loss(out, labels, self.choice, self.mu, self.tau, self.beta, self.soft)

    def names(self):
        out = {}
        for i, h in enumerate(self.heads):
            out["heads.%d.weight" % i] = h.weight
            out["heads.%d.bias" % i] = h.bias
        return out


def bce(p, labels):
    return nn.functional.binary_cross_entropy(p.squeeze(1), labels)


def perturb(module):
    """Golden-file initial values: no value trivially tiny (embeddings N(0, 0.5), Linear xavier_normal weights and
    N(0, 0.2) biases, BatchNorm affine away from 1/0); other parameters are perturbed by the golden scripts."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Embedding):
                m.weight.normal_(0, 0.5)
                m.weight[0].zero_()
            elif isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                if m.bias is not None:
                    m.bias.normal_(0, 0.2)
            elif isinstance(m, nn.BatchNorm1d) and m.affine:
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.3)


class CrossNetMix(nn.Module):
    """FuxiCTR's CrossNetMix as written there (a loop over experts): per layer and expert
    x0 * (U tanh(C tanh(V^T x_l)) + b), mixed by softmax over experts of gating_e(x_l) (gates shared by all layers),
    plus the residual x_l. U, V [E, d, r], C [E, r, r] xavier_normal_, bias [d, 1] zeros."""

    def __init__(self, d, layers, low_rank=32, num_experts=4):
        super().__init__()
        self.U_list = nn.ParameterList(nn.Parameter(nn.init.xavier_normal_(torch.empty(num_experts, d, low_rank)))
                                       for _ in range(layers))
        self.V_list = nn.ParameterList(nn.Parameter(nn.init.xavier_normal_(torch.empty(num_experts, d, low_rank)))
                                       for _ in range(layers))
        self.C_list = nn.ParameterList(nn.Parameter(nn.init.xavier_normal_(torch.empty(num_experts, low_rank, low_rank)))
                                       for _ in range(layers))
        self.gating = nn.ModuleList(linear_init(nn.Linear(d, 1, bias=False)) for _ in range(num_experts))
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
