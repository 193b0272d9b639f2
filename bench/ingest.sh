#!/usr/bin/env bash
# Ingest benchmark: FsdNet parse+encode+cache vs pandas read_csv + the same vocabulary encoding, same files, same run.
#   bench/ingest.sh [ROWS]   (default 10000000 synthetic Criteo rows; Frappe from $FSDNET_DATA or ../shared/data)
# Needs: dotnet 10, /usr/bin/python3 with pandas + numpy. Writes only under $WORK (default /tmp/fsdnet-ingest).
# Last line: "ingest ratio vs pandas: <x>" = the smaller of the two throughput ratios (Frappe libFM, Criteo TSV).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
ROWS="${1:-10000000}"
WORK="${WORK:-/tmp/fsdnet-ingest}"
DATA="${FSDNET_DATA:-$(cd "$REPO/.." && pwd)/shared/data}"
PY="${PYTHON:-/usr/bin/python3}"
ART="$WORK/artifacts"
mkdir -p "$WORK"
# The synthetic generator reads the row count; reuse the file when it exists with the same count and seed.
CRITEO="$WORK/criteo_${ROWS}.txt"
if [ ! -s "$CRITEO" ]; then
  (cd "$REPO" && dotnet run tools/synth_criteo.cs -- --rows "$ROWS" --seed 2026 --out "$CRITEO")
fi
dotnet build "$REPO/bench/FsdNet.Bench" -c Release --artifacts-path "$ART" -v q -nologo >/dev/null
BENCH="$ART/bin/FsdNet.Bench/release/FsdNet.Bench"
mkdir -p "$WORK/criteo_root/criteo"
ln -sf "$CRITEO" "$WORK/criteo_root/criteo/train.txt"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%FT%TZ)"
echo "== FsdNet (C#): parse + encode + cache write, best of N; reload = feature map + mmap open + checksum"
"$BENCH" ingest --phase build --preset frappe --data-root "$DATA" --cache "$WORK/cache" --reps 5 > "$WORK/cs_frappe.txt"
"$BENCH" ingest --phase build --preset criteo --data-root "$WORK/criteo_root" --cache "$WORK/cache" --reps 2 > "$WORK/cs_criteo.txt"
"$BENCH" ingest --phase iterate --preset criteo --data-root "$WORK/criteo_root" --cache "$WORK/cache" > "$WORK/cs_iter.txt"
sed 's/^/frappe  /' "$WORK/cs_frappe.txt"; sed 's/^/criteo  /' "$WORK/cs_criteo.txt"; sed 's/^/iterate /' "$WORK/cs_iter.txt"

echo "== pandas: read_csv + the same encoding (min count, fill_na -> OOV, sorted vocab, PAD 0 / OOV n+1), best of N"
"$PY" - "$DATA/frappe/frappe.train.libfm.gz" "$CRITEO" "$WORK/pandas_out" > "$WORK/py.txt" <<'PYEOF'
import sys, time, os
import numpy as np, pandas as pd
frappe, criteo, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)

def encode_values(v, min_count, na):
    """Sorted vocabulary of values with count >= min_count and != na; codes 1..n, OOV n+1."""
    uniq, inv, counts = np.unique(v, return_inverse=True, return_counts=True)
    keep = (counts >= min_count) & (uniq != na)
    lut = np.full(len(uniq), keep.sum() + 1, dtype=np.int32)
    lut[keep] = np.arange(1, keep.sum() + 1, dtype=np.int32)
    return lut[inv], int(keep.sum()) + 2

def encode_categorical(s, min_count):
    """s: pandas categorical; NaN -> fill '' -> OOV; vocab sorted by value."""
    cats = s.cat.categories
    codes = s.cat.codes.to_numpy()
    counts = np.bincount(codes[codes >= 0], minlength=len(cats))
    keep = (counts >= min_count) & (cats != "")
    order = np.argsort(cats[keep].to_numpy().astype(str), kind="stable")
    kept_idx = np.flatnonzero(keep)[order]
    n = len(kept_idx)
    lut = np.full(len(cats) + 1, n + 1, dtype=np.int32)   # last slot: NaN (code -1) -> OOV
    lut[kept_idx] = np.arange(1, n + 1, dtype=np.int32)
    return lut[codes], n + 2

def run_frappe():
    t = time.perf_counter()
    df = pd.read_csv(frappe, sep=" ", header=None, dtype=str, compression="gzip")
    label = df[0].astype(float).to_numpy()
    y = (label == 1).astype(np.float32)
    total = 0
    cols = []
    for c in range(1, 11):
        tok = df[c].str.split(":", n=1).str[0].astype(float).to_numpy()
        codes, vs = encode_values(tok, 2, None)
        cols.append(codes); total += vs
    np.save(os.path.join(out, "frappe.npy"), np.stack(cols, axis=1)); np.save(os.path.join(out, "frappe_y.npy"), y)
    return time.perf_counter() - t, len(df), total

def run_criteo():
    t = time.perf_counter()
    names = ["label"] + [f"I{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, 27)]
    dtypes = {"label": np.float32, **{f"I{i}": np.float64 for i in range(1, 14)}, **{f"C{i}": "category" for i in range(1, 27)}}
    df = pd.read_csv(criteo, sep="\t", header=None, names=names, dtype=dtypes)
    y = df["label"].to_numpy()
    total = 0
    out_cols = []
    for i in range(1, 14):
        v = df[f"I{i}"].fillna(0).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            b = np.where(v > 2, np.floor(np.log(v) ** 2), np.trunc(v))
        codes, vs = encode_values(b, 10, 0.0)
        out_cols.append(codes); total += vs
    for i in range(1, 27):
        codes, vs = encode_categorical(df[f"C{i}"], 10)
        out_cols.append(codes); total += vs
    np.save(os.path.join(out, "criteo.npy"), np.stack(out_cols, axis=1)); np.save(os.path.join(out, "criteo_y.npy"), y)
    return time.perf_counter() - t, len(df), total

best = min(run_frappe() for _ in range(3))
print(f"frappe_s={best[0]:.4f}\nfrappe_rows={best[1]}\nfrappe_total_features={best[2]}")
best = min(run_criteo() for _ in range(1))
print(f"criteo_s={best[0]:.4f}\ncriteo_rows={best[1]}\ncriteo_total_features={best[2]}")
PYEOF
sed 's/^/pandas  /' "$WORK/py.txt"

get() { grep "^$2=" "$1" | cut -d= -f2; }
"$PY" - "$WORK" <<'PYEOF'
import sys, os
w = sys.argv[1]
def kv(f):
    return dict(l.strip().split("=", 1) for l in open(os.path.join(w, f)) if "=" in l)
f, c, it, py = kv("cs_frappe.txt"), kv("cs_criteo.txt"), kv("cs_iter.txt"), kv("py.txt")
assert f["total_features"] == py["frappe_total_features"], ("frappe vocab mismatch", f["total_features"], py["frappe_total_features"])
assert c["total_features"] == py["criteo_total_features"], ("criteo vocab mismatch", c["total_features"], py["criteo_total_features"])
rf = float(py["frappe_s"]) / float(f["parse_encode_s"])
rc = float(py["criteo_s"]) / float(c["parse_encode_s"])
print(f"frappe libFM  : FsdNet {float(f['rows_per_s']):,.0f} rows/s ({f['mb_per_s']} MB/s)  pandas {int(py['frappe_rows'])/float(py['frappe_s']):,.0f} rows/s  ratio {rf:.2f}x  (same total_features {f['total_features']})")
print(f"criteo {int(c['rows']):,} TSV: FsdNet {float(c['rows_per_s']):,.0f} rows/s ({c['mb_per_s']} MB/s)  pandas {int(py['criteo_rows'])/float(py['criteo_s']):,.0f} rows/s  ratio {rc:.2f}x  (same total_features {c['total_features']})")
print(f"cache reload  : frappe {float(f['reload_s'])*1000:.1f} ms vs parse {float(f['parse_encode_s'])*1000:.0f} ms ({float(f['parse_encode_s'])/float(f['reload_s']):.0f}x); criteo {float(c['reload_s'])*1000:.0f} ms vs {float(c['parse_encode_s']):.1f} s ({float(c['parse_encode_s'])/float(c['reload_s']):.0f}x)")
print(f"iterate cache : {int(it['iter_rows']):,} rows shuffled, batch 10000, {it['iter_s']} s, peak RSS {it['peak_rss_mb']} MB (cache {int(c['cache_bytes'])/1e6:,.0f} MB)")
print(f"ingest ratio vs pandas: {min(rf, rc):.2f}")
PYEOF
