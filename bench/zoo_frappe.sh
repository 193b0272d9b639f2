#!/usr/bin/env bash
# One seed (2023) of every zoo model on Frappe, FSD variants included: `fsdnet experiment` on the grid
# bench/zoo/frappe_one_seed.yaml (experiments of bench/zoo/model_config.yaml). Resumable: rerun after an interruption
# (finished cells are reused, an interrupted one resumes from its checkpoint). Results:
# runs/grids/zoo_frappe_one_seed/results.{md,csv,json}; each cell is a run directory under cells/.
#   THREADS=2  CACHE_DIR=runs/zoo/.cache (encoded-data cache; never under ../shared)  FSDNET_DATA=<folder holding frappe/>
# Extra arguments go to `fsdnet experiment` (e.g. --list).
set -euo pipefail
cd "$(dirname "$0")/.."
artifacts="${ZOO_FRAPPE_ARTIFACTS:-/tmp/art-zoo-frappe}"
dotnet build src/FsdNet.Cli -c Release --artifacts-path "$artifacts" -nologo -v quiet >&2
data=()
if [ -n "${FSDNET_DATA:-}" ]; then data=(--data-root "$FSDNET_DATA"); fi
exec dotnet "$artifacts/bin/FsdNet.Cli/release/FsdNet.Cli.dll" experiment --grid bench/zoo/frappe_one_seed.yaml \
  --threads "${THREADS:-2}" --cache-dir "${CACHE_DIR:-runs/zoo/.cache}" "${data[@]}" "$@"
