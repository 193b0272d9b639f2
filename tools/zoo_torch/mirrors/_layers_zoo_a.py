"""Blocks shared by the PNN, FiBiNET, AFN and FinalMLP mirrors, written from FuxiCTR 2.3.10's definitions:
per-field embeddings, MLP_Block, LogisticRegression, FuxiCTR's default initialisation, FsdNet's parameter names,
and one golden case (train-mode forward, loss and every gradient)."""

import torch
import torch.nn as nn
import torch.nn.functional as F


def activation(name):
    """FuxiCTR's get_activation for the names FsdNet knows."""
    n = (name or "linear").lower()
    return {"relu": nn.ReLU(), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "leakyrelu": nn.LeakyReLU(),
            "linear": nn.Identity(), "none": nn.Identity()}[n]


class FieldEmbedding(nn.Module):
    """One nn.Embedding(v, d, padding_idx=0) per categorical field; FuxiCTR's init normal(0, 1e-4), row 0 zero."""

    def __init__(self, vocab_sizes, dim):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(v, dim, padding_idx=0) for v in vocab_sizes)
        with torch.no_grad():
            for t in self.tables:
                nn.init.normal_(t.weight, std=1e-4)
                t.weight[0].zero_()

    def forward(self, codes):
        """[B, F, d]."""
        return torch.stack([t(codes[:, i]) for i, t in enumerate(self.tables)], dim=1)

    def names(self, fields, prefix):
        return {"%sembedding_layer.%s.weight" % (prefix, f): t.weight for f, t in zip(fields, self.tables)}


class MLPBlock(nn.Module):
    """FuxiCTR's MLP_Block: per hidden layer Linear -> BatchNorm1d (optional) -> activation -> Dropout (when > 0),
    then an optional Linear output layer and output activation."""

    def __init__(self, in_dim, hidden_units, activation_name="ReLU", dropout=0.0, batch_norm=False,
                 output_dim=None, output_activation=None):
        super().__init__()
        self.linears, self.norms, self.acts = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        self.dropout = dropout
        w = in_dim
        for u in hidden_units:
            self.linears.append(nn.Linear(w, u))
            self.norms.append(nn.BatchNorm1d(u) if batch_norm else nn.Identity())
            self.acts.append(activation(activation_name))
            w = u
        self.output = nn.Linear(w, output_dim) if output_dim is not None else None
        self.output_activation = activation(output_activation) if output_activation else nn.Identity()
        self.out_dim = output_dim if output_dim is not None else w

    def layer(self, i, x):
        x = self.acts[i](self.norms[i](self.linears[i](x)))
        return F.dropout(x, self.dropout, self.training) if self.dropout > 0 else x

    def forward(self, x):
        for i in range(len(self.linears)):
            x = self.layer(i, x)
        if self.output is not None:
            x = self.output_activation(self.output(x))
        return x

    def names(self, prefix, tower=False):
        """FsdNet's names: MlpBlock "<prefix>hidden.<i>.linear.weight" ... "<prefix>output.weight"; MlpTower
        (no output layer) "<prefix><i>.linear.weight"."""
        out = {}
        hidden = "" if tower else "hidden."
        for i, lin in enumerate(self.linears):
            out["%s%s%d.linear.weight" % (prefix, hidden, i)] = lin.weight
            out["%s%s%d.linear.bias" % (prefix, hidden, i)] = lin.bias
            if isinstance(self.norms[i], nn.BatchNorm1d):
                out["%s%s%d.batch_norm.weight" % (prefix, hidden, i)] = self.norms[i].weight
                out["%s%s%d.batch_norm.bias" % (prefix, hidden, i)] = self.norms[i].bias
        if self.output is not None:
            out[prefix + "output.weight"] = self.output.weight
            out[prefix + "output.bias"] = self.output.bias
        return out


class LogisticRegression(nn.Module):
    """FuxiCTR's LogisticRegression block: a weight per value (embedding of dim 1) summed over fields, + bias."""

    def __init__(self, vocab_sizes, use_bias=True):
        super().__init__()
        self.weights = FieldEmbedding(vocab_sizes, 1)
        self.bias = nn.Parameter(torch.zeros(1)) if use_bias else None

    def forward(self, codes):
        out = self.weights(codes).sum(dim=1)
        return out + self.bias if self.bias is not None else out

    def names(self, fields, prefix):
        out = self.weights.names(fields, prefix + "embedding_layer.")
        if self.bias is not None:
            out[prefix + "bias"] = self.bias
        return out


def fuxictr_reset(module):
    """FuxiCTR's BaseModel.reset_parameters: xavier_normal_ Linear weights, zero biases."""
    for m in module.modules():
        if type(m) is nn.Linear:
            nn.init.xavier_normal_(m.weight)
            if m.bias is not None:
                m.bias.data.fill_(0)


def bce(p, labels):
    return F.binary_cross_entropy(p.squeeze(1), labels)


def perturb_all(model, fields, seed):
    """Non-trivial values for every parameter FsdNet names: embeddings normal(0, 0.5) (padding row 0 kept zero),
    Linear weights xavier and biases normal(0, 0.2), BatchNorm affine, any other parameter normal(0, 0.4)."""
    torch.manual_seed(seed)
    names = model.fsdnet_names(fields)
    with torch.no_grad():
        for n, p in names.items():
            if ".embedding_layer." in n:
                p.normal_(0, 0.5)
                p[0].zero_()
            elif n.endswith("batch_norm.weight") or n.endswith("norm.weight"):
                p.uniform_(0.5, 1.5)
            elif p.dim() == 2 and n.endswith(".weight"):
                nn.init.xavier_normal_(p)
            else:
                p.normal_(0, 0.4)
    return names


def golden_case(case, model, fields, codes, labels, tensors, seed):
    """Perturbs the model, then records its parameters, y_pred, loss and every gradient under "<case>:"."""
    names = perturb_all(model, fields, seed)
    model.train()
    for n, p in names.items():
        tensors[case + ":" + n] = p.detach().clone()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    tensors[case + ":y_pred"] = model.predict(codes).detach()
    model.load_state_dict(state)  # the loss pass starts from the same BatchNorm running statistics
    loss = model.loss(codes, labels)
    grads = torch.autograd.grad(loss, list(names.values()), allow_unused=True)
    tensors[case + ":loss"] = loss.detach()
    for n, p, g in zip(names, names.values(), grads):
        tensors[case + ":d" + n] = g if g is not None else torch.zeros_like(p)
