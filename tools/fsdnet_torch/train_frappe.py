#!/usr/bin/python3
"""PyTorch side of the FSDNet Frappe speed/quality benchmark.

    OMP_NUM_THREADS=2 /usr/bin/python3 tools/fsdnet_torch/train_frappe.py --epochs 3 --threads 2

Official FSDNet_Frappe_x1_h5 configuration (coder-qiu/FSDNet model_config.yaml) on a
FuxiCTR 2.0.x-style loop:
  batch 10000, embedding 16, DNN [400,400,400] + BN + dropout 0.7, 3 cross layers,
  embedding_regularizer 0.1 -> (0.1/2)*||E||_F^2 over every embedding table, every step;
  Adam lr 1e-3, global grad-norm clip 10; choice 2, mu 0.9, tau 1.3, beta 0.01, official
  soft loss. Each epoch: shuffle train, train, validate (AUC + logloss eps 1e-7); on a
  non-improving epoch (AUC < best + 1e-6) lr *= 0.1 (min 1e-6) and patience += 1; stop at 2;
  reload best weights (incl. BN running stats); evaluate test.

Encoding (FuxiCTR 2.0.x Tokenizer, dtype float): per field, tokens are the libFM feature
indices of that field; vocabulary fitted on train with min_categr_count 2, known tokens
sorted by NUMERIC value get ids 1..n, PAD = 0, OOV = n + 1 (also for rare train tokens
and unseen valid/test tokens).
"""

import argparse
import copy
import gzip
import json
import os
import random
import resource
import sys
import time
from collections import Counter

import numpy as np
import torch
from sklearn.metrics import log_loss, roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fsdnet as M  # noqa: E402

FIELDS = ["user", "item", "daytime", "weekday", "isweekend", "homework", "cost",
          "weather", "country", "city"]
EXPECTED_VOCAB = [942, 4084, 9, 9, 4, 5, 4, 11, 82, 233]
EXPECTED_PARAMS = 552691

CFG = dict(batch_size=10000, embedding_dim=16, hidden_units=400, num_layers=3,
           dropout=0.7, batch_norm=True, emb_reg=0.1, lr=1e-3, clip=10.0,
           choice=2, mu=0.9, tau=1.3, beta=0.01, soft="official",
           min_categr_count=2, patience=2, min_delta=1e-6, lr_factor=0.1, min_lr=1e-6)


def read_libfm(path, max_rows=None):
    labels, rows = [], []
    with gzip.open(path, "rt", encoding="ascii") as fh:
        for line in fh:
            parts = line.strip().split()
            if not parts:
                continue
            labels.append(1.0 if float(parts[0]) > 0 else 0.0)
            toks = [p.split(":")[0] for p in parts[1:]]
            if len(toks) != len(FIELDS):
                raise ValueError("expected 10 fields: %r" % line)
            rows.append(toks)
            if max_rows and len(rows) >= max_rows:
                break
    return rows, np.asarray(labels, dtype=np.float32)


def fit_vocab(rows, min_count):
    vocabs = []
    for f in range(len(FIELDS)):
        cnt = Counter(r[f] for r in rows)
        words = [t for t, c in cnt.items() if c >= min_count]
        words.sort(key=lambda t: float(t))  # dtype float -> numeric order
        vocabs.append({t: i for i, t in enumerate(words, start=1)})
    return vocabs


def encode(rows, vocabs):
    out = np.empty((len(rows), len(FIELDS)), dtype=np.int64)
    for f, voc in enumerate(vocabs):
        oov = len(voc) + 1
        out[:, f] = [voc.get(r[f], oov) for r in rows]
    return out


def seed_everything(seed):
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@torch.no_grad()
def evaluate(model, X, y, batch_size):
    model.eval()
    preds = []
    for s in range(0, X.shape[0], batch_size):
        preds.append(model(X[s:s + batch_size])["y_pred"])
    p = torch.cat(preds).numpy().astype(np.float64)
    yt = y.numpy().astype(np.float64)
    return roc_auc_score(yt, p), log_loss(yt, p, eps=1e-7)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=2023)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default="/work/shared/data/frappe")
    ap.add_argument("--max-rows", type=int, default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--max-minutes", type=float, default=None,
                    help="wall-clock budget for training; when exceeded after an epoch, stop "
                         "(marked as truncated), reload best and evaluate test")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    c = CFG

    t0 = time.perf_counter()
    tr_rows, tr_y = read_libfm(os.path.join(args.data, "frappe.train.libfm.gz"), args.max_rows)
    va_rows, va_y = read_libfm(os.path.join(args.data, "frappe.validation.libfm.gz"), args.max_rows)
    te_rows, te_y = read_libfm(os.path.join(args.data, "frappe.test.libfm.gz"), args.max_rows)
    vocabs = fit_vocab(tr_rows, c["min_categr_count"])
    vocab_sizes = [len(v) + 2 for v in vocabs]
    print("vocab sizes (incl. PAD, OOV):", dict(zip(FIELDS, vocab_sizes)))
    if args.max_rows is None:
        assert vocab_sizes == EXPECTED_VOCAB, vocab_sizes
    Xtr = torch.from_numpy(encode(tr_rows, vocabs))
    Xva = torch.from_numpy(encode(va_rows, vocabs))
    Xte = torch.from_numpy(encode(te_rows, vocabs))
    ytr, yva, yte = torch.from_numpy(tr_y), torch.from_numpy(va_y), torch.from_numpy(te_y)
    del tr_rows, va_rows, te_rows
    print("rows train/valid/test: %d / %d / %d; data loading %.1f s (excluded from timings)"
          % (len(ytr), len(yva), len(yte), time.perf_counter() - t0))

    seed_everything(args.seed)
    model = M.FSDNetMirror(vocab_sizes, embedding_dim=c["embedding_dim"],
                           num_layers=c["num_layers"], hidden_units=c["hidden_units"],
                           dropout=c["dropout"], batch_norm=c["batch_norm"])
    n_params = sum(p.numel() for p in model.parameters())
    print("parameter count: %d" % n_params)
    if args.max_rows is None:
        assert n_params == EXPECTED_PARAMS, n_params
    opt = torch.optim.Adam(model.parameters(), lr=c["lr"])

    best, best_state, best_epoch, stopping = -np.inf, None, 0, 0
    truncated = False
    t_start = time.perf_counter()
    history = []
    N, bs = Xtr.shape[0], c["batch_size"]
    print("epoch  train_s  valid_s  samples/s  train_loss  val_auc   val_logloss  lr")
    for epoch in range(1, args.epochs + 1):
        lr_used = opt.param_groups[0]["lr"]
        model.train()
        t1 = time.perf_counter()
        perm = torch.randperm(N)
        running, nb = 0.0, 0
        for s in range(0, N, bs):
            idx = perm[s:s + bs]
            xb, yb = Xtr[idx], ytr[idx]
            opt.zero_grad()
            out = model(xb)
            loss = M.total_loss(out, yb, c["choice"], c["mu"], c["tau"], c["beta"], soft=c["soft"])
            loss = loss + M.embedding_regularization(model, c["emb_reg"])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), c["clip"])
            opt.step()
            running += loss.item()
            nb += 1
        train_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        auc, ll = evaluate(model, Xva, yva, bs)
        valid_s = time.perf_counter() - t2
        rec = dict(epoch=epoch, train_s=train_s, valid_s=valid_s, samples_per_s=N / train_s,
                   train_loss=running / nb, val_auc=auc, val_logloss=ll, lr=lr_used)
        history.append(rec)
        print("%5d  %7.2f  %7.2f  %9.0f  %10.6f  %.6f  %.6f  %.0e"
              % (epoch, train_s, valid_s, N / train_s, running / nb, auc, ll, lr_used), flush=True)
        if auc < best + c["min_delta"]:
            stopping += 1
            for g in opt.param_groups:
                g["lr"] = max(g["lr"] * c["lr_factor"], c["min_lr"])
        else:
            stopping, best, best_epoch = 0, auc, epoch
            best_state = copy.deepcopy(model.state_dict())
        if stopping >= c["patience"]:
            print("early stop after epoch %d (best epoch %d, val AUC %.6f)" % (epoch, best_epoch, best))
            break
        if args.max_minutes and time.perf_counter() - t_start > 60.0 * args.max_minutes:
            truncated = True
            print("time budget exhausted after epoch %d: NOT early-stopped (truncated run)" % epoch)
            break

    if best_state is not None:
        model.load_state_dict(best_state)
    va_auc, va_ll = evaluate(model, Xva, yva, bs)
    te_auc, te_ll = evaluate(model, Xte, yte, bs)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("best epoch %d: valid AUC %.6f logloss %.6f" % (best_epoch, va_auc, va_ll))
    print("TEST AUC %.6f logloss %.6f" % (te_auc, te_ll))
    print("peak RSS %.1f MiB; parameters %d; threads %d; torch %s"
          % (peak_kb / 1024.0, n_params, args.threads, torch.__version__))
    if args.json:
        res = dict(config=c, seed=args.seed, threads=args.threads, torch=torch.__version__,
                   vocab_sizes=vocab_sizes, parameters=n_params, epochs=history,
                   best_epoch=best_epoch, valid_auc=va_auc, valid_logloss=va_ll,
                   test_auc=te_auc, test_logloss=te_ll, peak_rss_kb=peak_kb,
                   max_rows=args.max_rows, truncated=truncated)
        with open(args.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
