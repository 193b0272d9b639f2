#!/usr/bin/python3
"""Checks that every benchmark mirror (tools/zoo_torch/mirrors/<Model>.py) is the parity-tested definition: for each
case in the table below, build the mirror through build() with the golden file's tiny config, load the golden
parameters through fsdnet_names(), and compare predict() and loss() with the golden y_pred / loss (train mode,
|a - b| <= 1e-5 * max(1, |b|)).

    /usr/bin/python3 tools/zoo_torch/check_mirrors.py [Model ...]

Exit 1 when a case fails, or when a mirror has a golden file tests/FsdNet.Tests/Golden/zoo/<model>.json that neither
records its cases' configs (params.cases, then every case is checked without a row) nor has a row in CASES. Golden files are read, never written.

basic.json has one numeric field beside the three categorical ones; the mirrors take categorical fields only, so its
value v is fed as an extra categorical field whose table rows are v_k * w (the numeric field's embedding of each
distinct value; v = 0 maps to the zero padding row): the forward is the same.
"""

import importlib
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "..", "tests", "FsdNet.Tests", "Golden")
sys.path.insert(0, HERE)
TOL = 1e-5

BN = {"batch_norm": True}

# model, golden file (under tests/FsdNet.Tests/Golden), case (key prefix), config overrides on top of the golden's
# "params" (FuxiCTR keys; vocab_sizes dropped). Add a row per case when a model's golden file lands.
CASES = [
    ("LR", "zoo/basic.json", "LR", {}),
    ("FM", "zoo/basic.json", "FM", {}),
    ("DNN", "zoo/basic.json", "DNN", BN),
    ("WideDeep", "zoo/basic.json", "WideDeep", BN),
    ("DeepFM", "zoo/basic.json", "DeepFM", BN),
    ("DCN", "zoo/dcn.json", "cross_only", {"dnn_hidden_units": []}),
    ("DCN", "zoo/dcn.json", "with_dnn", BN),
    ("DCNv2", "zoo/dcnv2.json", "crossnet_only", {"model_structure": "crossnet_only", **BN}),
    ("DCNv2", "zoo/dcnv2.json", "stacked", {"model_structure": "stacked", **BN}),
    ("DCNv2", "zoo/dcnv2.json", "parallel", {"model_structure": "parallel", **BN}),
    ("DCNv2", "zoo/dcnv2.json", "stacked_parallel", {"model_structure": "stacked_parallel", **BN}),
    ("FSDNet", "fsdnet/tiny.json", "c2_official", {}),
    ("FSDNet", "fsdnet/tiny.json", "c0_paper", {}),
    # DCNv2 with fsd: true is FSDNet (same parameter names): its FSD path against FSDNet's golden file
    ("DCNv2", "fsdnet/tiny.json", "c2_official", {"model_structure": "parallel", "fsd": True}),
]


def fsdnet_tiny(golden, case, overrides):
    """tools/fsdnet_torch/make_golden.py's tiny.json: its own keys and config."""
    p = golden["params"]
    choice, soft = int(case[1]), case.split("_")[1]
    cfg = {"embedding_dim": p["embedding_dim"], "num_cross_layers": p["num_layers"],
           "parallel_dnn_hidden_units": [p["hidden_units"]] * p["num_layers"], "batch_norm": p["batch_norm"],
           "net_dropout": p["dropout"], "choice": choice, "loss_coefficient": p["mu"], "Temp": p["tau"],
           "fea_coefficient": p["beta"], "soft_loss": soft, **overrides}
    keys = {}
    for i in range(len(p["vocab_sizes"])):
        keys["embedding.embedding_layer.f%d.weight" % i] = "emb%d" % i
    for i in range(p["num_layers"]):
        for ours, theirs in (("cross.cross_layers.%d.weight", "cross_W%d"), ("cross.cross_layers.%d.bias", "cross_b%d"),
                             ("dnn.%d.linear.weight", "dnn_W%d"), ("dnn.%d.linear.bias", "dnn_b%d"),
                             ("dnn.%d.batch_norm.weight", "bn_gamma%d"), ("dnn.%d.batch_norm.bias", "bn_beta%d"),
                             ("heads.%d.weight", "head_W%d"), ("heads.%d.bias", "head_b%d")):
            keys[ours % i] = theirs % i
    return cfg, (lambda name: keys.get(name, "?" + name)), "y_pred", case + "_loss"


def zoo_case(golden, case, overrides):
    params = golden["params"]
    # golden files that record each case's config (params.cases) need no overrides here
    source = params["cases"][case] if "cases" in params else params
    cfg = {k: v for k, v in source.items() if k not in ("vocab_sizes", "cases", "model")}
    cfg.update(overrides)
    return cfg, (lambda name: case + ":" + name), case + ":y_pred", case + ":loss"


def tensor(entry):
    return torch.tensor(entry["data"]).reshape(entry["shape"])


def load_mirror(model):
    return importlib.import_module("mirrors." + model)


def run_case(model, file, case, overrides):
    with open(os.path.join(GOLDEN, file), encoding="utf-8") as fh:
        golden = json.load(fh)
    t = golden["tensors"]
    cfg, key, y_key, loss_key = (fsdnet_tiny if file.startswith("fsdnet/") else zoo_case)(golden, case, overrides)
    vocab = list(golden["params"]["vocab_sizes"])
    codes = tensor(t["codes"]).long()
    fields = ["f%d" % i for i in range(len(vocab))]
    numeric = None
    if "values" in t:
        # the numeric field as a categorical one: code k -> k-th distinct non-zero value
        values = tensor(t["values"]).reshape(-1)
        distinct = sorted({float(v) for v in values.tolist() if v != 0})
        numeric = torch.tensor(distinct)
        idx = torch.tensor([0 if v == 0 else distinct.index(float(v)) + 1 for v in values.tolist()])
        codes = torch.cat([codes, idx.unsqueeze(1)], dim=1)
        vocab.append(len(distinct) + 1)
        fields.append("n")
    mirror = load_mirror(model).build(vocab, cfg)
    mirror.train()
    names = mirror.fsdnet_names(fields)
    missing = [n for n in names if key(n) not in t]
    if missing:
        return "golden has no %s" % ", ".join(key(n) for n in missing)
    if not file.startswith("fsdnet/"):
        # every parameter of the golden case must be one of the mirror's (gradients are "d" + a parameter's name)
        own = {k[len(case) + 1:] for k in t if k.startswith(case + ":")} - {"y_pred", "loss"}
        params = {k for k in own if not (k.startswith("d") and k[1:] in own)}
        extra = sorted(params - set(names))
        if extra:
            return "mirror lacks golden parameters %s" % ", ".join(extra)
    with torch.no_grad():
        for n, p in names.items():
            g = tensor(t[key(n)])
            if numeric is not None and n.endswith(".n.weight"):
                g = torch.cat([torch.zeros(1, g.shape[0]), numeric.unsqueeze(1) * g.reshape(1, -1)], dim=0)
            if tuple(g.shape) != tuple(p.shape):
                return "%s: golden shape %s, mirror %s" % (n, list(g.shape), list(p.shape))
            p.copy_(g)
    labels = tensor(t["labels"]).float().reshape(-1)
    y = mirror.predict(codes).detach()
    loss = float(mirror.loss(codes, labels))
    y_gold = tensor(t[y_key]).reshape(-1)
    loss_gold = float(tensor(t[loss_key]).reshape(-1)[0])
    dy = float((y.reshape(-1) - y_gold).abs().max())
    if tuple(y.shape) != (codes.shape[0], 1):
        return "predict gave shape %s, expected [%d, 1]" % (list(y.shape), codes.shape[0])
    if dy > TOL * max(1.0, float(y_gold.abs().max())) or not math.isfinite(loss) \
            or abs(loss - loss_gold) > TOL * max(1.0, abs(loss_gold)):
        return "y_pred max |diff| %.3g, loss %.8f vs golden %.8f" % (dy, loss, loss_gold)
    return None, dy, abs(loss - loss_gold), len(names)


def main():
    only = set(sys.argv[1:])
    mirrors = sorted(f[:-3] for f in os.listdir(os.path.join(HERE, "mirrors")) if f.endswith(".py") and not f.startswith("_"))
    failed = 0
    for model, file, case, overrides in CASES:
        if only and model not in only:
            continue
        if model not in mirrors:
            print("%-10s %-18s %-18s SKIP (no mirror yet)" % (model, file, case))
            continue
        r = run_case(model, file, case, overrides)
        if isinstance(r, str):
            failed += 1
            print("%-10s %-18s %-18s FAIL: %s" % (model, file, case, r))
        else:
            print("%-10s %-18s %-18s ok (%d parameters loaded; y_pred |diff| %.1e, loss |diff| %.1e)" % (model, file, case, r[3], r[1], r[2]))
    tabled = {m for m, _, _, _ in CASES}
    # Golden files that record their cases' configs: a case names its mirror ("model"), else the file is <mirror>.json.
    recorded = {}
    for f in sorted(os.listdir(os.path.join(GOLDEN, "zoo"))):
        with open(os.path.join(GOLDEN, "zoo", f), encoding="utf-8") as fh:
            for case, cfg in (json.load(fh)["params"].get("cases") or {}).items():
                m = cfg.get("model", next((x for x in mirrors if x.lower() + ".json" == f), None))
                if m is not None:
                    recorded.setdefault(m, []).append(("zoo/" + f, case))
    for m in mirrors:
        if (not only or m in only) and m not in tabled:
            if m not in recorded:
                failed += 1
                print("%-10s FAIL: no golden file records a case of this mirror and CASES has no row for it" % m)
                continue
            for file, case in recorded[m]:
                r = run_case(m, file, case, {})
                if isinstance(r, str):
                    failed += 1
                    print("%-10s %-18s %-18s FAIL: %s" % (m, file, case, r))
                else:
                    print("%-10s %-18s %-18s ok (%d parameters loaded; y_pred |diff| %.1e, loss |diff| %.1e)" % (m, file, case, r[3], r[1], r[2]))
    print("check_mirrors: %s" % ("all cases match" if failed == 0 else "%d failed" % failed))
    return 1 if failed else 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
