#!/usr/bin/env bash
# Run the OFFICIAL FSDNet code (github.com/coder-qiu/FSDNet, bundled FuxiCTR 2.0.1)
# on CPU for one experiment id and seed. Nothing official is copied into this
# repository: the code is extracted into a temporary directory that is removed
# at exit.
#
# usage: run_official.sh OFFICIAL CFG_DIR EXPID SEED LOG [SUMMARY_TSV]
#   OFFICIAL    checkout of the official repo, or its (bare) git dir
#   CFG_DIR     FuxiCTR config dir (dataset_config.yaml + model_config.yaml);
#               it is copied and every `seed:` line set to SEED, the original
#               is left untouched
#   LOG         stdout+stderr of the run
#   SUMMARY_TSV optional; one line is appended:
#               expid seed epochs best_epoch val_auc_list test_auc test_logloss sec_per_epoch
# env: PYTHON (default /usr/bin/python3, needs torch pandas sklearn yaml h5py),
#      THREADS (default 2)
set -euo pipefail
[ $# -ge 5 ] || { sed -n '7,17p' "$0"; exit 2; }
SRC=$1; CFG=$(realpath "$2"); EXPID=$3; SEED=$4; LOG=$5; SUMMARY=${6:-}
PY=${PYTHON:-/usr/bin/python3}; THREADS=${THREADS:-2}

TMP=$(mktemp -d /tmp/fsdnet_official.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# 1. extract the official code (git dir -> git archive, checkout -> cp)
mkdir -p "$TMP/code"
if [ -f "$SRC/HEAD" ] && [ -d "$SRC/objects" ]; then
  git -C "$SRC" archive HEAD | tar -x -C "$TMP/code"
else
  cp -r "$SRC"/. "$TMP/code"; rm -rf "$TMP/code/.git"
fi

# 2. the only patch: FuxiCTR 2.0.1 FeatureProcessor.transform calls
#    normalizer.transform(), but its Normalizer class only defines normalize()
sed -i 's/normalizer\.transform(col_values)/normalizer.normalize(col_values)/' \
  "$TMP/code/fuxictr/preprocess/feature_processor.py"
grep -q 'normalizer.normalize(col_values)' "$TMP/code/fuxictr/preprocess/feature_processor.py"

# 3. config copy with the requested seed
mkdir -p "$TMP/cfg"; cp "$CFG"/*.yaml "$TMP/cfg/"
sed -i -E "s/^([[:space:]]*seed:).*/\1 $SEED/" "$TMP/cfg/model_config.yaml"

# 4. run on CPU with the bundled fuxictr first on the path
mkdir -p "$(dirname "$LOG")"
export PYTHONPATH="$TMP/code${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
echo "torch threads: $("$PY" -c 'import torch; print(torch.get_num_threads())')" > "$LOG"
"$PY" "$TMP/code/FSDNet/run_expid.py" --config "$TMP/cfg" --expid "$EXPID" --gpu -1 >> "$LOG" 2>&1

# 5. parse the FuxiCTR log: per-epoch validation AUC, test metrics, timing
"$PY" - "$LOG" "$EXPID" "$SEED" "$SUMMARY" <<'EOF'
import re, sys, datetime as dt
log, expid, seed, summary = sys.argv[1:5]
lines = open(log, errors="replace").read().replace("\r", "\n").splitlines()
ts = lambda l: dt.datetime.strptime(l[:23], "%Y-%m-%d %H:%M:%S,%f")
val, test, t0, t1, mode = [], None, None, None, None
for l in lines:
    if "Start training" in l: t0 = ts(l)
    if "Evaluation @epoch" in l: mode = "val"
    elif "Test evaluation" in l: mode = "test"
    elif "Validation evaluation" in l: mode = None
    m = re.search(r"\[Metrics\] (.*)", l)
    if m and mode:
        d = dict(kv.split(": ") for kv in m.group(1).split(" - "))
        if mode == "val": val.append(float(d["AUC"])); t1 = ts(l)
        else: test = d
        mode = None
best = max(range(len(val)), key=lambda i: (val[i], -i)) + 1
spe = (t1 - t0).total_seconds() / len(val)
print(f"official {expid} seed {seed}: test AUC {float(test['AUC']):.6f} logloss {float(test['logloss']):.6f}")
if summary:
    with open(summary, "a") as f:
        f.write("\t".join([expid, seed, str(len(val)), str(best), ",".join(f"{v:.6f}" for v in val),
                           f"{float(test['AUC']):.6f}", f"{float(test['logloss']):.6f}", f"{spe:.1f}"]) + "\n")
EOF
