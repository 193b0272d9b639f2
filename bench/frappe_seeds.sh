#!/usr/bin/env bash
# Reproduction on Frappe: `fsdnet train --dataset frappe --seed <s>` for seeds 2023..2027 (override with SEEDS="..."),
# each run to early stopping with the official Frappe configuration, then a Markdown table of the per-seed test
# metrics with mean +/- std (population std over the seeds), ready for docs/RESULTS.md.
# RANKS=2 trains each seed data-parallel under `mpirun -np 2` (Open MPI; THREADS then defaults to 1 per rank).
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${SEEDS:-2023 2024 2025 2026 2027}"
ranks="${RANKS:-1}"
launch=()
if [ "$ranks" -gt 1 ]; then
  command -v mpirun >/dev/null || { echo "RANKS=$ranks needs Open MPI: apt-get install openmpi-bin" >&2; exit 1; }
  launch=(mpirun -np "$ranks" --bind-to none)
  [ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
threads="${THREADS:-$(( ranks > 1 ? 1 : 2 ))}"
runs="${RUNS:-runs/frappe-seeds}"
artifacts="${SEEDS_ARTIFACTS:-/tmp/art-frappe-seeds}"
dotnet build src/FsdNet.Cli -c Release --artifacts-path "$artifacts" -nologo -v quiet >&2
mkdir -p "$runs"
for s in $seeds; do
  dir="$runs/seed$s"
  resume=""
  [ -f "$dir/checkpoint.fsdc" ] && resume="--resume"
  if [ ! -f "$dir/test_metrics.json" ]; then
    start=$(date +%s)
    "${launch[@]}" dotnet "$artifacts/bin/FsdNet.Cli/release/FsdNet.Cli.dll" train --dataset frappe --seed "$s" --threads "$threads" \
      --run-dir "$dir" $resume | tail -n 1
    echo "seed $s: $(( $(date +%s) - start )) s" >&2
  fi
done
python3 - "$runs" $seeds <<'PY'
import json, statistics, sys, csv, os
root, seeds = sys.argv[1], sys.argv[2:]
rows = []
for s in seeds:
    d = os.path.join(root, f"seed{s}")
    t = json.load(open(os.path.join(d, "test_metrics.json")))
    hist = list(csv.DictReader(open(os.path.join(d, "metrics.csv"))))
    best = max(hist, key=lambda r: float(r["monitor"]))
    secs = sum(float(r["train_seconds"]) for r in hist)
    rows.append((s, t["AUC"], t["logloss"], len(hist), int(best["epoch"]), float(best["AUC"]), secs / len(hist)))
print("| seed | test AUC | test logloss | epochs run | best epoch | valid AUC at best | train s/epoch |")
print("|---|---|---|---|---|---|---|")
for s, auc, ll, n, be, vauc, spe in rows:
    print(f"| {s} | {auc:.5f} | {ll:.4f} | {n} | {be} | {vauc:.5f} | {spe:.1f} |")
aucs = [r[1] for r in rows]; lls = [r[2] for r in rows]
sd = (lambda v: statistics.pstdev(v)) if len(rows) > 1 else (lambda v: 0.0)
print(f"| **mean ± std** | **{statistics.mean(aucs):.5f} ± {sd(aucs):.5f}** | **{statistics.mean(lls):.4f} ± {sd(lls):.4f}** | | | | |")
PY
