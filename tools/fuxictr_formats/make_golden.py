#!/usr/bin/env python3
"""Writes tiny FuxiCTR-layout files with the real libraries (h5py, numpy) into tests/FsdNet.Tests/Golden/fuxictr/.

FsdNet's tests read them in CI (no Python there) to check that files written by h5py/numpy, not only by our own
writers, decode to the expected rows. Run from the repository root: /usr/bin/python3 tools/fuxictr_formats/make_golden.py

Layout (what FuxiCTR writes):
  h5/            FuxiCTR 2.0.x: train.h5 with one dataset per feature and label (build_dataset.save_h5), plus a
                 block folder train_blocks/part_0.h5, part_1.h5 (data_block_size), feature_map.json.
  npz/           FuxiCTR 2.3: train.npz, one array per column (np.savez), feature_map.json.
  pretrained/    key/value embedding files: emb.npz (int keys), emb_str.npz (unicode keys), emb.h5.
  expected.json  the rows every reader must produce.
Parquet is not written here: this machine has no pyarrow/fastparquet, so pandas cannot write parquet; the C# tests
write parquet with Parquet.Net instead.
"""
import json
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "FsdNet.Tests", "Golden", "fuxictr")
rng = np.random.default_rng(7)
ROWS = 12
MAXLEN = 3
EMB = 4

user = rng.integers(0, 6, ROWS).astype(np.int64)          # vocab_size 6 (0 = PAD, 5 = OOV)
item = rng.integers(1, 9, ROWS).astype(np.int64)          # vocab_size 9
price = rng.normal(0, 1, ROWS).astype(np.float64)         # numeric, already normalised
seq = rng.integers(0, 9, (ROWS, MAXLEN)).astype(np.int32) # shares item's table
seq[0, :] = [3, 0, 0]
vec = rng.normal(0, 1, (ROWS, EMB)).astype(np.float32)    # type: embedding, pretrain_dim 4
label = (rng.random(ROWS) < 0.4).astype(np.float64)

features = [
    {"user": {"source": "user", "type": "categorical", "padding_idx": 0, "vocab_size": 6, "embedding_dim": 8}},
    {"item": {"source": "item", "type": "categorical", "padding_idx": 0, "oov_idx": 8, "vocab_size": 9}},
    {"price": {"source": "item", "type": "numeric"}},
    {"hist": {"source": "user", "type": "sequence", "share_embedding": "item", "padding_idx": 0, "vocab_size": 9,
              "max_len": MAXLEN, "feature_encoder": "layers.MaskedSumPooling()"}},
    {"vec": {"source": "item", "type": "embedding", "pretrain_dim": EMB, "embedding_dim": 8}},
]


def feature_map(dataset_id):
    return {"dataset_id": dataset_id, "num_fields": 5, "total_features": 16, "input_length": 9,
            "labels": ["click"], "features": features}


def arrays(sl=slice(None)):
    return {"user": user[sl], "item": item[sl], "price": price[sl], "hist": seq[sl], "vec": vec[sl], "click": label[sl]}


os.makedirs(os.path.join(OUT, "h5", "train_blocks"), exist_ok=True)
os.makedirs(os.path.join(OUT, "npz"), exist_ok=True)
os.makedirs(os.path.join(OUT, "pretrained"), exist_ok=True)

# FuxiCTR 2.0.x save_h5: hf.create_dataset(key, data=arr) for every array
with h5py.File(os.path.join(OUT, "h5", "train.h5"), "w") as hf:
    for k, v in arrays().items():
        hf.create_dataset(k, data=v)
for i, sl in enumerate([slice(0, 5), slice(5, ROWS)]):
    with h5py.File(os.path.join(OUT, "h5", "train_blocks", f"part_{i}.h5"), "w") as hf:
        for k, v in arrays(sl).items():
            hf.create_dataset(k, data=v)
with open(os.path.join(OUT, "h5", "feature_map.json"), "w") as f:
    json.dump(feature_map("golden_h5"), f, indent=4)

# FuxiCTR 2.3 npz: np.savez(path, **{col: array})
np.savez(os.path.join(OUT, "npz", "train.npz"), **arrays())
with open(os.path.join(OUT, "npz", "feature_map.json"), "w") as f:
    json.dump(feature_map("golden_npz"), f, indent=4)

# pretrained embeddings with keys "key" and "value" (FuxiCTR's load_pretrain_emb)
keys = np.array([30, 10, 99, 20], dtype=np.int64)
values = rng.normal(0, 1, (4, 3)).astype(np.float64)
np.savez(os.path.join(OUT, "pretrained", "emb.npz"), key=keys, value=values)
np.savez(os.path.join(OUT, "pretrained", "emb_str.npz"), key=np.array(["b", "a", "zz", "c"]), value=values.astype(np.float32))
with h5py.File(os.path.join(OUT, "pretrained", "emb.h5"), "w") as hf:
    hf.create_dataset("key", data=keys)
    hf.create_dataset("value", data=values)

expected = {
    "rows": ROWS, "user": user.tolist(), "item": item.tolist(), "price": price.tolist(), "hist": seq.tolist(),
    "vec": vec.astype(np.float64).tolist(), "click": label.tolist(),
    "pretrained_keys": keys.tolist(), "pretrained_values": values.tolist(),
}
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
print("wrote", os.path.abspath(OUT))
