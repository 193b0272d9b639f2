"""PyTorch mirror of FuxiCTR's model_zoo/FiBiNET, written from its definition (SqueezeExcitation,
BilinearInteractionV2, LogisticRegression without bias, MLP_Block with one output).

V = SENET(E); p = bilinear1(E); q = bilinear2(V); y = sigmoid(LR(x) + MLP([flatten(p) ; flatten(q)]))."""

import torch
import torch.nn as nn

from . import _base as B


class SqueezeExcitation(nn.Module):
    def __init__(self, num_fields, reduction_ratio=3, excitation_activation="ReLU"):
        super().__init__()
        reduced = max(1, int(num_fields / reduction_ratio))
        act = {"relu": nn.ReLU(), "sigmoid": nn.Sigmoid()}[excitation_activation.lower()]
        self.excitation = nn.Sequential(nn.Linear(num_fields, reduced, bias=False), nn.ReLU(),
                                        nn.Linear(reduced, num_fields, bias=False), act)

    def forward(self, e):
        return e * self.excitation(torch.mean(e, dim=-1)).unsqueeze(-1)


class BilinearInteractionV2(nn.Module):
    def __init__(self, num_fields, dim, bilinear_type="field_interaction"):
        super().__init__()
        self.bilinear_type = bilinear_type
        pairs = num_fields * (num_fields - 1) // 2
        shape = {"field_all": (dim, dim), "field_each": (num_fields, dim, dim),
                 "field_interaction": (pairs, dim, dim)}[bilinear_type]
        self.bilinear_W = nn.Parameter(torch.empty(*shape))
        nn.init.xavier_normal_(self.bilinear_W)
        self.register_buffer("triu_index", torch.triu_indices(num_fields, num_fields, offset=1))

    def forward(self, e):
        if self.bilinear_type == "field_interaction":
            left = torch.index_select(e, 1, self.triu_index[0])
            right = torch.index_select(e, 1, self.triu_index[1])
            return torch.matmul(left.unsqueeze(2), self.bilinear_W).squeeze(2) * right
        if self.bilinear_type == "field_all":
            hidden = torch.matmul(e, self.bilinear_W)
        else:
            hidden = torch.matmul(e.unsqueeze(2), self.bilinear_W).squeeze(2)
        return torch.index_select(hidden, 1, self.triu_index[0]) * torch.index_select(e, 1, self.triu_index[1])


class FiBiNET(nn.Module):
    def __init__(self, vocab_sizes, embedding_dim=10, hidden_units=(), hidden_activations="ReLU",
                 excitation_activation="ReLU", reduction_ratio=3, bilinear_type="field_interaction",
                 net_dropout=0.0, batch_norm=False):
        super().__init__()
        f = len(vocab_sizes)
        self.embedding = B.FeatureEmbedding(vocab_sizes, embedding_dim)
        self.senet_layer = SqueezeExcitation(f, reduction_ratio, excitation_activation)
        self.bilinear_interaction1 = BilinearInteractionV2(f, embedding_dim, bilinear_type)
        self.bilinear_interaction2 = BilinearInteractionV2(f, embedding_dim, bilinear_type)
        self.lr_layer = B.LogisticRegression(vocab_sizes, use_bias=False)
        self.dnn = B.MLP(f * (f - 1) * embedding_dim, list(hidden_units), hidden_activations, net_dropout,
                         batch_norm, output_dim=1)
        B.reset_parameters(self)

    def predict(self, codes):
        e = self.embedding(codes)
        p = self.bilinear_interaction1(e)
        q = self.bilinear_interaction2(self.senet_layer(e))
        comb = torch.flatten(torch.cat([p, q], dim=1), start_dim=1)
        return torch.sigmoid(self.lr_layer(codes) + self.dnn(comb))

    def loss(self, codes, labels):
        return B.bce(self.predict(codes), labels)

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        out["senet_layer.excitation.0.weight"] = self.senet_layer.excitation[0].weight
        out["senet_layer.excitation.2.weight"] = self.senet_layer.excitation[2].weight
        out["bilinear_interaction1.bilinear_W"] = self.bilinear_interaction1.bilinear_W
        out["bilinear_interaction2.bilinear_W"] = self.bilinear_interaction2.bilinear_W
        out.update(self.lr_layer.names("lr_layer.", fields))
        out.update(self.dnn.names("dnn.", hidden="hidden."))
        return out


def build(vocab_sizes, cfg):
    keys = ["embedding_dim", "hidden_units", "hidden_activations", "excitation_activation", "reduction_ratio",
            "bilinear_type", "net_dropout", "batch_norm"]
    return FiBiNET(vocab_sizes, **{k: cfg[k] for k in keys if k in cfg})
