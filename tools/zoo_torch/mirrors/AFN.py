"""PyTorch mirror of FuxiCTR's model_zoo/AFN (AFN+ with ensemble_dnn), written from its definition.

log_net(E) = flatten(exp_bn(exp(coefficient_W(log_bn(log(clamp(|E|, 1e-5))).transpose) .transpose)));
afn = dense_layer(log_net(E)); AFN+: y = sigmoid(fc([afn ; dnn(flatten(E2))])), else y = sigmoid(afn)."""

import torch
import torch.nn as nn

from . import _base as B


class AFN(nn.Module):
    def __init__(self, vocab_sizes, embedding_dim=10, ensemble_dnn=True, dnn_hidden_units=(64, 64, 64),
                 dnn_activations="ReLU", dnn_dropout=0.0, afn_hidden_units=(64, 64, 64), afn_activations="ReLU",
                 afn_dropout=0.0, logarithmic_neurons=5, batch_norm=True):
        super().__init__()
        f = len(vocab_sizes)
        self.embedding = B.FeatureEmbedding(vocab_sizes, embedding_dim)
        self.coefficient_W = nn.Linear(f, logarithmic_neurons, bias=False)
        self.dense_layer = B.MLP(embedding_dim * logarithmic_neurons, list(afn_hidden_units), afn_activations,
                                 afn_dropout, batch_norm, output_dim=1)
        self.log_batch_norm = nn.BatchNorm1d(f)
        self.exp_batch_norm = nn.BatchNorm1d(logarithmic_neurons)
        self.ensemble_dnn = ensemble_dnn
        if ensemble_dnn:
            self.embedding2 = B.FeatureEmbedding(vocab_sizes, embedding_dim)
            self.dnn = B.MLP(embedding_dim * f, list(dnn_hidden_units), dnn_activations, dnn_dropout, batch_norm,
                             output_dim=1)
            self.fc = nn.Linear(2, 1)
        B.reset_parameters(self)

    def logarithmic_net(self, e):
        e = torch.clamp(torch.abs(e), min=1e-5)
        log_e = self.log_batch_norm(torch.log(e))
        out = self.coefficient_W(log_e.transpose(2, 1)).transpose(1, 2)
        return torch.flatten(self.exp_batch_norm(torch.exp(out)), start_dim=1)

    def predict(self, codes):
        afn = self.dense_layer(self.logarithmic_net(self.embedding(codes)))
        if self.ensemble_dnn:
            dnn = self.dnn(self.embedding2(codes).flatten(start_dim=1))
            return torch.sigmoid(self.fc(torch.cat([afn, dnn], dim=-1)))
        return torch.sigmoid(afn)

    def loss(self, codes, labels):
        return B.bce(self.predict(codes), labels)

    def fsdnet_names(self, fields):
        out = self.embedding.names("embedding.", fields)
        out["coefficient_W.weight"] = self.coefficient_W.weight
        out["log_batch_norm.weight"] = self.log_batch_norm.weight
        out["log_batch_norm.bias"] = self.log_batch_norm.bias
        out["exp_batch_norm.weight"] = self.exp_batch_norm.weight
        out["exp_batch_norm.bias"] = self.exp_batch_norm.bias
        out.update(self.dense_layer.names("dense_layer.", hidden="hidden."))
        if self.ensemble_dnn:
            out.update(self.embedding2.names("embedding2.", fields))
            out.update(self.dnn.names("dnn.", hidden="hidden."))
            out["fc.weight"] = self.fc.weight
            out["fc.bias"] = self.fc.bias
        return out


def build(vocab_sizes, cfg):
    keys = ["embedding_dim", "ensemble_dnn", "dnn_hidden_units", "dnn_activations", "dnn_dropout", "afn_hidden_units",
            "afn_activations", "afn_dropout", "logarithmic_neurons", "batch_norm"]
    return AFN(vocab_sizes, **{k: cfg[k] for k in keys if k in cfg})
