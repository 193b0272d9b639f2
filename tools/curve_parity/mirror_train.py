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
  DNN, DeepFM, DCNv2 (parallel, stacked)  on every input kind, written here; every other zoo model (categorical
            fields only) through tools/zoo_torch/mirrors.
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "zoo_torch"))
from mirrors import _base as B  # noqa: E402

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

    def __init__(self, fields, dim, prefix="embedding.", lr=False):
        super().__init__()
        self.fields = fields
        # FuxiCTR's LogisticRegression embeds every field with dim 1, without pretrained tables or sharing, and pools
        # sequences by masked sum.
        self.lr = lr
        self.dim = dim
        # Width of x0: the fields' dims summed (a field may set its own embedding_dim).
        self.out_dim = len(fields) if lr else sum((f["embedding_dim"] or dim) for f in fields)
        self.tables = nn.ModuleDict()
        self.linears = nn.ModuleDict()
        self.names = {}
        for f in fields:
            d = 1 if lr else f["embedding_dim"] or dim
            if f["pretrained"]:
                raise NotImplementedError("pretrained_emb in the curve mirror")
            if f["kind"] in ("Categorical", "Sequence"):
                if f["share_embedding"] and not lr:
                    continue
                self.tables[f["name"]] = nn.Embedding(f["vocab_size"], d, padding_idx=0)
                self.names[f"{prefix}embedding_layer.{f['name']}.weight"] = (self.tables[f["name"]].weight, False)
            elif f["kind"] == "Numeric":
                self.linears[f["name"]] = nn.Linear(1, d, bias=False)
                # FsdNet keeps the vector as [1, d]; torch's Linear(1, d) weight is [d, 1].
                self.names[f"{prefix}embedding_layer.{f['name']}.weight"] = (self.linears[f["name"]].weight, True)
            elif f["kind"] == "Embedding":
                self.linears[f["name"]] = nn.Linear(f["width"], d, bias=False)
                self.names[f"{prefix}feature_encoders.{f['name']}.weight"] = (self.linears[f["name"]].weight, False)
            else:
                raise NotImplementedError(f["kind"])

    def table(self, f):
        owner = f["name"]
        by = {g["name"]: g for g in self.fields}
        while by[owner]["share_embedding"] and not self.lr:
            owner = by[owner]["share_embedding"]
        return self.tables[owner]

    def forward(self, x):
        parts = []
        for f in self.fields:
            c = f["column"]
            if f["kind"] == "Categorical":
                parts.append(self.table(f)(x["categorical"][:, c].long()))
            elif f["kind"] == "Numeric":
                parts.append(self.linears[f["name"]](x["numeric"][:, c:c + 1]))
            elif f["kind"] == "Sequence":
                e = self.table(f)(x["sequence"][:, c:c + f["max_len"]].long())
                s = e.sum(dim=1)
                if f["pooling"] == "Mean" and not self.lr:
                    mask = e.sum(dim=-1) != 0
                    s = s / (mask.float().sum(-1, keepdim=True) + 1e-12)
                parts.append(s)
            else:
                parts.append(self.linears[f["name"]](x["embedding"][:, c:c + f["width"]]))
        return torch.cat(parts, dim=1)


class MLP(nn.Module):
    """FuxiCTR's MLP_Block (Linear, BatchNorm1d, ReLU per hidden layer; an optional output Linear), FsdNet's names."""

    def __init__(self, in_dim, units, batch_norm, output_dim=None):
        super().__init__()
        self.linears = nn.ModuleList()
        self.bns = nn.ModuleList()
        for u in units:
            self.linears.append(nn.Linear(in_dim, u))
            if batch_norm:
                self.bns.append(nn.BatchNorm1d(u))
            in_dim = u
        self.batch_norm = batch_norm
        self.out = nn.Linear(in_dim, output_dim) if output_dim else None

    def names(self, hidden, output=None):
        out = {}
        for i, lin in enumerate(self.linears):
            out[f"{hidden}{i}.linear.weight"] = (lin.weight, False)
            out[f"{hidden}{i}.linear.bias"] = (lin.bias, False)
            if self.batch_norm:
                for k in ("weight", "bias", "running_mean", "running_var"):
                    out[f"{hidden}{i}.batch_norm.{k}"] = (getattr(self.bns[i], k), False)
        if self.out is not None:
            out[f"{output}.weight"] = (self.out.weight, False)
            out[f"{output}.bias"] = (self.out.bias, False)
        return out

    def exact_pre_norm_bias(self):
        if self.batch_norm:
            for lin in self.linears:
                lin.bias.grad.zero_()

    def layers(self, x):
        outs = []
        for i, lin in enumerate(self.linears):
            x = lin(x)
            if self.batch_norm:
                x = self.bns[i](x)
            x = torch.relu(x)
            outs.append(x)
        return outs

    def forward(self, x):
        x = self.layers(x)[-1] if len(self.linears) else x
        return self.out(x) if self.out is not None else x


class Plain(nn.Module):
    """A model with one logit: prediction sigmoid(logit), loss BCE (mean)."""

    def predict(self, x):
        return torch.sigmoid(self.logit(x).squeeze(1))

    def forward(self, x):
        return {"y_pred": self.predict(x)}

    def loss(self, out, y):
        return nn.functional.binary_cross_entropy(out["y_pred"], y)


class DNN(Plain):
    def __init__(self, fields, cfg):
        super().__init__()
        self.inputs = Inputs(fields, int(cfg.get("embedding_dim", 10)))
        d0 = self.inputs.out_dim
        self.mlp = MLP(d0, [int(u) for u in cfg["hidden_units"]], bool(cfg.get("batch_norm", False)), 1)

    def named_state(self):
        return {**self.inputs.names, **self.mlp.names("mlp.hidden.", "mlp.output")}

    def exact_pre_norm_bias(self):
        self.mlp.exact_pre_norm_bias()

    def logit(self, x):
        return self.mlp(self.inputs(x))


class DeepFM(DNN):
    """FuxiCTR's DeepFM: FactorizationMachine (LogisticRegression + pairwise inner products, summed) + MLP."""

    def __init__(self, fields, cfg):
        super().__init__(fields, cfg)
        self.lr_inputs = Inputs(fields, 1, prefix="fm.lr_layer.embedding_layer.", lr=True)
        self.lr_bias = nn.Parameter(torch.zeros(1))

    def named_state(self):
        return {**super().named_state(), **self.lr_inputs.names, "fm.lr_layer.bias": (self.lr_bias, False)}

    def logit(self, x):
        x0 = self.inputs(x)
        e = x0.view(x0.shape[0], -1, self.inputs.dim)
        fm2 = 0.5 * (e.sum(dim=1) ** 2 - (e ** 2).sum(dim=1)).sum(dim=1, keepdim=True)
        lr = self.lr_inputs(x).sum(dim=1, keepdim=True) + self.lr_bias
        return lr + fm2 + self.mlp(x0)


class DCNv2(Plain):
    """FuxiCTR's DCNv2 without the low-rank mixture: CrossNetV2 and a DNN, parallel or stacked, then fc."""

    def __init__(self, fields, cfg):
        super().__init__()
        self.inputs = Inputs(fields, int(cfg.get("embedding_dim", 10)))
        d0 = self.inputs.out_dim
        self.structure = cfg.get("model_structure", "parallel")
        self.cross = nn.ModuleList(nn.Linear(d0, d0) for _ in range(int(cfg.get("num_cross_layers", 3))))
        bn = bool(cfg.get("batch_norm", False))
        if self.structure == "parallel":
            self.mlp = MLP(d0, [int(u) for u in cfg["parallel_dnn_hidden_units"]], bn)
            final = d0 + self.mlp.linears[-1].out_features
        elif self.structure == "stacked":
            self.mlp = MLP(d0, [int(u) for u in cfg["stacked_dnn_hidden_units"]], bn)
            final = self.mlp.linears[-1].out_features
        else:
            raise NotImplementedError(self.structure)
        self.fc = nn.Linear(final, 1)

    def named_state(self):
        out = dict(self.inputs.names)
        for i, c in enumerate(self.cross):
            out[f"cross.cross_layers.{i}.weight"] = (c.weight, False)
            out[f"cross.cross_layers.{i}.bias"] = (c.bias, False)
        out.update(self.mlp.names("dnn." if self.structure == "parallel" else "stacked_dnn."))
        out["fc.weight"] = (self.fc.weight, False)
        out["fc.bias"] = (self.fc.bias, False)
        return out

    def exact_pre_norm_bias(self):
        self.mlp.exact_pre_norm_bias()

    def logit(self, x):
        x0 = self.inputs(x)
        xc = x0
        for c in self.cross:
            xc = xc + x0 * c(xc)
        if self.structure == "parallel":
            return self.fc(torch.cat([xc, self.mlp(x0)], dim=1))
        return self.fc(self.mlp(xc))


class Zoo(nn.Module):
    """A model-zoo mirror (tools/zoo_torch/mirrors/<Model>.py, FuxiCTR's definitions) on categorical fields; its
    fsdnet_names() already give FsdNet's parameter names."""

    def __init__(self, fields, cfg, model):
        super().__init__()
        import importlib
        import inspect
        if any(f["kind"] != "Categorical" for f in fields):
            raise SystemExit("the zoo mirrors read categorical fields only")
        mod = importlib.import_module("mirrors." + model)
        vocab = [f["vocab_size"] for f in fields]
        self.field_names = [f["name"] for f in fields]
        self.m = mod.build(vocab, cfg, self.field_names) if "fields" in inspect.signature(mod.build).parameters else mod.build(vocab, cfg)

    def named_state(self):
        out = {n: (p, False) for n, p in self.m.fsdnet_names(self.field_names).items()}
        # BatchNorm buffers beside their weight (the mirrors name parameters only).
        owner = {id(m.weight): m for m in self.m.modules() if isinstance(m, nn.BatchNorm1d)}
        for n, (p, _) in list(out.items()):
            if n.endswith(".weight") and id(p) in owner:
                out[n[:-6] + "running_mean"] = (owner[id(p)].running_mean, False)
                out[n[:-6] + "running_var"] = (owner[id(p)].running_var, False)
        self.pre_norm = [p for n, (p, _) in out.items() if n.endswith(".linear.bias") and n[:-11] + "batch_norm.weight" in out]
        return out

    def exact_pre_norm_bias(self):
        for p in self.pre_norm:
            p.grad.zero_()

    def forward(self, x):
        return {"y_pred": self.m.predict(x["categorical"].long()).squeeze(1)}

    def step_loss(self, x):
        """The training loss with one forward pass (BatchNorm's running statistics move once per step)."""
        return self.m.loss(x["categorical"].long(), x["labels"])


class FSDNet(nn.Module):
    """FSDNet: CrossNetV2 beside the parallel MLP, fused layer by layer into the FSD heads (the zoo mirrors' FsdHeads,
    whose loss is tools/fsdnet_torch/fsdnet.py's official total_loss)."""

    def __init__(self, fields, cfg):
        super().__init__()
        self.inputs = Inputs(fields, int(cfg.get("embedding_dim", 16)))
        units = [int(u) for u in cfg["parallel_dnn_hidden_units"]]
        assert len(units) == int(cfg.get("num_cross_layers", 3)) and len(set(units)) == 1
        d0 = self.inputs.out_dim
        self.cross = nn.ModuleList(nn.Linear(d0, d0) for _ in units)
        self.mlp = MLP(d0, units, bool(cfg.get("batch_norm", False)))
        self.fsd = B.FsdHeads([d0 + units[-1]] * len(units), cfg)

    def named_state(self):
        out = dict(self.inputs.names)
        for i, c in enumerate(self.cross):
            out[f"cross.cross_layers.{i}.weight"] = (c.weight, False)
            out[f"cross.cross_layers.{i}.bias"] = (c.bias, False)
        out.update(self.mlp.names("dnn."))
        out.update({n: (p, False) for n, p in self.fsd.names().items()})
        return out

    def exact_pre_norm_bias(self):
        self.mlp.exact_pre_norm_bias()

    def forward(self, x):
        x0 = self.inputs(x)
        cs, c = [], x0
        for lin in self.cross:
            c = c + x0 * lin(c)
            cs.append(c)
        out = self.fsd.run(cs, self.mlp.layers(x0))
        out["y_pred"] = out["y_pred"].squeeze(1)
        return out

    def loss(self, out, y):
        return self.fsd.loss(out, y)


MODELS = {"FSDNet": FSDNet, "DNN": DNN, "DeepFM": DeepFM, "DCNv2": DCNv2}


def build_model(case):
    if case.meta["case"].startswith(("zoo_", "frappe_")):
        return Zoo(case.meta["fields"], case.cfg, case.meta["model"])
    return MODELS[case.meta["model"]](case.meta["fields"], case.cfg)


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
    # LR and FM take one `regularizer`, which FuxiCTR passes as both.
    emb_lambda = float(case.cfg.get("embedding_regularizer") or case.cfg.get("regularizer") or 0)
    net_lambda = float(case.cfg.get("net_regularizer") or case.cfg.get("regularizer") or 0)
    # FuxiCTR: a parameter whose name holds "embedding_layer" takes embedding_regularizer (FsdNet's names follow
    # FuxiCTR's module paths; the projection of a type-embedding field sits in FuxiCTR 2.3's embedding_layers too).
    emb = {n for n in named if "embedding_layer" in n or ".feature_encoders." in n}
    if emb & set(case.meta["trainable"]) != set(case.meta["embedding_params"]):
        raise SystemExit(f"{case.meta['case']}: FsdNet regularises {sorted(case.meta['embedding_params'])} as embeddings, FuxiCTR {sorted(emb)}")
    trainable = set(case.meta["trainable"])
    reg = 0.0
    for name, (t, _) in named.items():
        if name not in trainable:
            continue
        lam = emb_lambda if name in emb else net_lambda
        if lam:
            reg = reg + (lam / 2.0) * torch.norm(t, 2) ** 2
    return reg


PERTURB = 1e-5
PERTURBED_RUNS = 3


def train(case, perturb=0.0, seed=0):
    """One mirror run; with perturb, every initial parameter is first multiplied by (1 + perturb * N(0, 1))."""
    model = build_model(case)
    named = model.named_state()
    load_state(case, named)
    trainable = [named[n][0] for n in case.meta["trainable"]]
    if perturb:
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for t in trainable:
                t.mul_(1 + perturb * torch.randn(t.shape, generator=gen))
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
            data_loss = model.step_loss(batch) if hasattr(model, "step_loss") else model.loss(model(batch), batch["labels"])
            loss = data_loss + regularizer(model, named, case)
            loss.backward()
            if case.meta.get("exact_pre_norm_bias") and hasattr(model, "exact_pre_norm_bias"):
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
    return losses, epochs


def main():
    case_dir, out_path = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    torch.set_num_threads(1)
    case = Case(case_dir)
    losses, epochs = train(case)
    # How far the mirror moves from itself when its start moves by 1e-5 (relative): the test allows FsdNet a
    # multiple of this, so a case whose dynamics amplify round-off (a ReLU input crossing zero, Adam's first steps
    # on near-zero gradients) is not mistaken for a fault, while a well-conditioned one stays tight.
    runs = [train(case, PERTURB, seed) for seed in range(1, PERTURBED_RUNS + 1)]
    loss_spread = [max(abs(r[0][s] - losses[s]) for r in runs) for s in range(len(losses))]
    for e, ep in enumerate(epochs):
        ep["auc_spread"] = max(abs(r[1][e]["valid_auc"] - ep["valid_auc"]) for r in runs)
        ep["logloss_spread"] = max(abs(r[1][e]["valid_logloss"] - ep["valid_logloss"]) for r in runs)
        for name, d in ep["state"].items():
            d["norm_spread"] = max(abs(r[1][e]["state"][name]["norm"] - d["norm"]) for r in runs)
            d["spread"] = [max(abs(r[1][e]["state"][name]["values"][k] - v) for r in runs) for k, v in enumerate(d["values"])]
    doc = {"case": case.meta["case"], "torch": torch.__version__, "perturb": PERTURB, "perturbed_runs": PERTURBED_RUNS,
           "step_loss": losses, "loss_spread": loss_spread, "epochs": epochs}
    with open(out_path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"{case.meta['case']}: " + ", ".join(f"epoch {i + 1} AUC {e['valid_auc']:.6f} (spread {e['auc_spread']:.1e}) logloss {e['valid_logloss']:.6f}" for i, e in enumerate(epochs))
          + f"; max step-loss spread {max(loss_spread) / losses[0]:.1e}")


if __name__ == "__main__":
    main()
