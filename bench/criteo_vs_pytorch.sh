#!/usr/bin/env bash
# FSDNet at Criteo shape: FsdNet against the PyTorch mirror (tools/fsdnet_torch/train_criteo.py), one after the other
# in this invocation, THREADS threads each (default 2), one epoch over the same ROWS-row train slice (default
# 2,000,000) and one validation pass over ROWS/8 rows, with the criteo preset (official FSDNet_Criteo_x4 settings:
# batch 4096, embedding 16, 624-wide cross layers, DNN [400, 400, 400], dropout 0.2, embedding_regularizer 1e-5).
#
# The slice: the first ROWS lines of CRITEO_SRC/train.txt and ROWS/8 of its valid.txt, where CRITEO_SRC is a folder
# of Criteo_x4-format files (tools/synth_criteo.cs --split-dir at full size keeps the real per-column cardinalities:
# ~900k ids after min_categr_count 10 at 45M rows). Without CRITEO_SRC, the script makes a full-cardinality slice
# itself with tools/synth_criteo.cs --cardinality-rows 45840617. Synthetic data: speed only, never quality.
#
# Prints train rows/s and peak RSS of both, FsdNet's profile (SGEMM, embedding gather/scatter, elementwise, data,
# optimizer) and its fp32 floor, FsdNet with lazy_embedding_updates as an extra line, and as its last line
# "criteo train speedup vs pytorch: <x>" (PyTorch train seconds / FsdNet train seconds, both dense Adam).
# Needs Debian's python3-torch, python3-pandas and python3-sklearn (apt-get install python3-torch python3-pandas
# python3-sklearn). The rival runs at its best: on a CPU with AVX-512 its command alone gets
# OPENBLAS_CORETYPE=SkylakeX and OPENBLAS_L2_SIZE unset; the kernel OpenBLAS ran is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${ROWS:-2000000}"
threads="${THREADS:-2}"
valid_rows=$((rows / 8))
/usr/bin/python3 -c "import torch, pandas, sklearn" 2>/dev/null || { echo "PyTorch side needs: apt-get install python3-torch python3-pandas python3-sklearn" >&2; exit 2; }
work="${CRITEO_BENCH_DIR:-$(mktemp -d)}"
slice="$work/data/criteo"
source bench/criteo_slice.sh
criteo_slice "$slice" "$rows"
artifacts="${TRAIN_BENCH_ARTIFACTS:-/tmp/art-train-bench}"
dotnet build bench/FsdNet.Bench -c Release --artifacts-path "$artifacts" -nologo -v quiet >&2
bench=(dotnet "$artifacts/bin/FsdNet.Bench/release/FsdNet.Bench.dll" train --dataset criteo --data-root "$work/data"
  --cache-dir "$work/cache" --epochs 1 --threads "$threads" --alloc-steps 10)
echo "== CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $rows train rows, $valid_rows valid rows"
echo "== FsdNet ($threads threads, dense Adam as the preset)"
"${bench[@]}" --json "$work/fsdnet.json" --profile
echo "== FsdNet with lazy_embedding_updates: true"
"${bench[@]}" --json "$work/fsdnet_lazy.json" --set lazy_embedding_updates=true --profile
source bench/rival_blas.sh
kernel="$rival_kernel"
echo "== PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') ($threads threads; $kernel_note; OpenBLAS kernel: $kernel)"
"${torch_env[@]}" OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" /usr/bin/python3 tools/fsdnet_torch/train_criteo.py \
  --data "$slice" --threads "$threads" --json "$work/torch.json" | grep -v "^  step"
/usr/bin/python3 - "$work/fsdnet.json" "$work/fsdnet_lazy.json" "$work/torch.json" <<'PY'
import json, sys
f, l, t = (json.load(open(p)) for p in sys.argv[1:4])
if f["parameters"] != t["parameters"]:
    sys.exit(f"parameter counts differ: FsdNet {f['parameters']}, PyTorch {t['parameters']} (the encodings disagree)")
print(f"{'':30}{'FsdNet':>12}{'lazy':>12}{'PyTorch':>12}")
print(f"{'train s/epoch':30}{f['train_s'][0]:12.1f}{l['train_s'][0]:12.1f}{t['train_s']:12.1f}")
print(f"{'train rows/s':30}{f['samples_per_s'][0]:12.0f}{l['samples_per_s'][0]:12.0f}{t['samples_per_s']:12.0f}")
print(f"{'valid s':30}{f['valid_s'][0]:12.1f}{l['valid_s'][0]:12.1f}{t['valid_s']:12.1f}")
print(f"{'peak RSS MiB':30}{f['peak_rss_mb']:12.0f}{l['peak_rss_mb']:12.0f}{t['peak_rss_kb'] / 1024:12.0f}")
print(f"{'parameters':30}{f['parameters']:12d}{l['parameters']:12d}{t['parameters']:12d}")
p = f["profile"]
print(f"FsdNet epoch vs fp32 floor: {f['train_s'][0]:.1f} s vs {p['floor_s_per_epoch']:.1f} s = {f['train_s'][0] / p['floor_s_per_epoch']:.2f}x "
      f"(best Sgemm {p['sgemm_gflops_best']:.0f} GFLOP/s, {p['gemm_gflop_per_step']:.2f} GFLOP/step)")
step = p["step_ms"]
parts = [("sgemm", p["sgemm_ms"]), ("elementwise+rest", p["elementwise_ms"]), ("embedding gather/scatter", p["embedding_ms"]),
         ("data loading", p["load_ms"]), ("regularizer+clip", p["regularize_clip_ms"]), ("optimizer", p["optimizer_ms"])]
print("FsdNet step shares: " + ", ".join(f"{n} {v / step * 100:.0f}%" for n, v in parts))
pl = l["profile"]
print(f"lazy step: regularizer+clip {pl['regularize_clip_ms']:.1f} ms, optimizer {pl['optimizer_ms']:.1f} ms "
      f"(dense: {p['regularize_clip_ms']:.1f} ms, {p['optimizer_ms']:.1f} ms)")
print(f"lazy train speedup vs pytorch: {t['train_s'] / l['train_s'][0]:.2f}")
print(f"criteo train speedup vs pytorch: {t['train_s'] / f['train_s'][0]:.2f}")
PY
