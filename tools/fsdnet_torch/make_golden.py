#!/usr/bin/python3
"""Golden data for the whole FSDNet model: tests/FsdNet.Tests/Golden/fsdnet/tiny.json.

Run with the Debian python (torch 1.13):  /usr/bin/python3 tools/fsdnet_torch/make_golden.py
Deterministic: fixed seed, single thread, one train-mode forward; re-running gives a
byte-identical file. JSON layout as in Golden/engine/*.json (float32 values written as
float(v) of the float32, ints as ints, scalars with shape []).
"""

import json
import math
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fsdnet as M  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "tests", "FsdNet.Tests", "Golden", "fsdnet", "tiny.json")

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

VOCAB = [6, 5, 4]
D = 4
L = 2
H = 8
MU, TAU, BETA = 0.7, 1.5, 0.1
SEED = 20241112


def entry(t):
    t = t.detach().cpu()
    if t.is_floating_point():
        vals = [float(v) for v in t.to(torch.float32).reshape(-1).tolist()]
        for v in vals:
            if not math.isfinite(v):
                raise ValueError("non-finite")
    else:
        vals = [int(v) for v in t.reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": vals}


def build():
    torch.manual_seed(SEED)
    model = M.FSDNetMirror(VOCAB, embedding_dim=D, num_layers=L, hidden_units=H,
                           dropout=0.0, batch_norm=True)
    # perturb so nothing is trivially tiny
    with torch.no_grad():
        for emb in model.embeddings:
            emb.weight.normal_(0.0, 0.5)
            emb.weight[0].zero_()          # padding row stays zero
        for lin in list(model.cross_layers) + list(model.dnn_linears) + list(model.heads):
            nn.init.xavier_normal_(lin.weight)
            lin.bias.normal_(0.0, 0.2)
        for bn in model.dnn_bns:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_(0.0, 0.3)
    model.train()
    return model


def named_params(model):
    p = {}
    for i, e in enumerate(model.embeddings):
        p["emb%d" % i] = e.weight
    for i, c in enumerate(model.cross_layers):
        p["cross_W%d" % i] = c.weight
        p["cross_b%d" % i] = c.bias
    for i, lin in enumerate(model.dnn_linears):
        p["dnn_W%d" % i] = lin.weight
        p["dnn_b%d" % i] = lin.bias
        p["bn_gamma%d" % i] = model.dnn_bns[i].weight
        p["bn_beta%d" % i] = model.dnn_bns[i].bias
    for i, h in enumerate(model.heads):
        p["head_W%d" % i] = h.weight
        p["head_b%d" % i] = h.bias
    return p


def main():
    model = build()
    params = named_params(model)
    assert len(params) == len(list(model.parameters()))
    codes = torch.tensor([[1, 2, 3],
                          [5, 0, 1],
                          [0, 4, 2],
                          [3, 1, 0],
                          [2, 3, 3],
                          [4, 4, 1],
                          [1, 0, 2],
                          [5, 2, 0]], dtype=torch.long)
    labels = torch.tensor([1, 0, 0, 1, 1, 0, 1, 0], dtype=torch.float32)

    tensors = {"codes": codes, "labels": labels}
    for k, v in params.items():
        tensors[k] = v.detach().clone()

    out = model(codes)  # the one train-mode forward (BN running stats updated once)
    for i in range(L):
        tensors["logits%d" % i] = out["logits"][i]
    tensors["y_pred"] = out["y_pred"]
    for i in range(L):
        tensors["f%d" % i] = out["features"][i]

    terms = {
        "bce_sum": M.bce_sum(out["probs"], labels),
        "soft_paper": M.soft_paper(out["logits"], TAU),
        "soft_official": M.soft_official(out["logits"], TAU),
        "hint": M.hint_loss(out["features"]),
    }
    tensors.update(terms)

    names = list(params.keys())
    plist = [params[n] for n in names]
    configs = [("c0_paper", 0, "paper"), ("c0_official", 0, "official"), ("c1", 1, None),
               ("c2_paper", 2, "paper"), ("c2_official", 2, "official")]
    for prefix, choice, soft in configs:
        loss = M.total_loss(out, labels, choice, MU, TAU, BETA, soft=soft or "official")
        grads = torch.autograd.grad(loss, plist, retain_graph=True)
        tensors[prefix + "_loss"] = loss
        for n, g in zip(names, grads):
            tensors[prefix + "_d" + n] = g

    for i, bn in enumerate(model.dnn_bns):
        tensors["running_mean%d" % i] = bn.running_mean
        tensors["running_var%d" % i] = bn.running_var

    desc = (
        "Tiny FSDNet, one train-mode forward (BatchNorm uses batch stats, biased var for "
        "normalisation, eps 1e-5; running stats updated once with momentum 0.1 and the UNBIASED "
        "batch var; initial running mean 0 / var 1). Fields F=3 with vocab sizes [6,5,4], "
        "embedding d=4 (nn.Embedding padding_idx=0, row 0 zero, code 0 = padding -> zero vector); "
        "x0 = concat of the 3 field embeddings in field order [B,12]. L=2 layers. "
        "Cross: x_{l+1} = x_l + x0 * (W_l x_l + b_l) (W_l [12,12] torch Linear layout out x in), "
        "c_l = x_l after layer l. Deep: d_l = ReLU(BN_l(dnn_W_l d_{l-1} + dnn_b_l)), dropout 0, "
        "width 8. f_l = concat(c_l, d_l) [B,20]; logits_l = head_W_l f_l + head_b_l; "
        "p_l = sigmoid(logits_l); y_pred = mean(p_0, p_1). Teacher = last head (index 1), "
        "student = head 0. Nothing detached. "
        "bce_sum = sum_l F.binary_cross_entropy(p_l, labels, mean) (both heads). "
        "soft_official = KLDivLoss(batchmean)(log(sigmoid(z_s/T)), sigmoid(z_t/T)) + "
        "KLDivLoss(batchmean)(log(sigmoid(1 - z_s/T)), sigmoid((1 - z_t)/T)), with "
        "KLDivLoss(inp,tgt) = sum(tgt*(log tgt - inp))/B and gradient flowing into the target too. "
        "soft_paper = mean_b[pT*(log pT - log pS) + (1-pT)*(log(1-pT) - log(1-pS))], p = sigmoid(z/T). "
        "hint = mean over B*20 of (f_1 - f_0)^2. "
        "Totals: c0_* = mu*bce_sum + (1-mu)*soft_*; c1 = bce_sum + beta*hint; "
        "c2_* = mu*bce_sum + (1-mu)*soft_* + beta*hint (no regularisation). "
        "<prefix>_d<param> is the gradient of <prefix>_loss w.r.t. the param, all from the same "
        "single forward. Param tensors are the values BEFORE the forward (nothing is updated). "
        "Note: *_ddnn_b0/_ddnn_b1 are mathematically zero (a bias right before train-mode BatchNorm "
        "cancels); the stored values are float32 round-off (|g| < 1e-7), compare them with an "
        "absolute tolerance."
    )
    doc = {
        "case": "fsdnet_tiny",
        "torch": torch.__version__,
        "description": desc,
        "params": {
            "vocab_sizes": VOCAB, "embedding_dim": D, "num_layers": L, "hidden_units": H,
            "batch_norm": True, "dropout": 0.0, "bn_eps": 1e-5, "bn_momentum": 0.1,
            "mu": MU, "tau": TAU, "beta": BETA, "batch_size": int(codes.shape[0]),
            "teacher_index": L - 1, "seed": SEED,
        },
        "tensors": {k: entry(v) for k, v in tensors.items()},
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    text = json.dumps(doc, indent=None, separators=(",", ":"), ensure_ascii=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.write("\n")
    print("wrote %s (%d bytes, %d tensors)" % (OUT, len(text) + 1, len(tensors)))
    for k in ["bce_sum", "soft_paper", "soft_official", "hint", "c0_paper_loss",
              "c0_official_loss", "c1_loss", "c2_paper_loss", "c2_official_loss"]:
        print("%-18s %r" % (k, float(tensors[k])))


if __name__ == "__main__":
    main()
