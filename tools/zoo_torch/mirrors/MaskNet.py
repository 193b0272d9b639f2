"""PyTorch mirror of FuxiCTR's model_zoo/MaskNet (written here from its definition), for the parity golden file
(tools/zoo_torch/masknet_golden.py) and the speed benchmark.

    build(vocab_sizes, cfg) -> module with predict(codes), loss(codes, labels), fsdnet_names(fields)

MaskBlock: mask = Linear(ReLU(Linear(v_emb))); out = Dropout(act(LayerNorm(Linear_nobias(mask * v_hidden)))).
v_emb = flatten(E); v_hidden = per-field LayerNorm of E (emb_layernorm) or v_emb. SerialMaskNet: chained blocks, then
fc; ParallelMaskNet: parallel blocks concatenated, then MLP_Block (no batch norm) to one logit. Module attribute
names follow FsdNet's parameter names.
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


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


class MaskBlock(nn.Module):
    def __init__(self, d_in, d_hidden, d_out, act, ratio, dropout, layer_norm):
        super().__init__()
        agg = int(d_hidden * ratio)
        self.mask_layer = nn.Sequential(nn.Linear(d_in, agg), nn.ReLU(), nn.Linear(agg, d_hidden))
        layers = [nn.Linear(d_hidden, d_out, bias=False)]
        if layer_norm:
            layers.append(nn.LayerNorm(d_out))
        layers.append(ACTIVATIONS[act.lower()]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        self.hidden_layer = nn.Sequential(*layers)

    def forward(self, v_emb, v_hidden):
        return self.hidden_layer(self.mask_layer(v_emb) * v_hidden)


class MaskNet(nn.Module):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        d = cfg.get("embedding_dim", 10)
        units = cfg.get("dnn_hidden_units", [64, 64, 64]) or []
        act = cfg.get("dnn_hidden_activations", "ReLU")
        ratio = cfg.get("reduction_ratio", 1)
        dropout = cfg.get("net_dropout", 0)
        ln = cfg.get("net_layernorm", True)
        self.model_type = cfg.get("model_type", "SerialMaskNet")
        nf = len(vocab_sizes)
        x0 = nf * d
        self.embedding = nn.ModuleDict({"tables": nn.ModuleList(nn.Embedding(v, d, padding_idx=0) for v in vocab_sizes)})
        self.mask_net = nn.Module()
        if self.model_type == "SerialMaskNet":
            ws = [x0] + list(units)
            self.mask_net.mask_blocks = nn.ModuleList(
                MaskBlock(x0, ws[i], ws[i + 1], act, ratio, dropout, ln) for i in range(len(units)))
            self.mask_net.fc = nn.Linear(ws[-1], 1)
        elif self.model_type == "ParallelMaskNet":
            nb, bd = cfg.get("parallel_num_blocks", 1), cfg.get("parallel_block_dim", 64)
            self.mask_net.mask_blocks = nn.ModuleList(MaskBlock(x0, x0, bd, act, ratio, dropout, ln) for _ in range(nb))
            self.mask_net.dnn = MLP(bd * nb, units, act, dropout, False)
        else:
            raise ValueError(self.model_type)
        self.emb_norm = nn.ModuleList(nn.LayerNorm(d) for _ in range(nf)) if cfg.get("emb_layernorm", True) else None
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

    def logit(self, codes):
        e = torch.stack([t(codes[:, i]) for i, t in enumerate(self.embedding["tables"])], dim=1)
        v_emb = e.flatten(start_dim=1)
        if self.emb_norm is not None:
            v_hidden = torch.cat([n(e[:, i]) for i, n in enumerate(self.emb_norm)], dim=1)
        else:
            v_hidden = v_emb
        if self.model_type == "SerialMaskNet":
            v = v_hidden
            for block in self.mask_net.mask_blocks:
                v = block(v_emb, v)
            return self.mask_net.fc(v)
        outs = torch.cat([block(v_emb, v_hidden) for block in self.mask_net.mask_blocks], dim=-1)
        return self.mask_net.dnn(outs)

    def predict(self, codes):
        return torch.sigmoid(self.logit(codes))

    def loss(self, codes, labels):
        return F.binary_cross_entropy_with_logits(self.logit(codes).squeeze(1), labels)

    def fsdnet_names(self, fields):
        out = {}
        for n, p in self.named_parameters():
            parts = n.split(".")
            if parts[0] == "embedding" and parts[1] == "tables":
                n = "embedding.embedding_layer.%s.weight" % fields[int(parts[2])]
            out[n] = p
        return out


def build(vocab_sizes, cfg):
    return MaskNet(vocab_sizes, cfg)
