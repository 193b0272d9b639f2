#!/usr/bin/python3
"""scipy reference values for FsdNet's experiment statistics (src/FsdNet/Metrics/Statistics.cs).

    /usr/bin/python3 tools/golden/stats_golden.py

Writes tests/FsdNet.Tests/Golden/metrics/stats.json:
- welch: two samples a, b (lists of floats, like test AUCs over seeds); mean and sample std (ddof 1) of each;
  scipy.stats.ttest_ind(a, b, equal_var=False): t and the two-sided p-value; df is the Welch-Satterthwaite
  degrees of freedom (v1 + v2)^2 / (v1^2 / (n1 - 1) + v2^2 / (n2 - 1)) with vi = var_i / n_i.
- t_sf: scipy.stats.t.sf(t, df) (the upper tail of Student's t) for a spread of t and (non-integer) df.
- betainc: scipy.special.betainc(a, b, x), the regularised incomplete beta function.
"""

import json
import os

import numpy as np
import scipy
from scipy import special, stats

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "tests", "FsdNet.Tests", "Golden", "metrics", "stats.json")


def welch_case(name, a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    r = stats.ttest_ind(a, b, equal_var=False)
    v1, v2 = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (v1 + v2) ** 2 / (v1 ** 2 / (len(a) - 1) + v2 ** 2 / (len(b) - 1))
    return {"name": name, "a": a.tolist(), "b": b.tolist(), "mean_a": a.mean(), "mean_b": b.mean(),
            "std_a": a.std(ddof=1), "std_b": b.std(ddof=1), "t": float(r.statistic), "p": float(r.pvalue), "df": df}


def main():
    rng = np.random.default_rng(2411)
    cases = [
        # the paper-style comparison: 5 seeds of test AUC each
        welch_case("fsdnet_vs_dcnv2", [0.98482, 0.98298, 0.98418, 0.98357, 0.98401], [0.98353, 0.98310, 0.98290, 0.98402, 0.98331]),
        welch_case("unequal_n_and_var", [0.5, 0.61, 0.55], [0.52, 0.4, 0.7, 0.66, 0.3, 0.45]),
        welch_case("far_apart", [0.9, 0.91, 0.905, 0.899], [0.8, 0.81, 0.79, 0.805]),
        welch_case("identical_means", [1.0, 2.0, 3.0], [2.0, 1.0, 3.0]),
        welch_case("two_each", [0.1, 0.3], [0.25, 0.27]),
    ]
    for k in range(6):
        n1, n2 = int(rng.integers(2, 9)), int(rng.integers(2, 9))
        a = rng.normal(0.98, 0.001 * (k + 1), n1)
        b = rng.normal(0.98 + 0.0007 * k, 0.0008, n2)
        cases.append(welch_case("random_%d" % k, a, b))
    t_sf = []
    for df in [1.0, 2.0, 2.7, 4.0, 7.3, 12.0, 30.5, 150.0]:
        for t in [0.0, 0.3, 1.0, 2.2, 4.5, 9.0, 40.0, -1.5]:
            t_sf.append({"t": t, "df": df, "sf": float(stats.t.sf(t, df))})
    betainc = []
    for a, b in [(0.5, 0.5), (1.0, 3.0), (2.5, 0.5), (10.0, 0.5), (0.5, 40.0), (75.0, 0.5)]:
        for x in [0.0, 0.001, 0.1, 0.37, 0.5, 0.8, 0.999, 1.0]:
            betainc.append({"a": a, "b": b, "x": x, "value": float(special.betainc(a, b, x))})
    doc = {"scipy": scipy.__version__, "description": __doc__.strip(), "welch": cases, "t_sf": t_sf, "betainc": betainc}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(doc, fh, indent=1, default=float)
        fh.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
