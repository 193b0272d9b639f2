"""Mirror of FuxiCTR's DeepFM (model_zoo/DeepFM): y = sigmoid(FM(x, E) + MLP_Block(flatten(E), output_dim=1)), the
FM and the MLP sharing the embeddings E. FsdNet names: embedding.*, fm.lr_layer.*, mlp.*."""

import torch

from . import _base as B
from .DNN import mlp_from
from .FM import product_sum


class DeepFM(B.Mirror):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        d = int(B.get(cfg, "embedding_dim", 10))
        self.embedding = B.FeatureEmbedding(vocab_sizes, d)
        self.lr_layer = B.LogisticRegression(vocab_sizes)
        self.mlp = mlp_from(cfg, len(vocab_sizes) * d)
        B.reset_parameters(self)

    def forward(self, codes):
        e = self.embedding(codes)
        return {"y_pred": torch.sigmoid(self.lr_layer(codes) + product_sum(e) + self.mlp(e.flatten(1)))}

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        out.update(self.lr_layer.names("fm.lr_layer.", fields))
        out.update(self.mlp.names("mlp.", hidden="hidden."))
        return out


def build(vocab_sizes, cfg):
    return DeepFM(vocab_sizes, cfg)
