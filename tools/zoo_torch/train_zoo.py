#!/usr/bin/python3
"""PyTorch side of the model-zoo benchmark: trains one mirror (tools/zoo_torch/mirrors/<Model>.py) on the Frappe
libFM split with an experiment of a FuxiCTR-style model_config.yaml, in a FuxiCTR 2.3-style loop.

    OMP_NUM_THREADS=2 /usr/bin/python3 tools/zoo_torch/train_zoo.py --config bench/zoo --expid DNN_frappe \\
        --epochs 2 --threads 2 --no-early-stop --json /tmp/dnn.json

Experiment: the Base block updated with the experiment's block (FuxiCTR's load_config); the model keys go to the
mirror's build(); trainer keys read here: batch_size, learning_rate, optimizer (adam only), embedding_regularizer
and net_regularizer (LR and FM: their `regularizer`, which FuxiCTR passes as both), max_gradient_norm (10), seed,
shuffle, epochs, early_stop_patience, monitor. Regularisation as FuxiCTR 2.3's BaseModel.regularization_loss: for
every parameter of an embedding table (what a FeatureEmbedding holds, the LR layer's tables included)
(lambda_p / p) * ||W||_p^p from embedding_regularizer, for every other parameter the same from net_regularizer, added
to the loss of every step (a number means p = 2; "l1(x)", "l2(x)", "l1_l2(x, y)" as FuxiCTR). Then: clip the global
gradient norm, Adam step. After each epoch: validation AUC/logloss (eps 1e-7); on a non-improving monitor value the
learning rate is multiplied by 0.1 (min 1e-6) and, after early_stop_patience of them, training stops (unless
--no-early-stop, for speed runs that time every epoch). Data: tools/fsdnet_torch/train_frappe.py's read_libfm /
fit_vocab / encode (FuxiCTR's vocabulary: train-only, min_categr_count from dataset_config.yaml, default 2).
Recorded per epoch: train seconds, validation seconds, train loss, valid AUC / logloss, lr; and peak RSS, parameter
count, torch version and the BLAS library / OpenBLAS core torch runs on.
"""

import argparse
import ctypes
import importlib
import inspect
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import yaml
from sklearn.metrics import log_loss, roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fsdnet_torch"))
from train_frappe import encode, fit_vocab, read_libfm, seed_everything  # noqa: E402


def load_experiment(config_dir, expid):
    with open(os.path.join(config_dir, "model_config.yaml"), encoding="utf-8") as fh:
        blocks = yaml.safe_load(fh)
    if expid not in blocks:
        raise SystemExit("experiment %s not in %s/model_config.yaml" % (expid, config_dir))
    cfg = dict(blocks.get("Base") or {})
    cfg.update(blocks[expid] or {})
    ds = {}
    path = os.path.join(config_dir, "dataset_config.yaml")
    if os.path.exists(path) and cfg.get("dataset_id"):
        with open(path, encoding="utf-8") as fh:
            ds = (yaml.safe_load(fh) or {}).get(cfg["dataset_id"]) or {}
    return cfg, ds


def number(v):
    return float(v) if isinstance(v, (int, float)) else float(str(v).strip())


def regularizer(v):
    """FuxiCTR's get_regularizer: [(p, lambda)]; a number is L2 (FsdNet also counts integers, FuxiCTR drops them)."""
    if v is None or v == "" or v == 0:
        return []
    try:
        return [(2, number(v))]
    except ValueError:
        pass
    s = str(v).replace(" ", "").lower()
    args = [float(a) for a in s[s.index("(") + 1:s.rindex(")")].split(",")]
    if s.startswith("l1_l2("):
        return [(1, args[0]), (2, args[1])]
    if s.startswith("l1(") or s.startswith("l2("):
        return [(int(s[1]), args[0])]
    raise ValueError("regularizer %r" % v)


def blas_info():
    """The BLAS library this process loaded for torch, and the OpenBLAS core it runs (None when not OpenBLAS)."""
    libs = []
    with open("/proc/self/maps") as fh:
        for line in fh:
            p = line.split()[-1]
            b = os.path.basename(p).lower()
            if b.startswith("lib") and "blas" in b and ".so" in b and p not in libs:
                libs.append(p)
    for p in libs:
        try:
            f = ctypes.CDLL(p).openblas_get_corename
        except (OSError, AttributeError):
            continue
        f.restype = ctypes.c_char_p
        return {"blas": p, "openblas_core": f().decode()}
    return {"blas": libs[0] if libs else None, "openblas_core": None}


@torch.no_grad()
def evaluate(model, X, y, batch_size):
    model.eval()
    p = torch.cat([model.predict(X[s:s + batch_size]).reshape(-1) for s in range(0, X.shape[0], batch_size)])
    model.train()
    p, yt = p.numpy().astype(np.float64), y.numpy().astype(np.float64)
    return roc_auc_score(yt, p), log_loss(yt, p, eps=1e-7)


def monitor_value(monitor, auc, ll):
    metrics = {"AUC": auc, "logloss": ll}
    if isinstance(monitor, dict):
        return sum(float(w) * metrics[k] for k, w in monitor.items())
    return metrics[monitor or "AUC"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="folder with model_config.yaml (and dataset_config.yaml)")
    ap.add_argument("--expid", required=True)
    ap.add_argument("--model", help="mirror to train (default: the experiment's model)")
    ap.add_argument("--data", default=os.path.join(os.environ.get("FSDNET_DATA", "/work/shared/data"), "frappe"))
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--batch-size", type=int, help="replaces the experiment's batch_size")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--max-rows", type=int)
    ap.add_argument("--no-early-stop", action="store_true", help="train every epoch (speed runs)")
    ap.add_argument("--test", action="store_true", help="evaluate the best epoch's weights on test")
    ap.add_argument("--json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg, ds = load_experiment(args.config, args.expid)
    model_name = args.model or cfg["model"]
    if str(cfg.get("optimizer", "adam")).lower() != "adam":
        raise SystemExit("train_zoo.py runs optimizer adam only, the experiment has %s" % cfg["optimizer"])
    bs = args.batch_size or int(cfg.get("batch_size", 10000))
    lr = number(cfg.get("learning_rate", 1e-3))
    epochs = args.epochs or int(cfg.get("epochs", 100))
    seed = args.seed if args.seed is not None else int(cfg.get("seed", 2023))
    clip = number(cfg.get("max_gradient_norm", 10))
    patience = int(cfg.get("early_stop_patience", 2))
    emb_reg = regularizer(cfg.get("embedding_regularizer"))
    net_reg = regularizer(cfg.get("net_regularizer"))
    if model_name in ("LR", "FM") and "regularizer" in cfg:
        if "embedding_regularizer" in cfg or "net_regularizer" in cfg:
            raise SystemExit("%s takes regularizer (as both embedding_regularizer and net_regularizer); not both" % model_name)
        emb_reg = net_reg = regularizer(cfg["regularizer"])

    t0 = time.perf_counter()
    tr_rows, tr_y = read_libfm(os.path.join(args.data, "frappe.train.libfm.gz"), args.max_rows)
    va_rows, va_y = read_libfm(os.path.join(args.data, "frappe.validation.libfm.gz"), args.max_rows)
    vocabs = fit_vocab(tr_rows, int(ds.get("min_categr_count", 2)))
    vocab_sizes = [len(v) + 2 for v in vocabs]
    Xtr, Xva = torch.from_numpy(encode(tr_rows, vocabs)), torch.from_numpy(encode(va_rows, vocabs))
    ytr, yva = torch.from_numpy(tr_y), torch.from_numpy(va_y)
    if args.test:
        te_rows, te_y = read_libfm(os.path.join(args.data, "frappe.test.libfm.gz"), args.max_rows)
        Xte, yte = torch.from_numpy(encode(te_rows, vocabs)), torch.from_numpy(te_y)
    load_s = time.perf_counter() - t0

    seed_everything(seed)
    mirror = importlib.import_module("mirrors." + model_name)
    # The data set's field names, in order (FinalMLP's fs1_context / fs2_context name fields).
    fields = []
    for col in ds.get("feature_cols", []):
        fields.extend(col["name"] if isinstance(col["name"], list) else [col["name"]])
    if "fields" in inspect.signature(mirror.build).parameters:
        if len(fields) != len(vocab_sizes):
            raise SystemExit("dataset config names %d fields, the data has %d" % (len(fields), len(vocab_sizes)))
        model = mirror.build(vocab_sizes, cfg, fields)
    else:
        model = mirror.build(vocab_sizes, cfg)
    model.train()
    emb_params = list(model.embedding_parameters()) if hasattr(model, "embedding_parameters") else \
        [m.weight for m in model.modules() if isinstance(m, torch.nn.Embedding)]
    emb_ids = {id(p) for p in emb_params}
    net_params = [p for p in model.parameters() if p.requires_grad and id(p) not in emb_ids]
    emb_params = [p for p in emb_params if p.requires_grad]
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    blas = blas_info()
    print("pytorch %s: %s (%s), %d parameters, batch %d, lr %g, emb reg %s, net reg %s, %d threads, %d epochs; "
          "BLAS %s, OpenBLAS core %s (data ready in %.1f s)"
          % (torch.__version__, model_name, args.expid, n_params, bs, lr, emb_reg, net_reg, args.threads, epochs,
             blas["blas"], blas["openblas_core"], load_s), flush=True)

    def reg_loss():
        r = 0.0
        for p in emb_params:
            for q, lam in emb_reg:
                r = r + (lam / q) * torch.norm(p, q) ** q
        for p in net_params:
            for q, lam in net_reg:
                r = r + (lam / q) * torch.norm(p, q) ** q
        return r

    history, best, best_state, best_epoch, bad = [], -np.inf, None, 0, 0
    N = Xtr.shape[0]
    for epoch in range(1, epochs + 1):
        lr_used = opt.param_groups[0]["lr"]
        t1 = time.perf_counter()
        perm = torch.randperm(N) if cfg.get("shuffle", True) else torch.arange(N)
        running, nb = 0.0, 0
        for s in range(0, N, bs):
            idx = perm[s:s + bs]
            opt.zero_grad()
            loss = model.loss(Xtr[idx], ytr[idx]) + reg_loss()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            running += loss.item()
            nb += 1
        train_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        auc, ll = evaluate(model, Xva, yva, bs)
        valid_s = time.perf_counter() - t2
        history.append(dict(epoch=epoch, train_s=train_s, valid_s=valid_s, samples_per_s=N / train_s,
                            train_loss=running / nb, val_auc=auc, val_logloss=ll, lr=lr_used))
        print("  epoch %d: train %.2f s, valid %.2f s, %.0f samples/s, loss %.5f, valid AUC %.6f logloss %.6f"
              % (epoch, train_s, valid_s, N / train_s, running / nb, auc, ll), flush=True)
        m = monitor_value(cfg.get("monitor", "AUC"), auc, ll)
        if m < best + 1e-6:
            bad += 1
            for g in opt.param_groups:
                g["lr"] = max(g["lr"] * 0.1, 1e-6)
            if bad >= patience and not args.no_early_stop:
                break
        else:
            best, best_epoch, bad = m, epoch, 0
            if args.test:
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = dict(model=model_name, expid=args.expid, config=cfg, seed=seed, threads=args.threads, torch=torch.__version__,
               vocab_sizes=vocab_sizes, parameters=n_params, epochs=history, best_epoch=best_epoch,
               train_s=[e["train_s"] for e in history], valid_s=[e["valid_s"] for e in history],
               peak_rss_kb=peak_kb, peak_rss_mb=peak_kb / 1024.0, max_rows=args.max_rows, **blas)
    if args.test:
        if best_state is not None:
            model.load_state_dict(best_state)
        res["test_auc"], res["test_logloss"] = evaluate(model, Xte, yte, bs)
        print("test AUC %.6f logloss %.6f" % (res["test_auc"], res["test_logloss"]))
    print("pytorch: mean train %.2f s/epoch, peak RSS %.0f MiB" % (sum(res["train_s"]) / len(history), peak_kb / 1024.0))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
