"""PyTorch mirror of FuxiCTR's model_zoo/MaskNet (written here from its definition), for the parity golden file
(tools/zoo_torch/masknet_golden.py) and the speed benchmark.

    build(vocab_sizes, cfg) -> module with predict(codes), loss(codes, labels), fsdnet_names(fields)

MaskBlock: mask = Linear(ReLU(Linear(v_emb))); out = Dropout(act(LayerNorm(Linear_nobias(mask * v_hidden)))).
v_emb = flatten(E); v_hidden = per-field LayerNorm of E (emb_layernorm) or v_emb. SerialMaskNet: chained blocks, then
fc; ParallelMaskNet: parallel blocks concatenated, then MLP_Block (no batch norm) to one logit. The mask blocks'
attribute paths are FsdNet's parameter names.
"""

import torch
import torch.nn as nn

from . import _base as B


class MaskBlock(nn.Module):
    def __init__(self, d_in, d_hidden, d_out, act, ratio, dropout, layer_norm):
        super().__init__()
        agg = int(d_hidden * ratio)
        self.mask_layer = nn.Sequential(nn.Linear(d_in, agg), nn.ReLU(), nn.Linear(agg, d_hidden))
        layers = [nn.Linear(d_hidden, d_out, bias=False)]
        if layer_norm:
            layers.append(nn.LayerNorm(d_out))
        layers.append(B.activation(act))
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        self.hidden_layer = nn.Sequential(*layers)

    def forward(self, v_emb, v_hidden):
        return self.hidden_layer(self.mask_layer(v_emb) * v_hidden)


class MaskNet(B.Mirror):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        d = int(B.get(cfg, "embedding_dim", 10))
        units = list(B.get(cfg, "dnn_hidden_units", [64, 64, 64]))
        act = B.get(cfg, "dnn_hidden_activations", "ReLU")
        ratio = B.get(cfg, "reduction_ratio", 1)
        dropout = float(B.get(cfg, "net_dropout", 0))
        ln = bool(B.get(cfg, "net_layernorm", True))
        self.model_type = B.get(cfg, "model_type", "SerialMaskNet")
        nf = len(vocab_sizes)
        x0 = nf * d
        self.embedding = B.FeatureEmbedding(vocab_sizes, d)
        self.mask_net = nn.Module()
        if self.model_type == "SerialMaskNet":
            ws = [x0] + units
            self.mask_net.mask_blocks = nn.ModuleList(
                MaskBlock(x0, ws[i], ws[i + 1], act, ratio, dropout, ln) for i in range(len(units)))
            self.mask_net.fc = nn.Linear(ws[-1], 1)
        elif self.model_type == "ParallelMaskNet":
            nb, bd = B.get(cfg, "parallel_num_blocks", 1), B.get(cfg, "parallel_block_dim", 64)
            self.mask_net.mask_blocks = nn.ModuleList(MaskBlock(x0, x0, bd, act, ratio, dropout, ln) for _ in range(nb))
            self.mask_net.dnn = B.MLP(bd * nb, units, act, dropout, False, output_dim=1)
        else:
            raise ValueError(self.model_type)
        self.emb_norm = nn.ModuleList(nn.LayerNorm(d) for _ in range(nf)) if B.get(cfg, "emb_layernorm", True) else None
        B.reset_parameters(self)

    def forward(self, codes):
        e = self.embedding(codes)
        v_emb = e.flatten(start_dim=1)
        if self.emb_norm is not None:
            v_hidden = torch.cat([n(e[:, i]) for i, n in enumerate(self.emb_norm)], dim=1)
        else:
            v_hidden = v_emb
        if self.model_type == "SerialMaskNet":
            v = v_hidden
            for block in self.mask_net.mask_blocks:
                v = block(v_emb, v)
            y = self.mask_net.fc(v)
        else:
            y = self.mask_net.dnn(torch.cat([block(v_emb, v_hidden) for block in self.mask_net.mask_blocks], dim=-1))
        return {"y_pred": torch.sigmoid(y), "logit": y}

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        out.update(B.named("mask_net.mask_blocks.", self.mask_net.mask_blocks))
        if self.model_type == "SerialMaskNet":
            out.update(B.named("mask_net.fc.", self.mask_net.fc))
        else:
            out.update(self.mask_net.dnn.names("mask_net.dnn.", hidden="hidden."))
        if self.emb_norm is not None:
            out.update(B.named("emb_norm.", self.emb_norm))
        return out


def build(vocab_sizes, cfg):
    return MaskNet(vocab_sizes, cfg)
