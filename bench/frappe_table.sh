#!/usr/bin/env bash
# Issue 9's Frappe tables, regenerated with `fsdnet experiment` (resumable: rerun to finish an interrupted table; finished
# cells are reused, an interrupted cell resumes from its checkpoint):
#   1. bench/paper/ablation.yaml   FSDNet choice 2 / 0 / 1, no self-distillation, DCNv2 one head; 5 seeds
#   2. bench/paper/mu_sweep.yaml   loss_coefficient 0.1 .. 0.9; 3 seeds      (results_sweep_loss_coefficient.png)
#   3. bench/paper/tau_sweep.yaml  Temp 1, 1.3, 2, 3, 5; 3 seeds            (results_sweep_Temp.png)
#   4. bench/paper/zoo_5seeds.yaml every zoo model, FSD on/off; 5 seeds, p-values against FSDNet
# Each grid writes results.{csv,json,md} and its figures in runs/grids/<grid>/. GRIDS="ablation mu_sweep" runs a subset.
#   THREADS=2  CACHE_DIR=runs/zoo/.cache (never under ../shared)  FSDNET_DATA=<folder holding frappe/>
# Last line: "FSDNet mean test AUC <x> over <n> seeds" (the published configuration's row of the ablation grid).
set -euo pipefail
cd "$(dirname "$0")/.."
artifacts="${FRAPPE_TABLE_ARTIFACTS:-/tmp/art-frappe-table}"
dotnet build src/FsdNet.Cli -c Release --artifacts-path "$artifacts" -nologo -v quiet >&2
data=()
if [ -n "${FSDNET_DATA:-}" ]; then data=(--data-root "$FSDNET_DATA"); fi
for g in ${GRIDS:-ablation mu_sweep tau_sweep zoo_5seeds}; do
  echo "== grid bench/paper/$g.yaml" >&2
  dotnet "$artifacts/bin/FsdNet.Cli/release/FsdNet.Cli.dll" experiment --grid "bench/paper/$g.yaml" \
    --threads "${THREADS:-2}" --cache-dir "${CACHE_DIR:-runs/zoo/.cache}" "${data[@]}" >&2
done
# The last line comes from the ablation grid's finished cells (run now or recorded in docs/results/cells), so it holds
# when GRIDS leaves the ablation out.
dotnet "$artifacts/bin/FsdNet.Cli/release/FsdNet.Cli.dll" experiment --grid bench/paper/ablation.yaml --report "${data[@]}" >&2
/usr/bin/python3 - runs/grids/fsdnet_ablation_frappe/results.csv <<'PY'
import csv, os, sys
path = sys.argv[1]
rows = [r for r in csv.DictReader(open(path))] if os.path.exists(path) else []
auc = [float(r["test_auc"]) for r in rows if r["expid"] == "FSDNet_frappe" and not r["setting"]]
if not auc:
    sys.exit("no finished FSDNet_frappe cell in " + path)
print("FSDNet mean test AUC %.6f over %d seeds" % (sum(auc) / len(auc), len(auc)))
PY
