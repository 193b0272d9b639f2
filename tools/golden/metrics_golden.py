#!/usr/bin/python3
"""Generate sklearn reference values for FsdNet's evaluation metrics.

Run from the repository root with the Debian python (it has sklearn):

    /usr/bin/python3 tools/golden/metrics_golden.py

Writes tests/FsdNet.Tests/Golden/metrics/metrics.json (deterministic: fixed
numpy seeds, re-running gives a byte-identical file).

Scores are float32-representable values written as the float64 repr of the
float32 value, so parsing as float or double gives the same number. All
metrics are computed in float64.
"""

import json
import math
import os

import numpy as np
import sklearn
from sklearn.metrics import log_loss, roc_auc_score

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO, "tests", "FsdNet.Tests", "Golden", "metrics")
CLIP = 1e-7

DESCRIPTION = (
    "Reference values from scikit-learn for binary classification metrics. "
    "auc = sklearn.metrics.roc_auc_score(labels, scores) (ties count 1/2, i.e. trapezoidal ROC); "
    "auc is null and auc_defined is false when labels contain only one class. "
    "logloss = -mean(y*log(p) + (1-y)*log(1-p)) with p = clip(score, 1e-7, 1-1e-7), computed "
    "explicitly in float64; logloss_sklearn = sklearn.metrics.log_loss(labels, p_clipped, "
    "labels=[0,1]) (same value up to rounding). "
    "gauc = sum_g n_g * AUC_g / sum_g n_g over the groups g whose labels contain both classes, "
    "where n_g = number of samples in group g and AUC_g = roc_auc_score on that group's samples; "
    "groups with a single class are skipped (listed in gauc_skipped_groups); gauc is null and "
    "gauc_defined is false when no group has both classes. per_group lists each group's id, "
    "size n, positives, and auc (null if single-class)."
)


def f32(a):
    """Round to float32 and return float64 values exactly equal to those float32s."""
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def explicit_logloss(y, s):
    p = np.clip(s, CLIP, 1.0 - CLIP)
    return float(-np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p)))


def sklearn_logloss(y, s):
    p = np.clip(s, CLIP, 1.0 - CLIP)
    return float(log_loss(y, p, labels=[0, 1]))


def safe_auc(y, s):
    if len(np.unique(y)) < 2:
        return None
    return float(roc_auc_score(y, s))


def gauc(y, s, g):
    per_group = []
    num = 0.0
    den = 0
    skipped = []
    for gid in sorted(set(int(v) for v in g)):
        mask = g == gid
        yg, sg = y[mask], s[mask]
        a = safe_auc(yg, sg)
        per_group.append({"group": gid, "n": int(mask.sum()), "positives": int(yg.sum()), "auc": a})
        if a is None:
            skipped.append(gid)
            continue
        num += mask.sum() * a
        den += int(mask.sum())
    value = None if den == 0 else float(num / den)
    return value, skipped, per_group


def make_case(name, note, labels, scores, groups):
    y = np.asarray(labels, dtype=np.int64)
    s = f32(scores)
    g = np.asarray(groups, dtype=np.int64)
    assert y.shape == s.shape == g.shape
    auc = safe_auc(y, s)
    ga, skipped, per_group = gauc(y, s, g)
    return {
        "name": name,
        "note": note,
        "n": int(y.size),
        "labels": [int(v) for v in y],
        "scores": [float(v) for v in s],
        "groups": [int(v) for v in g],
        "auc_defined": auc is not None,
        "auc": auc,
        "logloss": explicit_logloss(y, s),
        "logloss_sklearn": sklearn_logloss(y, s),
        "gauc_defined": ga is not None,
        "gauc": ga,
        "gauc_skipped_groups": skipped,
        "per_group": per_group,
    }


def build_cases():
    cases = []

    # 1. random continuous scores, labels correlated with the scores
    rng = np.random.RandomState(1)
    n = 120
    z = rng.randn(n)
    y = (z + 1.2 * rng.randn(n) > 0.3).astype(np.int64)
    s = 1.0 / (1.0 + np.exp(-z))
    g = rng.randint(0, 8, size=n)
    cases.append(make_case("random", "continuous sigmoid scores, no ties, 8 groups", y, s, g))

    # 2. many ties: scores from 5 distinct values
    rng = np.random.RandomState(2)
    n = 100
    levels = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    lv = rng.randint(0, 5, size=n)
    y = (rng.rand(n) < levels[lv]).astype(np.int64)
    s = levels[lv]
    g = rng.randint(0, 6, size=n)
    cases.append(make_case("ties", "only 5 distinct score values (heavy ties across classes)", y, s, g))

    # 3. rounded scores (2 decimals) incl. exact 0 and 1 to exercise logloss clipping;
    #    some groups are single-class and must be skipped by gAUC
    rng = np.random.RandomState(3)
    n = 100
    z = rng.randn(n) * 2.0
    s = np.round(1.0 / (1.0 + np.exp(-z)), 2)
    s[:4] = [0.0, 1.0, 0.0, 1.0]
    y = (rng.rand(n) < s * 0.8 + 0.1).astype(np.int64)
    y[:4] = [0, 1, 1, 0]  # two confident-right, two confident-wrong at the clip bounds
    g = rng.randint(0, 10, size=n)
    # force group 10 all-positive and group 11 all-negative
    g[90:95] = 10
    y[90:95] = 1
    g[95:100] = 11
    y[95:100] = 0
    cases.append(make_case(
        "rounded",
        "scores rounded to 2 decimals (ties), includes exact 0.0 and 1.0 (clipped to 1e-7 / 1-1e-7 "
        "for logloss, two of them mislabelled); groups 10 (all positive) and 11 (all negative) are "
        "single-class and skipped by gAUC", y, s, g))

    # 4. all one class -> AUC and gAUC undefined
    rng = np.random.RandomState(4)
    n = 30
    s = rng.rand(n)
    y = np.ones(n, dtype=np.int64)
    g = rng.randint(0, 3, size=n)
    cases.append(make_case("all_positive", "all labels 1: AUC and gAUC undefined (null)", y, s, g))

    # 5. small hand-checkable case
    y = np.array([0, 0, 1, 1, 0, 1, 1, 0])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.5, 0.5, 0.9, 0.2])
    g = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    cases.append(make_case("small", "8 samples, 2 groups, one tie across classes in group 1", y, s, g))

    return cases


def main():
    doc = {
        "description": DESCRIPTION,
        "sklearn": sklearn.__version__,
        "logloss_clip": CLIP,
        "cases": build_cases(),
    }
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, "metrics.json")
    text = json.dumps(doc, indent=None, separators=(",", ":"), ensure_ascii=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
        fh.write("\n")
    for c in doc["cases"]:
        print("%-13s n=%3d auc=%s logloss=%.10f sk=%.10f gauc=%s skipped=%s" % (
            c["name"], c["n"], c["auc"], c["logloss"], c["logloss_sklearn"], c["gauc"],
            c["gauc_skipped_groups"]))
        assert math.isclose(c["logloss"], c["logloss_sklearn"], rel_tol=1e-12, abs_tol=1e-12)
    size = os.path.getsize(path)
    print("%s %d bytes" % (path, size))
    if size > 50 * 1024:
        raise SystemExit("metrics golden file too large")


if __name__ == "__main__":
    main()
