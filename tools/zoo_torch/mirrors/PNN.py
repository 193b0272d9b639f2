"""PyTorch mirror of FuxiCTR's model_zoo/PNN (inner-product PNN), written from its definition.

y = sigmoid(MLP_Block([flatten(E) ; inner products <e_i, e_j> for i < j]))."""

import torch
import torch.nn as nn

from . import _base as B


class PNN(nn.Module):
    def __init__(self, vocab_sizes, embedding_dim=10, hidden_units=(64, 64, 64), hidden_activations="ReLU",
                 net_dropout=0.0, batch_norm=False, product_type="inner"):
        super().__init__()
        if product_type != "inner":
            raise NotImplementedError("product_type=%s" % product_type)
        f = len(vocab_sizes)
        self.embedding = B.FeatureEmbedding(vocab_sizes, embedding_dim)
        self.register_buffer("triu", torch.triu(torch.ones(f, f), 1).bool())
        self.pairs = f * (f - 1) // 2
        self.dnn = B.MLP(f * embedding_dim + self.pairs, list(hidden_units), hidden_activations, net_dropout,
                         batch_norm, output_dim=1, output_activation="sigmoid")
        B.reset_parameters(self)

    def predict(self, codes):
        e = self.embedding(codes)
        inner = torch.masked_select(torch.bmm(e, e.transpose(1, 2)), self.triu).view(-1, self.pairs)
        return self.dnn(torch.cat([e.flatten(start_dim=1), inner], dim=1))

    def loss(self, codes, labels):
        return B.bce(self.predict(codes), labels)

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        out.update(self.dnn.names("dnn.", hidden="hidden."))
        return out


def build(vocab_sizes, cfg):
    keys = ["embedding_dim", "hidden_units", "hidden_activations", "net_dropout", "batch_norm", "product_type"]
    return PNN(vocab_sizes, **{k: cfg[k] for k in keys if k in cfg})
