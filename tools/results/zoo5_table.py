#!/usr/bin/python3
"""The 5-seed model-zoo tables of docs/RESULTS.md from a grid's results.json (docs/results/zoo_frappe_5seeds.json,
written by `fsdnet experiment --grid bench/paper/zoo_5seeds.yaml --report`):
    python3 tools/results/zoo5_table.py docs/results/zoo_frappe_5seeds.json
Every number is the report's (means, sample standard deviations and Welch p-values over the recorded cells); this adds
the FSD column and the paper's Frappe AUC beside each row.
"""
import json
import math
import sys

PAPER = {"FM": 0.9672, "DNN": 0.9811, "PNN": 0.9828, "WideDeep": 0.9832, "DeepFM": 0.9837, "DCN": 0.9838,
         "xDeepFM": 0.9844, "AutoInt": 0.9841, "DCNv2": 0.9845, "EDCN": 0.9841, "MaskNet": 0.9832, "FSDNet": 0.9856}


def num(v):
    return float("nan") if v in (None, "NaN") else float(v)


def p(v):
    v = num(v)
    return "–" if math.isnan(v) else ("%.2g" % v if v >= 1e-4 else "%.1e" % v)


def pm(mean, std, n, digits):
    s = num(std)
    return ("%.*f ± %.*f" % (digits, mean, digits, s)) if n > 1 and not math.isnan(s) else "%.*f" % (digits, mean)


def main(path):
    d = json.load(open(path, encoding="utf-8"))
    ref = d["reference"]
    print("| experiment | model | FSD | n | test AUC | test logloss | best epoch | p (AUC) vs %s | p (logloss) | paper AUC |"
          % ref)
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in d["rows"]:
        fsd = r["Row"] != r["Row"].replace("_fsd_", "_") or r["Model"] == "FSDNet"
        name = "**%s** (reference)" % r["Row"] if r.get("IsReference") else r["Row"]
        paper = PAPER.get(r["Model"]) if (not fsd or r["Model"] == "FSDNet") else None
        print("| %s | %s | %s | %d | %s | %s | %.1f | %s | %s | %s |" % (
            name, r["Model"], "on" if fsd else "off", r["N"], pm(r["AucMean"], r["AucStd"], r["N"], 5),
            pm(r["LoglossMean"], r["LoglossStd"], r["N"], 4), r["BestEpochMean"], p(r["PAuc"]), p(r["PLogloss"]),
            "%.4f" % paper if paper else "–"))
    print()
    print("| model | n off / on | AUC gain (on - off) | p (AUC) | logloss gain (on - off) | p (logloss) |")
    print("|---|---|---|---|---|---|")
    for g in d["gains"]:
        print("| %s | %d / %d | %+.5f | %s | %+.4f | %s |" % (
            g["Base"].replace("_frappe", ""), g["NBase"], g["NTreatment"], g["AucGain"], p(g["PAuc"]),
            g["LoglossGain"], p(g["PLogloss"])))


if __name__ == "__main__":
    main(sys.argv[1])
