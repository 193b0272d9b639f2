"""Mirror of FuxiCTR's FM (model_zoo/FM): FactorizationMachine = LogisticRegression + product_sum,
0.5 * sum_d((sum_f e_f)^2 - sum_f e_f^2). FsdNet names: embedding.*, fm.lr_layer.*."""

import torch

from . import _base as B


def product_sum(e):
    return (0.5 * (e.sum(dim=1) ** 2 - (e ** 2).sum(dim=1))).sum(dim=-1, keepdim=True)


class FM(B.Mirror):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        self.embedding = B.FeatureEmbedding(vocab_sizes, int(B.get(cfg, "embedding_dim", 10)))
        self.lr_layer = B.LogisticRegression(vocab_sizes)
        B.reset_parameters(self)

    def logit(self, codes, emb):
        return self.lr_layer(codes) + product_sum(emb)

    def forward(self, codes):
        return {"y_pred": torch.sigmoid(self.logit(codes, self.embedding(codes)))}

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        out.update(self.lr_layer.names("fm.lr_layer.", fields))
        return out


def build(vocab_sizes, cfg):
    return FM(vocab_sizes, cfg)
