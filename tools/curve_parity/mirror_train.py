#!/usr/bin/python3
"""Training-curve parity: the PyTorch side.

Reads a case exported by FsdNet (tests/FsdNet.Tests/Training/CurveParity/CurveRecorder.cs: case.json, the initial
state and every training batch in order, as raw little-endian arrays), trains the same model with FuxiCTR 2.0.x's
semantics from that state on those batches, and writes the curve as a golden file:

    {"case", "torch", "step_loss": [...], "epochs": [{"valid_auc", "valid_logloss", "lr",
                                                      "state": {name: {"norm", "max_abs", "index", "values"}}}]}

Semantics written here from FuxiCTR 2.0.1 (the version the official FSDNet code bundles), not from FsdNet:
  inputs    FeatureEmbeddingDict: categorical/sequence nn.Embedding(padding_idx=0); numeric nn.Linear(1, d, bias=False)
            on the value; sequence MaskedAveragePooling (sum / #rows whose embedding sums to non-zero, + 1e-12) or
            MaskedSumPooling; type embedding nn.Linear(pretrain_dim, d, bias=False); share_embedding reads the owner's
            table; x0 = concatenation in feature-map order.
  FSDNet    CrossNetV2 + parallel MLP (Linear, BatchNorm1d, ReLU) fused per layer, one head per layer, prediction the
            mean of the heads' probabilities; loss tools/fsdnet_torch/fsdnet.py total_loss (the official one).
  training  BaseModel.train_step: zero_grad, loss + add_regularization ((lambda/2)||W||^2 for every parameter whose name
            holds "embedding_layer", net_regularizer for the rest), backward, clip_grad_norm_(10), Adam step.
            After every epoch: eval mode, AUC and logloss (sklearn, eps 1e-7) on the validation split, then
            checkpoint_and_earlystop: monitor AUC (max), min_delta 1e-6, lr x 0.1 (floor 1e-6) when not improved.
  one change  with "exact_pre_norm_bias" (the cases set it), the gradient of a Linear bias that feeds a training-mode
            BatchNorm is set to its exact value, zero, before clipping. The chain rule leaves float round-off there
            (about 1e-5 when the pre-norm activations are small), which Adam turns into learning-rate-sized steps in
            a direction each framework's round-off picks; FsdNet does the same under the same flag.

    /usr/bin/python3 tools/curve_parity/mirror_train.py CASE_DIR OUT.json
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import yaml
from sklearn.metrics import log_loss, roc_auc_score

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fsdnet_torch"))
import fsdnet as M  # noqa: E402

SAMPLES = 32


class Case:
    def __init__(self, path):
        self.dir = path
        with open(os.path.join(path, "case.json")) as f:
            self.meta = json.load(f)
        cfg = yaml.safe_load(self.meta["config_yaml"])
        self.cfg = cfg[self.meta["case"]]

    def array(self, name):
        spec = self.meta["arrays"][name]
        data = np.fromfile(os.path.join(self.dir, name + ".bin"), dtype="<" + ("f4" if spec["dtype"] == "float32" else "i4"))
        return torch.from_numpy(data.reshape(spec["shape"]).copy())

    def inputs(self, prefix):
        return {k: self.array(f"{prefix}.{k}") for k in ("categorical", "numeric", "sequence", "embedding", "labels")}


class Inputs(nn.Module):
    """FuxiCTR's FeatureEmbedding over the exported fields, parameters named as FsdNet's state."""

    def __init__(self, fields, dim):
        super().__init__()
        self.fields = fields
        self.tables = nn.ModuleDict()
        self.linears = nn.ModuleDict()
        self.names = {}
        for f in fields:
            d = f["embedding_dim"] or dim
            if f["pretrained"]:
                raise NotImplementedError("pretrained_emb in the curve mirror")
            if f["kind"] in ("Categorical", "Sequence"):
                if f["share_embedding"]:
                    continue
                self.tables[f["name"]] = nn.Embedding(f["vocab_size"], d, padding_idx=0)
                self.names[f"embedding.embedding_layer.{f['name']}.weight"] = (self.tables[f["name"]].weight, False)
            elif f["kind"] == "Numeric":
                self.linears[f["name"]] = nn.Linear(1, d, bias=False)
                # FsdNet keeps the vector as [1, d]; torch's Linear(1, d) weight is [d, 1].
                self.names[f"embedding.embedding_layer.{f['name']}.weight"] = (self.linears[f["name"]].weight, True)
            elif f["kind"] == "Embedding":
                self.linears[f["name"]] = nn.Linear(f["width"], d, bias=False)
                self.names[f"embedding.feature_encoders.{f['name']}.weight"] = (self.linears[f["name"]].weight, False)
            else:
                raise NotImplementedError(f["kind"])

    def table(self, f):
        owner = f["name"]
        by = {g["name"]: g for g in self.fields}
        while by[owner]["share_embedding"]:
            owner = by[owner]["share_embedding"]
        return self.tables[owner]

    def forward(self, x):
        parts = []
        emb_col = 0
        for f in self.fields:
            c = f["column"]
            if f["kind"] == "Categorical":
                parts.append(self.table(f)(x["categorical"][:, c].long()))
            elif f["kind"] == "Numeric":
                parts.append(self.linears[f["name"]](x["numeric"][:, c:c + 1]))
            elif f["kind"] == "Sequence":
                e = self.table(f)(x["sequence"][:, c:c + f["max_len"]].long())
                s = e.sum(dim=1)
                if f["pooling"] == "Mean":
                    mask = e.sum(dim=-1) != 0
                    s = s / (mask.float().sum(-1, keepdim=True) + 1e-12)
                parts.append(s)
            else:
                parts.append(self.linears[f["name"]](x["embedding"][:, c:c + f["width"]]))
                emb_col += f["width"]
        return torch.cat(parts, dim=1)


class FSDNet(nn.Module):
    def __init__(self, fields, cfg):
        super().__init__()
        dim = int(cfg.get("embedding_dim", 16))
        units = [int(u) for u in cfg["parallel_dnn_hidden_units"]]
        self.layers = int(cfg.get("num_cross_layers", 3))
        assert len(units) == self.layers and len(set(units)) == 1
        self.batch_norm = bool(cfg.get("batch_norm", False))
        self.inputs = Inputs(fields, dim)
        d0 = sum((f["embedding_dim"] or dim) for f in fields)
        self.cross = nn.ModuleList(nn.Linear(d0, d0) for _ in range(self.layers))
        self.dnn = nn.ModuleList()
        self.bns = nn.ModuleList()
        w = d0
        for u in units:
            self.dnn.append(nn.Linear(w, u))
            if self.batch_norm:
                self.bns.append(nn.BatchNorm1d(u))
            w = u
        self.heads = nn.ModuleList(nn.Linear(d0 + units[-1], 1) for _ in range(self.layers))
        self.choice = int(cfg.get("choice", 0))
        self.mu = float(cfg.get("loss_coefficient", 0.3))
        self.tau = float(cfg.get("Temp", 1))
        self.beta = float(cfg.get("fea_coefficient", 0.01))

    def named_state(self):
        """FsdNet's state names -> (tensor, transposed)."""
        out = dict(self.inputs.names)
        for i in range(self.layers):
            out[f"cross.cross_layers.{i}.weight"] = (self.cross[i].weight, False)
            out[f"cross.cross_layers.{i}.bias"] = (self.cross[i].bias, False)
            out[f"dnn.{i}.linear.weight"] = (self.dnn[i].weight, False)
            out[f"dnn.{i}.linear.bias"] = (self.dnn[i].bias, False)
            if self.batch_norm:
                bn = self.bns[i]
                for k in ("weight", "bias", "running_mean", "running_var"):
                    out[f"dnn.{i}.batch_norm.{k}"] = (getattr(bn, k), False)
            out[f"heads.{i}.weight"] = (self.heads[i].weight, False)
            out[f"heads.{i}.bias"] = (self.heads[i].bias, False)
        return out

    def forward(self, x):
        x0 = self.inputs(x)
        xc, xd = x0, x0
        feats, logits, probs = [], [], []
        for i in range(self.layers):
            xc = xc + x0 * self.cross[i](xc)
            xd = self.dnn[i](xd)
            if self.batch_norm:
                xd = self.bns[i](xd)
            xd = torch.relu(xd)
            f = torch.cat([xc, xd], dim=1)
            z = self.heads[i](f).squeeze(1)
            feats.append(f)
            logits.append(z)
            probs.append(torch.sigmoid(z))
        return {"y_pred": sum(probs) / len(probs), "logits": logits, "probs": probs, "features": feats}

    def exact_pre_norm_bias(self):
        """The bias of a Linear feeding a training-mode BatchNorm has gradient exactly zero; drop the round-off."""
        if self.batch_norm:
            for lin in self.dnn:
                lin.bias.grad.zero_()

    def loss(self, out, y):
        return M.total_loss(out, y, self.choice, self.mu, self.tau, self.beta, soft="official")


MODELS = {"FSDNet": FSDNet}


def load_state(case, named):
    want = set(case.meta["state"])
    have = set(named)
    if want != have:
        raise SystemExit(f"{case.meta['case']}: state names differ: only FsdNet {sorted(want - have)}, only mirror {sorted(have - want)}")
    with torch.no_grad():
        for name, (t, transposed) in named.items():
            v = case.array("state." + name)
            t.copy_(v.t() if transposed else v.reshape(t.shape))


def digest(named):
    out = {}
    for name, (t, transposed) in named.items():
        v = (t.t() if transposed else t).detach().reshape(-1).double().numpy()
        idx = sorted(set(int(round(i)) for i in np.linspace(0, len(v) - 1, min(len(v), SAMPLES))))
        out[name] = {"norm": float(np.sqrt((v * v).sum())), "max_abs": float(np.abs(v).max()),
                     "index": idx, "values": [float(v[i]) for i in idx]}
    return out


def regularizer(model, named, case):
    emb_lambda = float(case.cfg.get("embedding_regularizer") or 0)
    net_lambda = float(case.cfg.get("net_regularizer") or 0)
    emb = set(case.meta["embedding_params"])
    trainable = set(case.meta["trainable"])
    reg = 0.0
    for name, (t, _) in named.items():
        if name not in trainable:
            continue
        lam = emb_lambda if name in emb else net_lambda
        if lam:
            reg = reg + (lam / 2.0) * torch.norm(t, 2) ** 2
    return reg


def main():
    case_dir, out_path = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    torch.set_num_threads(1)
    case = Case(case_dir)
    model = MODELS[case.meta["model"]](case.meta["fields"], case.cfg)
    named = model.named_state()
    load_state(case, named)
    trainable = [named[n][0] for n in case.meta["trainable"]]
    lr = float(case.cfg.get("learning_rate", 1e-3))
    opt = torch.optim.Adam(trainable, lr=lr)
    valid = case.inputs("valid")
    best = -math.inf
    steps = case.meta["steps"]
    per_epoch = len(steps) // case.meta["epochs"]
    losses, epochs = [], []
    for epoch in range(case.meta["epochs"]):
        model.train()
        for s in range(epoch * per_epoch, (epoch + 1) * per_epoch):
            batch = case.inputs(f"train.{s}")
            opt.zero_grad()
            out = model(batch)
            loss = model.loss(out, batch["labels"]) + regularizer(model, named, case)
            loss.backward()
            if case.meta.get("exact_pre_norm_bias"):
                model.exact_pre_norm_bias()
            nn.utils.clip_grad_norm_(trainable, 10.0)
            opt.step()
            losses.append(float(loss))
        model.eval()
        with torch.no_grad():
            pred = model(valid)["y_pred"].double().numpy()
        y = valid["labels"].numpy()
        auc = float(roc_auc_score(y, pred))
        ll = float(log_loss(y, np.clip(pred, 1e-7, 1 - 1e-7)))
        if auc < best + 1e-6:
            for g in opt.param_groups:
                g["lr"] = max(g["lr"] * 0.1, 1e-6)
        else:
            best = auc
        epochs.append({"valid_auc": auc, "valid_logloss": ll, "lr": opt.param_groups[0]["lr"], "state": digest(named)})
    doc = {"case": case.meta["case"], "torch": torch.__version__, "step_loss": losses, "epochs": epochs}
    with open(out_path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"{case.meta['case']}: " + ", ".join(f"epoch {i + 1} AUC {e['valid_auc']:.6f} logloss {e['valid_logloss']:.6f}" for i, e in enumerate(epochs)))


if __name__ == "__main__":
    main()
