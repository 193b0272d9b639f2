#!/usr/bin/python3
"""Writes Frappe as FuxiCTR 2.0.1 prepares it (h5 + feature_map.json), with FuxiCTR's own code, so that the official
FSDNet config directory can be run unchanged:

    /usr/bin/python3 tools/fuxictr_h5/make_frappe_h5.py <FSDNet checkout> <frappe libFM folder> <out data root>

<FSDNet checkout> is the official repository (coder-qiu/FSDNet, which bundles FuxiCTR 2.0.1); the libFM folder holds
frappe.{train,validation,test}.libfm.gz (../shared/data/frappe). The libFM files are turned into CSVs with the ten
Frappe fields (each value is the libFM feature index of that field), then FuxiCTR's FeatureProcessor and
build_dataset fit and encode them with the feature_cols of the official dataset_config.yaml entry Frappe_x1_h5
(min_categr_count 2). Output: <out>/Frappe_x1_h5/{train,valid,test}.h5 and feature_map.json. Nothing is written
into either input folder.
"""

import gzip
import logging
import os
import sys

import yaml

FIELDS = ["user", "item", "daytime", "weekday", "isweekend", "homework", "cost", "weather", "country", "city"]


def to_csv(src, dst):
    with gzip.open(src, "rt") as fin, open(dst, "w") as fout:
        fout.write("label," + ",".join(FIELDS) + "\n")
        for line in fin:
            parts = line.split()
            label = "1" if float(parts[0]) > 0 else "0"
            idx = [p.split(":")[0] for p in parts[1:]]
            fout.write(label + "," + ",".join(idx) + "\n")


def main():
    repo, libfm, out = sys.argv[1:4]
    sys.path.insert(0, repo)
    from fuxictr.preprocess import FeatureProcessor, build_dataset  # the official repo's FuxiCTR 2.0.1

    logging.basicConfig(level=logging.INFO)
    with open(os.path.join(repo, "FSDNet", "config", "dataset_config.yaml")) as fh:
        cfg = yaml.safe_load(fh)["Frappe_x1_h5"]
    csv_dir = os.path.join(out, "_frappe_csv")
    os.makedirs(csv_dir, exist_ok=True)
    paths = {}
    for split, name in [("train", "train"), ("valid", "validation"), ("test", "test")]:
        paths[split] = os.path.join(csv_dir, split + ".csv")
        to_csv(os.path.join(libfm, "frappe.%s.libfm.gz" % name), paths[split])
    params = dict(cfg)
    params.update(dataset_id="Frappe_x1_h5", data_root=out, data_format="csv",
                  train_data=paths["train"], valid_data=paths["valid"], test_data=paths["test"])
    encoder = FeatureProcessor(**params)
    build_dataset(encoder, **params)
    print("wrote", os.path.join(out, "Frappe_x1_h5"))


if __name__ == "__main__":
    main()
