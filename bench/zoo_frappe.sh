#!/usr/bin/env bash
# One-seed Frappe runs of the model zoo: every experiment of bench/zoo/model_config.yaml whose model is registered in
# FsdNet, each as `fsdnet train --config bench/zoo --expid X --seed SEED --run-dir RUNS/X --cache-dir CACHE`, one
# after the other; then a Markdown table (experiment, model, fsd, test AUC, test logloss, best epoch, epochs run,
# train s/epoch) gathered from the run directories. Resumable: a finished run (test_metrics.json present) is skipped,
# an interrupted one (checkpoint.fsdc, no test_metrics.json) continues with --resume; so rerun the script after an
# interruption. Experiments of models not registered yet are listed as skipped.
#   EXPIDS="LR_frappe DCN_fsd_frappe"  only these experiments
#   SEED=2023 THREADS=2 RUNS=runs/zoo CACHE_DIR=runs/zoo/.cache (encoded-data cache; not under ../shared)
#   EPOCHS=N                           pass --epochs N (quick checks; use another RUNS then, or the short runs count
#                                      as finished)
#   TABLE_ONLY=1                       print the table of what is in RUNS, train nothing
# Data: ../shared/data/frappe, or $FSDNET_DATA/frappe.
set -euo pipefail
cd "$(dirname "$0")/.."
seed="${SEED:-2023}"
threads="${THREADS:-2}"
runs="${RUNS:-runs/zoo}"
cache="${CACHE_DIR:-$runs/.cache}"
root="$(realpath "${FSDNET_DATA:-../shared/data}")"
artifacts="${ZOO_FRAPPE_ARTIFACTS:-/tmp/art-zoo-frappe}"
mkdir -p "$runs" "$cache"
all_ids="$(/usr/bin/python3 -c 'import yaml; print(" ".join(k for k in yaml.safe_load(open("bench/zoo/model_config.yaml")) if k != "Base"))')"
ids="${EXPIDS:-$all_ids}"
if [ -z "${TABLE_ONLY:-}" ]; then
  [ -d "$root/frappe" ] || { echo "Frappe is not at $root/frappe (set FSDNET_DATA to the folder holding frappe/)" >&2; exit 2; }
  dotnet build src/FsdNet.Cli -c Release --artifacts-path "$artifacts" -nologo -v quiet >&2
  dotnet build bench/FsdNet.Bench -c Release --artifacts-path "$artifacts" -nologo -v quiet >&2
  registered=" $(dotnet "$artifacts/bin/FsdNet.Bench/release/FsdNet.Bench.dll" models | cut -d' ' -f1 | tr '\n' ' ') "
  fsdnet=(dotnet "$artifacts/bin/FsdNet.Cli/release/FsdNet.Cli.dll")
  epochs=(); [ -n "${EPOCHS:-}" ] && epochs=(--epochs "$EPOCHS")
  for id in $ids; do
    model="$(/usr/bin/python3 -c 'import sys, yaml; print(yaml.safe_load(open("bench/zoo/model_config.yaml"))[sys.argv[1]]["model"])' "$id")"
    dir="$runs/$id"
    if [[ "$registered" != *" $model "* ]]; then echo "== $id: skipped ($model is not registered in FsdNet)"; continue; fi
    if [ -f "$dir/test_metrics.json" ]; then echo "== $id: done ($dir/test_metrics.json)"; continue; fi
    resume=(); [ -f "$dir/checkpoint.fsdc" ] && resume=(--resume)
    echo "== $id ($model, seed $seed${resume:+, resuming})"
    "${fsdnet[@]}" train --config bench/zoo --expid "$id" --seed "$seed" --threads "$threads" --data-root "$root" \
      --run-dir "$dir" --cache-dir "$cache" --progress plain "${epochs[@]}" "${resume[@]}" \
      || echo "== $id: FAILED (exit $?; rerun the script to resume it)"
  done
fi
/usr/bin/python3 - "$runs" $ids <<'PY'
import json, os, sys
import yaml
runs, ids = sys.argv[1], sys.argv[2:]
blocks = yaml.safe_load(open("bench/zoo/model_config.yaml"))
print()
print("| experiment | model | fsd | test AUC | test logloss | best epoch | epochs run | train s/epoch |")
print("|---|---|---|---|---|---|---|---|")
for e in ids:
    b = blocks[e]
    d = os.path.join(runs, e)
    fsd = "yes" if b.get("fsd") or b["model"] == "FSDNet" else "no"
    cells = ["—"] * 5
    if os.path.exists(os.path.join(d, "metrics.json")):
        hist = json.load(open(os.path.join(d, "metrics.json")))
        hist = hist.get("rows", hist) if isinstance(hist, dict) else hist
        train = [r["train_seconds"] for r in hist if r.get("train_seconds") is not None]
        best = [r["epoch"] for r in hist if r.get("improved")]
        cells[2] = str(best[-1]) if best else "—"
        cells[3] = str(max((r["epoch"] for r in hist), default=0))
        cells[4] = "%.2f" % (sum(train) / len(train)) if train else "—"
    if os.path.exists(os.path.join(d, "test_metrics.json")):
        t = json.load(open(os.path.join(d, "test_metrics.json")))
        cells[0], cells[1] = "%.6f" % t["AUC"], "%.6f" % t["logloss"]
    elif os.path.isdir(d):
        cells[0] = "(unfinished)"
    print("| %s | %s | %s | %s |" % (e, b["model"], fsd, " | ".join(cells)))
PY
