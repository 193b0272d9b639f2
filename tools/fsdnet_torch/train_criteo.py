#!/usr/bin/python3
"""PyTorch side of the Criteo-shape training benchmark (bench/criteo_vs_pytorch.sh).

    OMP_NUM_THREADS=2 /usr/bin/python3 tools/fsdnet_torch/train_criteo.py --data DIR --threads 2 --json out.json

DIR holds raw Criteo TSV files train.txt and valid.txt (label, I1..I13, C1..C26; empty = missing), e.g. a slice of
the synthetic Criteo_x4 made by tools/synth_criteo.cs. Speed only: the data are synthetic, so the AUC means nothing.

Encoding as FuxiCTR's Criteo_x4 dataset config (and FsdNet's `criteo` preset): I1..I13 are categorical after
fill_na 0 and convert_to_bucket (v > 2 -> int(floor(log(v)^2)), else int(v)); C1..C26 are string categories; the
fill_na token ("0" after bucketing for I1..I13, "" for C1..C26) is not a vocabulary entry (it encodes as OOV, as in
FuxiCTR's Tokenizer); vocabularies fitted on train with min_categr_count 10; PAD = 0, OOV = n + 1. Encoding is
not timed (FsdNet's cache build is not timed either).

Model and loop: FSDNetMirror (tools/fsdnet_torch/fsdnet.py) with the official FSDNet_Criteo_x4 settings: embedding
16, three cross layers and a DNN [400, 400, 400] with BN and dropout 0.2, batch 4096, Adam lr 1e-3, global
grad-norm clip 10, embedding_regularizer 1e-5 ((lam/2)||E||^2 over every table, every step), choice 2, mu 0.5,
tau 1, beta 0.01, official soft loss. One epoch over shuffled train, then one validation pass (AUC, logloss).
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import log_loss, roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fsdnet as M  # noqa: E402

INTS = ["I%d" % i for i in range(1, 14)]
CATS = ["C%d" % i for i in range(1, 27)]
COLS = ["label"] + INTS + CATS
CFG = dict(batch_size=4096, embedding_dim=16, hidden_units=400, num_layers=3, dropout=0.2,
           batch_norm=True, emb_reg=1e-5, lr=1e-3, clip=10.0, choice=2, mu=0.5, tau=1.0,
           beta=0.01, soft="official", min_categr_count=10)


def read(path, max_rows):
    df = pd.read_csv(path, sep="\t", header=None, names=COLS, nrows=max_rows,
                     dtype={c: str for c in CATS}, keep_default_na=False, na_values={c: [""] for c in INTS})
    for c in INTS:
        v = df[c].fillna(0).to_numpy(dtype=np.float64)
        bucket = np.where(v > 2, np.floor(np.log(np.maximum(v, 1e-12)) ** 2), np.trunc(v))
        df[c] = bucket.astype(np.int64).astype(str)
    return df


def fit_encode(train, others, min_count):
    vocab_sizes = []
    encoded = [np.empty((len(d), len(INTS) + len(CATS)), dtype=np.int64) for d in [train] + others]
    for f, c in enumerate(INTS + CATS):
        counts = train[c].value_counts()
        keep = counts[counts >= min_count].index
        # The fill_na token is not a vocabulary entry (FuxiCTR's Tokenizer drops tok == na_value): missing -> OOV.
        # For I1..I13 that is "0" (fill_na 0, bucketised to 0), for C1..C26 "".
        keep = keep[keep != ("0" if c in INTS else "")]
        codes = pd.Series(np.arange(1, len(keep) + 1, dtype=np.int64), index=keep)
        oov = len(keep) + 1
        for d, out in zip([train] + others, encoded):
            out[:, f] = d[c].map(codes).fillna(oov).to_numpy(dtype=np.int64)
        vocab_sizes.append(len(keep) + 2)
    return vocab_sizes, encoded


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-rows", type=int, default=None)
    ap.add_argument("--seed", type=int, default=2023)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    c = CFG
    t0 = time.perf_counter()
    train = read(os.path.join(args.data, "train.txt"), args.max_rows)
    valid = read(os.path.join(args.data, "valid.txt"), args.max_rows)
    vocab_sizes, (xtr, xva) = fit_encode(train, [valid], c["min_categr_count"])
    ytr = torch.from_numpy(train["label"].to_numpy(dtype=np.float32))
    yva = torch.from_numpy(valid["label"].to_numpy(dtype=np.float32))
    Xtr, Xva = torch.from_numpy(xtr), torch.from_numpy(xva)
    del train, valid
    print("rows train/valid: %d / %d; ids (incl. PAD, OOV) %d; data loading %.1f s (not timed)"
          % (len(ytr), len(yva), sum(vocab_sizes), time.perf_counter() - t0), flush=True)

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    model = M.FSDNetMirror(vocab_sizes, embedding_dim=c["embedding_dim"], num_layers=c["num_layers"],
                           hidden_units=c["hidden_units"], dropout=c["dropout"], batch_norm=c["batch_norm"])
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=c["lr"])
    N, bs = Xtr.shape[0], c["batch_size"]
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
        if nb % 50 == 0:
            el = time.perf_counter() - t1
            print("  step %d/%d: %.0f rows/s" % (nb, (N + bs - 1) // bs, s / el if el > 0 else 0), flush=True)
    train_s = time.perf_counter() - t1
    model.eval()
    t2 = time.perf_counter()
    preds = []
    with torch.no_grad():
        for s in range(0, Xva.shape[0], bs):
            preds.append(model(Xva[s:s + bs])["y_pred"])
    p = torch.cat(preds).numpy().astype(np.float64)
    valid_s = time.perf_counter() - t2
    auc = roc_auc_score(yva.numpy(), p)
    ll = log_loss(yva.numpy(), p, eps=1e-7)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("pytorch: train %.1f s (%.0f rows/s), valid %.1f s, loss %.5f, valid AUC %.6f logloss %.6f, "
          "%d parameters, peak RSS %.0f MiB" % (train_s, N / train_s, valid_s, running / nb, auc, ll, n_params, peak_kb / 1024))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(dict(config=c, threads=args.threads, torch=torch.__version__, vocab_sizes=vocab_sizes,
                           parameters=n_params, train_rows=N, train_s=train_s, valid_s=valid_s,
                           samples_per_s=N / train_s, val_auc=auc, val_logloss=ll, peak_rss_kb=peak_kb), fh, indent=1)


if __name__ == "__main__":
    main()
