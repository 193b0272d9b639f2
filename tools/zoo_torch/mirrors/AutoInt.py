"""PyTorch mirror of FuxiCTR's model_zoo/AutoInt (AutoInt+ with dnn_hidden_units; written here from its definition),
for the parity golden file (tools/zoo_torch/autoint_golden.py) and the speed benchmark.

    build(vocab_sizes, cfg) -> module with predict(codes), loss(codes, labels), fsdnet_names(fields)

MultiHeadSelfAttention: Q, K, V = Linear(no bias)(X); per head softmax(Q K^T [/ sqrt(head_dim)]) V (dropout on the
weights); heads concatenated; + residual (W_res when the width changes); LayerNorm (optional); ReLU.
logit = fc(flatten(attention stack(E))) + MLP_Block(flatten(E)) + LR(x) (use_wide). With fsd: true (FsdNet's
plug-in) attention layer i (flattened) and DNN layer i are concatenated, head i gives w_i f_i + b_i (+ LR with
use_wide), and the loss is tools/fsdnet_torch/fsdnet.py's total_loss (through _base.FsdHeads). The attention
stack's attribute paths are FsdNet's parameter names.
"""

import torch
import torch.nn as nn

from . import _base as B


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


class AutoInt(B.Mirror):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        d = int(B.get(cfg, "embedding_dim", 10))
        units = list(B.get(cfg, "dnn_hidden_units", [64, 64, 64]))
        act = B.get(cfg, "dnn_activations", "ReLU")
        layers = int(B.get(cfg, "attention_layers", 2))
        heads = int(B.get(cfg, "num_heads", 1))
        att = int(B.get(cfg, "attention_dim", 8))
        dropout = float(B.get(cfg, "net_dropout", 0))
        bn = bool(B.get(cfg, "batch_norm", False))
        nf = len(vocab_sizes)
        x0 = nf * d
        self.embedding = B.FeatureEmbedding(vocab_sizes, d)
        self.lr_layer = B.LogisticRegression(vocab_sizes, use_bias=False) if B.get(cfg, "use_wide", False) else None
        self.self_attention = nn.Sequential(*[
            MultiHeadSelfAttention(d if i == 0 else att, att, heads, dropout, B.get(cfg, "use_residual", True),
                                   B.get(cfg, "use_scale", False), B.get(cfg, "layer_norm", False)) for i in range(layers)])
        self.fsd = None
        if B.get(cfg, "fsd", False):
            assert units and len(units) == layers, "fsd needs one DNN layer per attention layer"
            self.dnn = B.MLP(x0, units, act, dropout, bn)
            self.fsd = B.FsdHeads([nf * att + u for u in units], cfg)
        else:
            self.dnn = B.MLP(x0, units, act, dropout, bn, output_dim=1) if units else None
            self.fc = nn.Linear(nf * att, 1)
        B.reset_parameters(self)

    def forward(self, codes):
        e = self.embedding(codes)
        wide = self.lr_layer(codes) if self.lr_layer is not None else None
        if self.fsd is not None:
            a, h, cs, ds = e, e.flatten(start_dim=1), [], []
            for i, layer in enumerate(self.dnn.layers):
                a = self.self_attention[i](a)
                h = layer(h)
                cs.append(a.flatten(start_dim=1))
                ds.append(h)
            return self.fsd.run(cs, ds, wide)
        y = self.fc(self.self_attention(e).flatten(start_dim=1))
        if self.dnn is not None:
            y = y + self.dnn(e.flatten(start_dim=1))
        if wide is not None:
            y = y + wide
        return {"y_pred": torch.sigmoid(y), "logit": y}

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        if self.lr_layer is not None:
            out.update(self.lr_layer.names("lr_layer.", fields))
        out.update(B.named("self_attention.", self.self_attention))
        if self.fsd is not None:
            out.update(self.dnn.names("dnn."))
            out.update(self.fsd.names())
        else:
            if self.dnn is not None:
                out.update(self.dnn.names("dnn.", hidden="hidden."))
            out["fc.weight"] = self.fc.weight
            out["fc.bias"] = self.fc.bias
        return out


def build(vocab_sizes, cfg):
    return AutoInt(vocab_sizes, cfg)
