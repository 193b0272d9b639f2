"""PyTorch mirror of FuxiCTR's model_zoo/FinalMLP, written from its definition (FeatureSelection,
InteractionAggregation, two MLP_Blocks without output layer), plus the FSD plug-in (fsd: true): layer i of mlp1 and
layer i of mlp2 fused, f_i = [mlp1_i ; mlp2_i], one head per layer, the loss of tools/fsdnet_torch/fsdnet.py."""

import torch
import torch.nn as nn

from . import _base as B


class FeatureSelection(nn.Module):
    def __init__(self, vocab_sizes, fields, feature_dim, embedding_dim, fs_hidden_units, fs1_context, fs2_context):
        super().__init__()
        self.ctx = {}
        for k, context in ((1, fs1_context), (2, fs2_context)):
            if len(context) == 0:
                setattr(self, "fs%d_ctx_bias" % k, nn.Parameter(torch.zeros(1, embedding_dim)))
            else:
                # FuxiCTR's FeatureEmbedding(required_feature_columns=...): own tables, feature-map order.
                idx = [i for i, f in enumerate(fields) if f in context]
                self.ctx[k] = idx
                setattr(self, "fs%d_ctx_emb" % k, B.FeatureEmbedding([vocab_sizes[i] for i in idx], embedding_dim))
        self.fs1_gate = B.MLP(embedding_dim * max(1, len(fs1_context)), fs_hidden_units, "ReLU", 0, False,
                              output_dim=feature_dim, output_activation="sigmoid")
        self.fs2_gate = B.MLP(embedding_dim * max(1, len(fs2_context)), fs_hidden_units, "ReLU", 0, False,
                              output_dim=feature_dim, output_activation="sigmoid")

    def context(self, k, codes, rows):
        if k not in self.ctx:
            return getattr(self, "fs%d_ctx_bias" % k).repeat(rows, 1)
        return getattr(self, "fs%d_ctx_emb" % k)(codes[:, self.ctx[k]]).flatten(start_dim=1)

    def forward(self, codes, flat_emb):
        rows = flat_emb.size(0)
        gt1 = self.fs1_gate(self.context(1, codes, rows)) * 2
        gt2 = self.fs2_gate(self.context(2, codes, rows)) * 2
        return flat_emb * gt1, flat_emb * gt2

    def names(self, fields, prefix):
        out = {}
        for k in (1, 2):
            if k in self.ctx:
                emb = getattr(self, "fs%d_ctx_emb" % k)
                out.update(emb.names("%sfs%d_ctx_emb." % (prefix, k), [fields[i] for i in self.ctx[k]]))
            else:
                out["%sfs%d_ctx_bias" % (prefix, k)] = getattr(self, "fs%d_ctx_bias" % k)
        out.update(self.fs1_gate.names(prefix + "fs1_gate.", hidden="hidden."))
        out.update(self.fs2_gate.names(prefix + "fs2_gate.", hidden="hidden."))
        return out


class InteractionAggregation(nn.Module):
    def __init__(self, x_dim, y_dim, output_dim=1, num_heads=1):
        super().__init__()
        assert x_dim % num_heads == 0 and y_dim % num_heads == 0
        self.num_heads, self.output_dim = num_heads, output_dim
        self.head_x_dim, self.head_y_dim = x_dim // num_heads, y_dim // num_heads
        self.w_x = nn.Linear(x_dim, output_dim)
        self.w_y = nn.Linear(y_dim, output_dim)
        self.w_xy = nn.Parameter(torch.Tensor(num_heads * self.head_x_dim * self.head_y_dim, output_dim))
        nn.init.xavier_normal_(self.w_xy)

    def forward(self, x, y):
        output = self.w_x(x) + self.w_y(y)
        head_x = x.view(-1, self.num_heads, self.head_x_dim)
        head_y = y.view(-1, self.num_heads, self.head_y_dim)
        xy = torch.matmul(torch.matmul(head_x.unsqueeze(2), self.w_xy.view(self.num_heads, self.head_x_dim, -1))
                          .view(-1, self.num_heads, self.output_dim, self.head_y_dim),
                          head_y.unsqueeze(-1)).squeeze(-1)
        return output + xy.sum(dim=1)


class FinalMLP(nn.Module):
    def __init__(self, vocab_sizes, fields=None, embedding_dim=10, mlp1_hidden_units=(64, 64, 64),
                 mlp1_hidden_activations="ReLU", mlp1_dropout=0.0, mlp1_batch_norm=False,
                 mlp2_hidden_units=(64, 64, 64), mlp2_hidden_activations="ReLU", mlp2_dropout=0.0,
                 mlp2_batch_norm=False, use_fs=True, fs_hidden_units=(64,), fs1_context=(), fs2_context=(),
                 num_heads=1, fsd=False, choice=0, loss_coefficient=0.3, fea_coefficient=0.01, Temp=1.0):
        super().__init__()
        fields = fields or ["f%d" % i for i in range(len(vocab_sizes))]
        feature_dim = embedding_dim * len(vocab_sizes)
        self.embedding = B.FeatureEmbedding(vocab_sizes, embedding_dim)
        self.mlp1 = B.MLP(feature_dim, list(mlp1_hidden_units), mlp1_hidden_activations, mlp1_dropout,
                          mlp1_batch_norm)
        self.mlp2 = B.MLP(feature_dim, list(mlp2_hidden_units), mlp2_hidden_activations, mlp2_dropout,
                          mlp2_batch_norm)
        self.use_fs = use_fs
        if use_fs:
            self.fs_module = FeatureSelection(vocab_sizes, fields, feature_dim, embedding_dim, list(fs_hidden_units),
                                              list(fs1_context), list(fs2_context))
        self.fsd = fsd
        if fsd:
            assert len(mlp1_hidden_units) == len(mlp2_hidden_units)
            self.heads = nn.ModuleList(nn.Linear(a + b, 1) for a, b in zip(mlp1_hidden_units, mlp2_hidden_units))
            self.fsd_args = (choice, loss_coefficient, Temp, fea_coefficient)
        else:
            self.fusion_module = InteractionAggregation(self.mlp1.out_dim, self.mlp2.out_dim, 1, num_heads)
        B.reset_parameters(self)

    def inputs(self, codes):
        flat = self.embedding(codes).flatten(start_dim=1)
        return self.fs_module(codes, flat) if self.use_fs else (flat, flat)

    def fused(self, codes):
        c, d = self.inputs(codes)
        logits, feats = [], []
        for i, head in enumerate(self.heads):
            c, d = self.mlp1.layers[i](c), self.mlp2.layers[i](d)
            f = torch.cat([c, d], dim=1)
            feats.append(f)
            logits.append(head(f).squeeze(1))
        return {"logits": logits, "probs": [torch.sigmoid(z) for z in logits], "features": feats}

    def predict(self, codes):
        if self.fsd:
            probs = self.fused(codes)["probs"]
            return (sum(probs) / len(probs)).unsqueeze(1)
        f1, f2 = self.inputs(codes)
        return torch.sigmoid(self.fusion_module(self.mlp1(f1), self.mlp2(f2)))

    def loss(self, codes, labels):
        if self.fsd:
            choice, mu, tau, beta = self.fsd_args
            return B._fsd.total_loss(self.fused(codes), labels, choice, mu, tau, beta)
        return B.bce(self.predict(codes), labels)

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        out.update(self.mlp1.names("mlp1."))
        out.update(self.mlp2.names("mlp2."))
        if self.use_fs:
            out.update(self.fs_module.names(fields, "fs_module."))
        if self.fsd:
            for i, h in enumerate(self.heads):
                out["heads.%d.weight" % i] = h.weight
                out["heads.%d.bias" % i] = h.bias
        else:
            out["fusion_module.w_x.weight"] = self.fusion_module.w_x.weight
            out["fusion_module.w_x.bias"] = self.fusion_module.w_x.bias
            out["fusion_module.w_y.weight"] = self.fusion_module.w_y.weight
            out["fusion_module.w_y.bias"] = self.fusion_module.w_y.bias
            out["fusion_module.w_xy"] = self.fusion_module.w_xy
        return out


def build(vocab_sizes, cfg, fields=None):
    keys = ["embedding_dim", "mlp1_hidden_units", "mlp1_hidden_activations", "mlp1_dropout", "mlp1_batch_norm",
            "mlp2_hidden_units", "mlp2_hidden_activations", "mlp2_dropout", "mlp2_batch_norm", "use_fs",
            "fs_hidden_units", "fs1_context", "fs2_context", "num_heads", "fsd", "choice", "loss_coefficient",
            "fea_coefficient", "Temp"]
    return FinalMLP(vocab_sizes, fields, **{k: cfg[k] for k in keys if k in cfg})
