"""Mirror of FuxiCTR's DNN (model_zoo/DNN): y = sigmoid(MLP_Block(flatten(E), output_dim=1)). FsdNet names:
embedding.*, mlp.hidden.<i>.*, mlp.output.*."""

import torch

from . import _base as B


def mlp_from(cfg, in_dim):
    return B.MLP(in_dim, B.get(cfg, "hidden_units", [64, 64, 64]), B.get(cfg, "hidden_activations", "ReLU"),
                 float(B.get(cfg, "net_dropout", 0)), bool(B.get(cfg, "batch_norm", False)), output_dim=1)


class DNN(B.Mirror):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        d = int(B.get(cfg, "embedding_dim", 10))
        self.embedding = B.FeatureEmbedding(vocab_sizes, d)
        self.mlp = mlp_from(cfg, len(vocab_sizes) * d)
        B.reset_parameters(self)

    def forward(self, codes):
        return {"y_pred": torch.sigmoid(self.mlp(self.embedding(codes).flatten(1)))}

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        out.update(self.mlp.names("mlp.", hidden="hidden."))
        return out


def build(vocab_sizes, cfg):
    return DNN(vocab_sizes, cfg)
