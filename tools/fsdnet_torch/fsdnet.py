#!/usr/bin/python3
"""PyTorch mirror of FSDNet (arXiv 2411.07508) as specified for the C# port.

This is an independent re-implementation written from docs/REFERENCE_SEMANTICS.md
(which describes the official coder-qiu/FSDNet code on FuxiCTR 2.0.x). It is the
reference side for the golden tests (make_golden.py) and for the Frappe
speed/quality benchmark (train_frappe.py).

Model (L = number of heads = num_layers):
    x0      = concat_f Embedding_f(codes[:, f])                  [B, F*d]
    cross:  x_{l+1} = x_l + x0 * (W_l x_l + b_l),  c_l = x_l  (l = 1..L)
    deep:   d_l = Dropout(ReLU(BN(Linear(d_{l-1}))))  (d_0 = x0, BN optional)
    f_l     = concat(c_l, d_l)                                    [B, F*d + h]
    z_l     = head_l(f_l)  (Linear(F*d + h, 1)),  p_l = sigmoid(z_l)
    y_pred  = mean_l p_l    (mean of the PROBABILITIES)
The deepest pair (l = L) is the teacher; l < L are students. There is no unused
`fc` layer (the official code has one that never takes part in forward).

Loss terms (no detach anywhere, as in the official code):
    bce_sum       = sum_{l=1..L} F.binary_cross_entropy(p_l, y)  (mean over batch)
    soft_official = sum_{s<L} [ KLDiv_bm(log sigmoid(z_s/T),     sigmoid(z_L/T))
                              + KLDiv_bm(log sigmoid(1 - z_s/T), sigmoid((1 - z_L)/T)) ]
                    KLDiv_bm(inp, tgt) = sum(tgt * (log(tgt) - inp)) / B  (torch KLDivLoss
                    'batchmean'); `log` is applied to the sigmoid output (not logsigmoid),
                    exactly like the official code. Note the asymmetric parentheses.
    soft_paper    = sum_{s<L} mean_b [ pT log(pT/pS) + (1-pT) log((1-pT)/(1-pS)) ],
                    pX = sigmoid(z_X / T); computed with logsigmoid:
                    log p = logsigmoid(z/T), log(1-p) = logsigmoid(-z/T).
    hint          = sum_{s<L} MSE_mean(f_L, f_s)
    choice 0: mu*bce_sum + (1-mu)*soft
    choice 1: bce_sum + beta*hint               (official: CE is NOT weighted by mu)
    choice 2: mu*bce_sum + (1-mu)*soft + beta*hint
    + embedding regularisation (lam/2)*||E||_F^2 over every embedding table
      (added by the FuxiCTR base class; not part of the model loss here).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F


class FSDNetMirror(nn.Module):
    def __init__(self, vocab_sizes, embedding_dim=16, num_layers=3, hidden_units=400,
                 dropout=0.0, batch_norm=True):
        super().__init__()
        self.vocab_sizes = list(vocab_sizes)
        self.embedding_dim = embedding_dim
        self.num_layers = num_layers
        self.hidden_units = hidden_units
        self.embeddings = nn.ModuleList(
            nn.Embedding(v, embedding_dim, padding_idx=0) for v in self.vocab_sizes)
        d0 = len(self.vocab_sizes) * embedding_dim
        self.input_dim = d0
        self.cross_layers = nn.ModuleList(nn.Linear(d0, d0) for _ in range(num_layers))
        self.dnn_linears = nn.ModuleList()
        self.dnn_bns = nn.ModuleList() if batch_norm else None
        in_dim = d0
        for _ in range(num_layers):
            self.dnn_linears.append(nn.Linear(in_dim, hidden_units))
            if batch_norm:
                self.dnn_bns.append(nn.BatchNorm1d(hidden_units))
            in_dim = hidden_units
        self.dropout = nn.Dropout(dropout) if dropout > 0 else None
        self.heads = nn.ModuleList(nn.Linear(d0 + hidden_units, 1) for _ in range(num_layers))
        self.reset_parameters()

    def reset_parameters(self):
        """FuxiCTR 2.0.x init: embeddings N(0, 1e-4^2) with padding row 0 zero;
        every Linear xavier_normal_ weight, zero bias; BatchNorm torch defaults."""
        with torch.no_grad():
            for emb in self.embeddings:
                nn.init.normal_(emb.weight[1:, :], std=1e-4)
                emb.weight[0, :].zero_()
            for lin in list(self.cross_layers) + list(self.dnn_linears) + list(self.heads):
                nn.init.xavier_normal_(lin.weight)
                nn.init.zeros_(lin.bias)

    def embedding_parameters(self):
        return [e.weight for e in self.embeddings]

    def forward(self, codes):
        """codes: LongTensor [B, F]. Returns dict with y_pred [B], logits (list of [B]),
        probs (list of [B]) and features (list of [B, F*d + h])."""
        x0 = torch.cat([emb(codes[:, i]) for i, emb in enumerate(self.embeddings)], dim=1)
        xc = x0
        xd = x0
        feats, logits, probs = [], [], []
        for l in range(self.num_layers):
            xc = xc + x0 * self.cross_layers[l](xc)
            xd = self.dnn_linears[l](xd)
            if self.dnn_bns is not None:
                xd = self.dnn_bns[l](xd)
            xd = F.relu(xd)
            if self.dropout is not None:
                xd = self.dropout(xd)
            f = torch.cat([xc, xd], dim=1)
            z = self.heads[l](f).squeeze(1)
            feats.append(f)
            logits.append(z)
            probs.append(torch.sigmoid(z))
        y_pred = sum(probs) / len(probs)
        return {"y_pred": y_pred, "logits": logits, "probs": probs, "features": feats}


def bce_sum(probs, y):
    return sum(F.binary_cross_entropy(p, y, reduction="mean") for p in probs)


def _kl_batchmean(inp, tgt):
    # identical to nn.KLDivLoss(reduction='batchmean')(inp, tgt) (targets are > 0 here)
    return F.kl_div(inp, tgt, reduction="batchmean")


def soft_official(logits, tau):
    zt = logits[-1]
    terms1 = [_kl_batchmean(torch.sigmoid(zs / tau).log(), torch.sigmoid(zt / tau))
              for zs in logits[:-1]]
    terms2 = [_kl_batchmean(torch.sigmoid(1.0 - zs / tau).log(), torch.sigmoid((1.0 - zt) / tau))
              for zs in logits[:-1]]
    return sum(terms1 + terms2)


def soft_paper(logits, tau):
    zt = logits[-1] / tau
    pt = torch.sigmoid(zt)
    lpt, lqt = F.logsigmoid(zt), F.logsigmoid(-zt)
    total = 0.0
    for zs in logits[:-1]:
        zs = zs / tau
        kl = pt * (lpt - F.logsigmoid(zs)) + (1.0 - pt) * (lqt - F.logsigmoid(-zs))
        total = total + kl.mean()
    return total


def hint_loss(features):
    ft = features[-1]
    return sum(F.mse_loss(ft, fs, reduction="mean") for fs in features[:-1])


def total_loss(out, y, choice, mu, tau, beta, soft="official"):
    ce = bce_sum(out["probs"], y)
    if choice == 1:
        return ce + beta * hint_loss(out["features"])
    if soft == "official":
        s = soft_official(out["logits"], tau)
    elif soft == "paper":
        s = soft_paper(out["logits"], tau)
    else:
        raise ValueError(soft)
    if choice == 0:
        return mu * ce + (1.0 - mu) * s
    if choice == 2:
        return mu * ce + (1.0 - mu) * s + beta * hint_loss(out["features"])
    raise ValueError("choice must be 0, 1 or 2")


def embedding_regularization(model, lam):
    """FuxiCTR 2.0.x add_regularization for a float embedding_regularizer:
    sum over embedding tables of (lam/2) * torch.norm(W, 2)**2 (whole table)."""
    if not lam:
        return 0.0
    return sum((lam / 2.0) * torch.norm(w, 2) ** 2 for w in model.embedding_parameters())
