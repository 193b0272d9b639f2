#!/usr/bin/python3
"""Generate PyTorch reference ("golden") data for the FsdNet autodiff engine.

Run from the repository root with the Debian python (it has torch 1.13):

    /usr/bin/python3 tools/golden/engine_golden.py

Writes tests/FsdNet.Tests/Golden/engine/<case>.json. Everything is float32 on
CPU, single-threaded, with a fixed seed per case, so re-running produces
byte-identical files.

JSON layout of each file:
    {"case": ..., "torch": ..., "description": ..., "params": {...},
     "tensors": {name: {"shape": [...], "data": [row-major values]}}}

Float values are written as the decimal repr of the float32 value widened to
float64, so parsing them as either float or double yields the exact float32.
Gradients: for an output y a random upstream tensor "dy" (same shape) is
drawn and (y * dy).sum() is back-propagated; gradient of input <name> is
stored as "d<name>".
"""

import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO, "tests", "FsdNet.Tests", "Golden", "engine")

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)


def _num(v, is_int):
    if is_int:
        return int(v)
    f = float(v)
    if not math.isfinite(f):
        raise ValueError("non-finite value in golden tensor")
    return f


def tensor_entry(t):
    t = t.detach().cpu()
    is_int = not t.is_floating_point()
    if not is_int:
        t = t.to(torch.float32)
    shape = list(t.shape)
    data = [_num(v, is_int) for v in t.reshape(-1).tolist()]
    return {"shape": shape, "data": data}


def write_case(name, description, params, tensors):
    doc = {
        "case": name,
        "torch": torch.__version__,
        "description": description,
        "params": params,
        "tensors": {k: tensor_entry(v) for k, v in tensors.items()},
    }
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, name + ".json")
    text = json.dumps(doc, indent=None, separators=(",", ":"), ensure_ascii=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.write("\n")
    return path


def seed(n):
    torch.manual_seed(n)


def leaf(t):
    return t.detach().clone().requires_grad_(True)


# ---------------------------------------------------------------------------
# 1. linear
# ---------------------------------------------------------------------------
def case_linear():
    seed(101)
    lin = nn.Linear(5, 3)
    x = torch.randn(4, 5, requires_grad=True)
    y = lin(x)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    write_case(
        "linear",
        "y = x @ W.T + b (nn.Linear(5,3) default init). Upstream dy; loss=(y*dy).sum().",
        {"in_features": 5, "out_features": 3},
        {"x": x, "W": lin.weight, "b": lin.bias, "y": y, "dy": dy,
         "dx": x.grad, "dW": lin.weight.grad, "db": lin.bias.grad},
    )


# ---------------------------------------------------------------------------
# 2. batchnorm_train_eval
# ---------------------------------------------------------------------------
def case_batchnorm():
    seed(102)
    bn = nn.BatchNorm1d(6, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        bn.weight.copy_(torch.randn(6) * 0.5 + 1.0)
        bn.bias.copy_(torch.randn(6) * 0.5)
        bn.running_mean.copy_(torch.randn(6) * 0.3)
        bn.running_var.copy_(torch.rand(6) * 1.5 + 0.25)
    gamma0 = bn.weight.detach().clone()
    beta0 = bn.bias.detach().clone()
    rm0 = bn.running_mean.clone()
    rv0 = bn.running_var.clone()

    bn.train()
    x = (torch.randn(8, 6) * 2.0 + 0.5).requires_grad_(True)
    y = bn(x)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    dgamma = bn.weight.grad.clone()
    dbeta = bn.bias.grad.clone()
    rm1 = bn.running_mean.clone()
    rv1 = bn.running_var.clone()

    bn.eval()
    bn.zero_grad()
    x_eval = torch.randn(5, 6, requires_grad=True)
    y_eval = bn(x_eval)
    dy_eval = torch.randn_like(y_eval)
    (y_eval * dy_eval).sum().backward()
    dgamma_eval = bn.weight.grad.clone()
    dbeta_eval = bn.bias.grad.clone()

    write_case(
        "batchnorm_train_eval",
        "nn.BatchNorm1d(6, eps=1e-5, momentum=0.1). Train mode on x[8,6]: normalise with batch mean "
        "and biased batch variance; running_mean = 0.9*rm + 0.1*mean, running_var = 0.9*rv + "
        "0.1*unbiased_var (divide by N-1). dgamma/dbeta are from the train pass. Then eval mode on "
        "x_eval[5,6] using the updated running stats; dgamma_eval/dbeta_eval are the gradients from "
        "the eval pass alone (grads zeroed in between).",
        {"eps": 1e-5, "momentum": 0.1, "num_features": 6},
        {"gamma": gamma0, "beta": beta0,
         "running_mean_before": rm0, "running_var_before": rv0,
         "x": x, "y": y, "dy": dy, "dx": x.grad, "dgamma": dgamma, "dbeta": dbeta,
         "running_mean_after": rm1, "running_var_after": rv1,
         "x_eval": x_eval, "y_eval": y_eval, "dy_eval": dy_eval, "dx_eval": x_eval.grad,
         "dgamma_eval": dgamma_eval, "dbeta_eval": dbeta_eval},
    )


# ---------------------------------------------------------------------------
# 3. mlp_block
# ---------------------------------------------------------------------------
def case_mlp_block():
    seed(103)
    lin = nn.Linear(5, 7)
    bn = nn.BatchNorm1d(7, eps=1e-5, momentum=0.1)
    with torch.no_grad():
        bn.weight.copy_(torch.randn(7) * 0.5 + 1.0)
        bn.bias.copy_(torch.randn(7) * 0.5)
    block = nn.Sequential(lin, bn, nn.ReLU(), nn.Dropout(p=0.0))
    block.train()
    x = torch.randn(8, 5, requires_grad=True)
    y = block(x)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    write_case(
        "mlp_block",
        "Linear(5,7) -> BatchNorm1d(7) -> ReLU -> Dropout(p=0), train mode, x[8,5]. Running stats "
        "start at mean 0 / var 1 (momentum 0.1, unbiased var for running_var). gamma/beta random.",
        {"eps": 1e-5, "momentum": 0.1, "dropout_p": 0.0},
        {"x": x, "W": lin.weight, "b": lin.bias, "gamma": bn.weight, "beta": bn.bias,
         "y": y, "dy": dy, "dx": x.grad, "dW": lin.weight.grad, "db": lin.bias.grad,
         "dgamma": bn.weight.grad, "dbeta": bn.bias.grad,
         "running_mean_after": bn.running_mean, "running_var_after": bn.running_var},
    )


# ---------------------------------------------------------------------------
# 4. crossnet_v2
# ---------------------------------------------------------------------------
def case_crossnet_v2():
    seed(104)
    layers = [nn.Linear(5, 5) for _ in range(3)]
    x0 = torch.randn(6, 5, requires_grad=True)
    xl = x0
    for lin in layers:
        xl = xl + x0 * lin(xl)
    y = xl
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    tensors = {"x0": x0}
    for i, lin in enumerate(layers):
        tensors["W%d" % i] = lin.weight
        tensors["b%d" % i] = lin.bias
    tensors.update({"y": y, "dy": dy, "dx0": x0.grad})
    for i, lin in enumerate(layers):
        tensors["dW%d" % i] = lin.weight.grad
        tensors["db%d" % i] = lin.bias.grad
    write_case(
        "crossnet_v2",
        "DCN-v2 cross network, 3 layers: x_1 = x0; x_{l+1} = x_l + x0 * (x_l @ W_l.T + b_l) "
        "(elementwise *). y = x after the 3rd layer. W_l,b_l: nn.Linear(5,5) default init.",
        {"layers": 3, "dim": 5},
        tensors,
    )


# ---------------------------------------------------------------------------
# 5. embedding_l2 (+ nonzero padding-row variant)
# ---------------------------------------------------------------------------
def _embedding_case(name, seed_no, nonzero_pad):
    seed(seed_no)
    lam = 0.1
    emb = nn.Embedding(10, 4, padding_idx=0)
    if nonzero_pad:
        with torch.no_grad():
            emb.weight[0].copy_(torch.randn(4))
    idx = torch.tensor([[0, 3, 3],
                        [7, 0, 1],
                        [3, 9, 9],
                        [2, 0, 0],
                        [5, 3, 7],
                        [9, 1, 4]], dtype=torch.int64)
    table = emb.weight.detach().clone()
    out = emb(idx).reshape(6, 12)
    dy = torch.randn_like(out)
    penalty = (lam / 2.0) * (emb.weight ** 2).sum()
    loss = (out * dy).sum() + penalty
    loss.backward()
    dtable = emb.weight.grad.clone()

    # gradient from the lookup alone (no penalty), for clarity
    emb.zero_grad()
    out2 = emb(idx).reshape(6, 12)
    (out2 * dy).sum().backward()
    dtable_lookup = emb.weight.grad.clone()

    desc = ("nn.Embedding(10, 4, padding_idx=0); out = emb(idx).reshape(6, 12); "
            "loss = (out*dy).sum() + (lambda/2) * (table**2).sum(), lambda = 0.1. "
            "dtable = d loss / d table (dense). The lookup gives the padding row 0 no gradient; "
            "the penalty gives every row lambda*table. dtable_lookup = gradient of (out*dy).sum() only "
            "(row 0 is zero there even though idx contains 0).")
    if nonzero_pad:
        desc += " Variant: row 0 set to non-zero random values AFTER construction, so dtable[0] = lambda*table[0]."
    else:
        desc += " Row 0 is zero (nn.Embedding init with padding_idx), so dtable[0] = 0."
    write_case(
        name, desc,
        {"lambda": lam, "num_embeddings": 10, "dim": 4, "padding_idx": 0},
        {"table": table, "idx": idx, "out": out, "dy": dy, "loss": loss,
         "dtable": dtable, "dtable_lookup": dtable_lookup},
    )


def case_embedding():
    _embedding_case("embedding_l2", 105, False)
    _embedding_case("embedding_l2_nonzero_pad", 205, True)


# ---------------------------------------------------------------------------
# 6. bce_with_logits, logsigmoid
# ---------------------------------------------------------------------------
def case_bce():
    seed(106)
    extremes = torch.tensor([30.0, -30.0, 100.0, -100.0, 0.0, 30.0, -30.0, 100.0, -100.0])
    labels_ext = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    rnd = torch.randn(7) * 3.0
    logits = torch.cat([extremes, rnd]).requires_grad_(True)
    labels = torch.cat([labels_ext, (torch.rand(7) < 0.5).to(torch.float32)])
    loss = F.binary_cross_entropy_with_logits(logits, labels)  # mean
    loss.backward()
    write_case(
        "bce_with_logits",
        "loss = F.binary_cross_entropy_with_logits(logits, labels), reduction mean over 16. "
        "Per element: max(z,0) - z*y + log(1+exp(-|z|)). Includes +-30, +-100, 0 with both labels "
        "(confident-right and confident-wrong). dlogits = (sigmoid(z) - y)/16.",
        {"reduction": "mean", "n": 16},
        {"logits": logits, "labels": labels, "loss": loss, "dlogits": logits.grad},
    )

    seed(116)
    x = torch.cat([torch.tensor([-100.0, -30.0, 0.0, 30.0, 100.0]), torch.randn(5) * 4.0])
    x.requires_grad_(True)
    y = F.logsigmoid(x)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    write_case(
        "logsigmoid",
        "y = F.logsigmoid(x) = -softplus(-x) = min(x,0) - log(1+exp(-|x|)); dx = dy * sigmoid(-x). "
        "x includes -100, -30, 0, 30, 100.",
        {},
        {"x": x, "y": y, "dy": dy, "dx": x.grad},
    )


# ---------------------------------------------------------------------------
# 7. softmax_layernorm
# ---------------------------------------------------------------------------
def case_softmax_layernorm():
    seed(107)
    x = (torch.randn(4, 6) * 2.0).requires_grad_(True)
    y = torch.softmax(x, dim=1)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()

    ln = nn.LayerNorm(6, eps=1e-5)
    with torch.no_grad():
        ln.weight.copy_(torch.randn(6) * 0.5 + 1.0)
        ln.bias.copy_(torch.randn(6) * 0.5)
    x2 = (torch.randn(4, 6) * 1.5 + 0.3).requires_grad_(True)
    y2 = ln(x2)
    dy2 = torch.randn_like(y2)
    (y2 * dy2).sum().backward()
    write_case(
        "softmax_layernorm",
        "y = softmax(x, dim=1) over rows of x[4,6], dy -> dx. LayerNorm(6, eps=1e-5) (biased variance "
        "per row) with random gamma/beta on x2[4,6] -> y2, dy2 -> dx2, dgamma, dbeta.",
        {"eps": 1e-5},
        {"x": x, "y": y, "dy": dy, "dx": x.grad,
         "x2": x2, "gamma": ln.weight, "beta": ln.bias, "y2": y2, "dy2": dy2,
         "dx2": x2.grad, "dgamma": ln.weight.grad, "dbeta": ln.bias.grad},
    )


# ---------------------------------------------------------------------------
# 8. adam_clip
# ---------------------------------------------------------------------------
def case_adam_clip():
    seed(108)
    # 50 (the first choice) gave pre-clip norms 3.8..5.7, never clipped; 100 gives
    # norms > 10 at steps 1-3 and < 10 at steps 4-10, so both regimes are covered.
    scale = 100.0
    max_norm = 10.0
    l0 = nn.Linear(5, 4)
    l1 = nn.Linear(4, 1)
    model = nn.Sequential(l0, nn.ReLU(), l1)
    X = torch.randn(16, 5)
    y = (torch.rand(16) < 0.5).to(torch.float32)
    params = [l0.weight, l0.bias, l1.weight, l1.bias]
    names = ["W0", "b0", "W1", "b1"]
    init = {n: p.detach().clone() for n, p in zip(names, params)}
    opt = torch.optim.Adam(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8)

    norms, losses, step1 = [], [], {}
    for step in range(1, 11):
        opt.zero_grad()
        logits = model(X).reshape(-1)
        loss = scale * F.binary_cross_entropy_with_logits(logits, y)
        loss.backward()
        total = nn.utils.clip_grad_norm_(params, max_norm)
        norms.append(float(total))
        losses.append(float(loss.detach()))
        opt.step()
        if step == 1:
            step1 = {n + "_step1": p.detach().clone() for n, p in zip(names, params)}
    step10 = {n + "_step10": p.detach().clone() for n, p in zip(names, params)}

    clipped = [i + 1 for i, n in enumerate(norms) if n > max_norm]
    print("adam_clip: grad norms", ["%.4f" % n for n in norms])
    print("adam_clip: clipped steps", clipped)
    if not clipped or len(clipped) == len(norms):
        raise SystemExit("adam_clip: want clipping active at some but not all steps; adjust scale")
    if min(abs(n - max_norm) for n in norms) < 0.05:
        raise SystemExit("adam_clip: a grad norm is too close to max_norm; adjust scale")

    tensors = dict(init)
    tensors.update({"X": X, "y": y,
                    "grad_norm": torch.tensor(norms, dtype=torch.float32),
                    "loss": torch.tensor(losses, dtype=torch.float32)})
    tensors.update(step1)
    tensors.update(step10)
    write_case(
        "adam_clip",
        "Model Linear(5,4) -> ReLU -> Linear(4,1) -> logits[16]. loss = %g * BCEWithLogits(mean). " % scale +
        "Scale chosen so clipping is active at some steps and inactive at others. "
        "Each of 10 steps: zero_grad; loss.backward(); total_norm = clip_grad_norm_(params, 10.0) "
        "(global L2 norm over W0,b0,W1,b1 before clipping; torch 1.13 multiplies all grads by "
        "min(1, 10/(total_norm+1e-6))); Adam.step(). Adam (torch 1.13, no weight decay, no amsgrad): "
        "m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps). "
        "grad_norm[t-1], loss[t-1] are recorded at step t before the update. W*_step1 / W*_step10 are "
        "params after steps 1 and 10. params.clipped_steps lists 1-based steps with grad_norm > 10.",
        {"lr": 1e-2, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "max_norm": max_norm,
         "loss_scale": scale, "steps": 10, "clip_eps": 1e-6, "clipped_steps": clipped},
        tensors,
    )


# ---------------------------------------------------------------------------
# 9. attention_bmm
# ---------------------------------------------------------------------------
def case_attention_bmm():
    seed(109)
    Q = torch.randn(2, 3, 4, requires_grad=True)
    K = torch.randn(2, 3, 4, requires_grad=True)
    V = torch.randn(2, 3, 4, requires_grad=True)
    S = torch.bmm(Q, K.transpose(1, 2))
    A = torch.softmax(S, dim=-1)
    O = torch.bmm(A, V)
    dy = torch.randn_like(O)
    (O * dy).sum().backward()
    write_case(
        "attention_bmm",
        "S = bmm(Q, K^T) [2,3,3] (no 1/sqrt(d) scaling); A = softmax(S, dim=-1); O = bmm(A, V) [2,3,4]. "
        "dy is the upstream gradient of O.",
        {},
        {"Q": Q, "K": K, "V": V, "S": S, "A": A, "O": O, "dy": dy,
         "dQ": Q.grad, "dK": K.grad, "dV": V.grad},
    )


def main():
    case_linear()
    case_batchnorm()
    case_mlp_block()
    case_crossnet_v2()
    case_embedding()
    case_bce()
    case_softmax_layernorm()
    case_adam_clip()
    case_attention_bmm()
    total = 0
    for fn in sorted(os.listdir(OUT_DIR)):
        size = os.path.getsize(os.path.join(OUT_DIR, fn))
        total += size
        print("%-40s %7d bytes" % (fn, size))
    print("total %d bytes" % total)
    if total > 200 * 1024:
        raise SystemExit("golden engine data too large")


if __name__ == "__main__":
    sys.exit(main())
