"""Mirror of FuxiCTR's LR (model_zoo/LR): y = sigmoid(sum_f w_f[x_f] + b). FsdNet names: lr_layer.*."""

import torch

from . import _base as B


class LR(B.Mirror):
    def __init__(self, vocab_sizes, cfg):
        super().__init__()
        self.lr_layer = B.LogisticRegression(vocab_sizes)
        B.reset_parameters(self)

    def forward(self, codes):
        return {"y_pred": torch.sigmoid(self.lr_layer(codes))}

    def fsdnet_names(self, fields):
        return self.lr_layer.names("lr_layer.", fields)


def build(vocab_sizes, cfg):
    return LR(vocab_sizes, cfg)
