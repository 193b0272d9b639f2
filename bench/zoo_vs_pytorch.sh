#!/usr/bin/env bash
# The model zoo against its PyTorch mirrors: for each model, trains EPOCHS epochs (default 2) of its <Model>_frappe
# experiment (bench/zoo/model_config.yaml) with FsdNet (FsdNet.Bench train --config bench/zoo --expid ...), then the
# same epochs with its mirror (tools/zoo_torch/train_zoo.py, tools/zoo_torch/mirrors/<Model>.py), THREADS threads
# each (default 2), one after the other in this invocation, on ../shared/data/frappe (or $FSDNET_DATA/frappe).
#   MODELS="DNN DeepFM"      restrict to these models (default: every <Model>_frappe experiment whose model is
#                            registered in FsdNet and has a mirror)
#   EXPIDS="DCN_fsd_frappe"  run these experiments instead (any id of bench/zoo/model_config.yaml)
#   BATCH_SIZE=10000         batch size of both sides (default 10000, the bench target; "config": the experiment's)
#   EPOCHS=2 THREADS=2 ALLOC_STEPS=20 (steady-state allocation measured over that many FsdNet steps)
# Prints per model: train s/epoch of both and the ratio (PyTorch / FsdNet), FsdNet's epoch against its fp32 floor
# (FsdNet.Bench train --profile: matrix-product FLOPs of an epoch over the best Sgemm rate measured on the model's
# largest layer), peak RSS of both, FsdNet's steady-state managed allocation per step; last line "zoo min train speedup vs pytorch: <x>" (the smallest ratio).
# OpenBLAS: on an AVX-512 CPU (avx512f in /proc/cpuinfo) the PyTorch command alone runs with
# OPENBLAS_CORETYPE=SkylakeX and OPENBLAS_L2_SIZE unset (as bench/gemm.sh; Debian's OpenBLAS falls back to SSE3
# kernels on CPUs it does not know); otherwise the environment is left as it is (on AVX2 its Haswell kernels are its
# best). The BLAS library and OpenBLAS core torch actually loaded are printed for every model.
# Needs Debian's python3-torch, python3-sklearn, python3-yaml (apt-get install python3-torch python3-sklearn python3-yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${EPOCHS:-2}"
threads="${THREADS:-2}"
batch="${BATCH_SIZE:-10000}"
alloc_steps="${ALLOC_STEPS:-20}"
root="$(realpath "${FSDNET_DATA:-../shared/data}")"
[ -d "$root/frappe" ] || { echo "Frappe is not at $root/frappe (set FSDNET_DATA to the folder holding frappe/)" >&2; exit 2; }
/usr/bin/python3 -c "import torch, sklearn, yaml" 2>/dev/null || { echo "PyTorch side needs: apt-get install python3-torch python3-sklearn python3-yaml" >&2; exit 2; }
artifacts="${ZOO_BENCH_ARTIFACTS:-/tmp/art-zoo-bench}"
out="$(mktemp -d)"
dotnet build bench/FsdNet.Bench -c Release --artifacts-path "$artifacts" -nologo -v quiet >&2
bench=(dotnet "$artifacts/bin/FsdNet.Bench/release/FsdNet.Bench.dll")
"${bench[@]}" models | cut -d' ' -f1 > "$out/registered"
source bench/rival_blas.sh
if [ -n "${EXPIDS:-}" ]; then
  expids="$EXPIDS"
else
  expids="$(/usr/bin/python3 - "$out/registered" "${MODELS:-}" <<'PY'
import os, sys, yaml
registered = set(open(sys.argv[1]).read().split())
wanted = sys.argv[2].split()
blocks = yaml.safe_load(open("bench/zoo/model_config.yaml"))
mirrors = {f[:-3] for f in os.listdir("tools/zoo_torch/mirrors") if f.endswith(".py")}
ids = []
for expid, b in blocks.items():
    if expid == "Base" or not expid.endswith("_frappe") or "_fsd_" in expid:
        continue
    m = b["model"]
    if wanted and m not in wanted:
        continue
    if m not in registered or m not in mirrors:
        print("skip %s: %s" % (expid, "not registered in FsdNet" if m not in registered else "no mirror"), file=sys.stderr)
        continue
    ids.append(expid)
for m in wanted:
    if not any(blocks[i]["model"] == m for i in ids):
        print("MODELS: %s has no runnable <Model>_frappe experiment" % m, file=sys.stderr)
print(" ".join(ids))
PY
)"
fi
[ -n "$expids" ] || { echo "no experiment to run" >&2; exit 2; }
bs_fsdnet=(); bs_torch=()
if [ "$batch" != "config" ]; then bs_fsdnet=(--batch-size "$batch"); bs_torch=(--batch-size "$batch"); fi
failed=0
for expid in $expids; do
  echo "== $expid: FsdNet ($threads threads, $epochs epochs, batch $batch)"
  if ! "${bench[@]}" train --config bench/zoo --expid "$expid" --data-root "$root" --cache-dir "$out/cache" \
       --epochs "$epochs" --threads "$threads" --alloc-steps "$alloc_steps" --profile "${bs_fsdnet[@]}" --json "$out/$expid.fsdnet.json"; then
    echo "FAIL: FsdNet on $expid"; failed=1; continue
  fi
  echo "== $expid: PyTorch mirror ($threads threads, $epochs epochs, $kernel_note)"
  if ! "${torch_env[@]}" OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" /usr/bin/python3 tools/zoo_torch/train_zoo.py \
       --config bench/zoo --expid "$expid" --data "$root/frappe" --epochs "$epochs" --threads "$threads" --no-early-stop \
       "${bs_torch[@]}" --json "$out/$expid.torch.json"; then
    echo "FAIL: PyTorch mirror on $expid"; failed=1; continue
  fi
done
/usr/bin/python3 - "$out" $expids <<'PY'
import json, os, sys
out, ids = sys.argv[1], sys.argv[2:]
rows = []
for e in ids:
    fp, tp = os.path.join(out, e + ".fsdnet.json"), os.path.join(out, e + ".torch.json")
    if not (os.path.exists(fp) and os.path.exists(tp)):
        continue
    f, t = json.load(open(fp)), json.load(open(tp))
    fs, ts = sum(f["train_s"]) / len(f["train_s"]), sum(t["train_s"]) / len(t["train_s"])
    floor = f["profile"]["floor_s_per_epoch"]
    rows.append((e, f["model"], f["batch_size"], fs, ts, ts / fs, floor, fs / floor if floor > 0 else float("nan"), f["peak_rss_mb"], t["peak_rss_mb"], f["alloc_bytes_per_step"],
                 f["val_auc"][-1], t["epochs"][-1]["val_auc"], t.get("openblas_core") or "not OpenBLAS (%s)" % os.path.basename(t.get("blas") or "?")))
print()
# floor: the FLOPs of the model's matrix products in one epoch (forward and backward, counted by FsdNet's profile) over
# the best Sgemm rate measured in that run on the model's largest layer; x floor = FsdNet s/epoch over it.
print("%-20s %-9s %6s %12s %12s %8s %8s %8s %10s %10s %12s %9s %9s  %s" % ("experiment", "model", "batch", "FsdNet s/ep", "PyTorch s/ep", "speedup",
      "floor s", "x floor", "FsdNet MiB", "torch MiB", "alloc B/step", "AUC fsd", "AUC torch", "torch BLAS kernel"))
for r in rows:
    print("%-20s %-9s %6d %12.2f %12.2f %8.2f %8.2f %8.2f %10.0f %10.0f %12.0f %9.4f %9.4f  %s" % r)
if rows:
    print("zoo min train speedup vs pytorch: %.2f" % min(r[5] for r in rows))
else:
    print("zoo min train speedup vs pytorch: n/a (no model completed)")
PY
exit "$failed"
