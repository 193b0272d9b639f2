#!/usr/bin/python3
"""Encoding parity with FuxiCTR 2.0.1 (the version the official FSDNet code bundles): writes a small raw CSV data set
with every encoding rule in play, encodes it with FuxiCTR's own FeatureProcessor and build_dataset, and stores the
CSVs, the config and FuxiCTR's encoded arrays in tests/FsdNet.Tests/Golden/fuxictr_encoding/ (FsdNet's test encodes
the same CSVs and must produce the same arrays; no Python in CI).

    /usr/bin/python3 tools/fuxictr_encoding/make_golden.py <official FSDNet checkout or its git dir>

The rules covered: categorical vocabulary from train only, min_categr_count 2 (rare tokens -> OOV), unseen tokens ->
OOV, missing -> fill_na; numeric with StandardScaler and MinMaxScaler (fitted on train), fill_na, numbers written as
1, 1.0, 1e0, 0.5e1; sequences split by ^, max_len (longer ones cut), post and pre padding, empty sequences, unseen
tokens. The checkout is extracted to a temporary folder and patched there only (FuxiCTR 2.0.1 calls
normalizer.transform, which its Normalizer lacks: normalize), as tools/numeric_repro/run_official.sh does.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "FsdNet.Tests", "Golden", "fuxictr_encoding")
DATASET = """enc:
    data_root: {root}
    data_format: csv
    train_data: {csv}/train.csv
    valid_data: {csv}/valid.csv
    test_data: {csv}/test.csv
    min_categr_count: 2
    feature_cols:
    -   {{name: [u, c], active: true, dtype: str, type: categorical}}
    -   {{name: price, active: true, dtype: float, type: numeric, normalizer: StandardScaler, fill_na: 50}}
    -   {{name: ratio, active: true, dtype: float, type: numeric, normalizer: MinMaxScaler, fill_na: 0}}
    -   {{name: hist, active: true, dtype: str, type: sequence, splitter: ^, max_len: 4, padding: post}}
    -   {{name: recent, active: true, dtype: str, type: sequence, splitter: ^, max_len: 3, padding: pre}}
    label_col: {{name: label, dtype: float}}
"""
NUMBER_FORMS = [lambda v: f"{v:.3f}", lambda v: f"{v:.6e}", lambda v: str(int(v)) if v == int(v) else f"{v}"]


def rows(rng, n, unseen):
    out = []
    for _ in range(n):
        u = f"u{rng.randrange(25 if not unseen else 30)}"                 # u25..u29 never in train
        c = "" if rng.random() < 0.05 else f"c{rng.randrange(4)}"
        price = "" if rng.random() < 0.1 else rng.choice(NUMBER_FORMS)(round(rng.lognormvariate(4, 0.7), 2))
        ratio = rng.choice(["1", "1.0", "1e0", "0.5e1", "0", f"{rng.random() * 3:.4f}"])
        hist = "^".join(f"i{rng.randrange(12 if not unseen else 15)}" for _ in range(rng.randrange(7)))
        recent = "^".join(f"i{rng.randrange(12)}" for _ in range(rng.randrange(6)))
        out.append(f"{rng.randrange(2)},{u},{c},{price},{ratio},{hist},{recent}")
    return out


def main():
    src = sys.argv[1]
    rng = random.Random(20261206)
    os.makedirs(OUT, exist_ok=True)
    for split, n in (("train", 120), ("valid", 40), ("test", 40)):
        with open(os.path.join(OUT, split + ".csv"), "w") as f:
            f.write("label,u,c,price,ratio,hist,recent\n" + "\n".join(rows(rng, n, split != "train")) + "\n")
    tmp = tempfile.mkdtemp()
    try:
        code = os.path.join(tmp, "code")
        os.makedirs(code)
        if os.path.isdir(os.path.join(src, "objects")):
            subprocess.run(f"git -C {src} archive HEAD | tar -x -C {code}", shell=True, check=True)
        else:
            shutil.copytree(src, code, dirs_exist_ok=True)
        fp = os.path.join(code, "fuxictr", "preprocess", "feature_processor.py")
        text = open(fp).read().replace("normalizer.transform(col_values)", "normalizer.normalize(col_values)")
        open(fp, "w").write(text)
        sys.path.insert(0, code)
        import h5py
        import yaml
        from fuxictr.preprocess import FeatureProcessor, build_dataset
        cfg = yaml.safe_load(DATASET.format(root=tmp, csv=OUT))["enc"]
        with open(os.path.join(OUT, "dataset_config.yaml"), "w") as f:
            f.write(DATASET.format(root=".", csv="."))
        proc = FeatureProcessor(dataset_id="enc", **cfg)
        paths = build_dataset(proc, **cfg)
        doc = {"fuxictr": "2.0.1 (bundled with coder-qiu/FSDNet)", "splits": {}}
        features = json.load(open(os.path.join(tmp, "enc", "feature_map.json")))["features"]
        doc["features"] = features
        for split, path in zip(("train", "valid", "test"), paths):
            with h5py.File(path, "r") as h:
                doc["splits"][split] = {k: h[k][:].tolist() for k in h.keys()}
        with open(os.path.join(OUT, "expected.json"), "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        print("wrote", OUT)
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
