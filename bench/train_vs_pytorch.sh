#!/usr/bin/env bash
# FsdNet vs the PyTorch FSDNet mirror (tools/fsdnet_torch/train_frappe.py), trained one after the other in this
# invocation on the same machine, data (../shared/data/frappe) and configuration (official Frappe settings), for
# EPOCHS epochs (default 3) with THREADS threads each (default 2; PyTorch gets OMP_NUM_THREADS as well, since
# Debian's build defaults to one thread). Prints training seconds per epoch, validation seconds, samples/s and peak
# RSS for both, and as its last line: "train epoch speedup vs pytorch: <x>" (PyTorch s/epoch / FsdNet s/epoch).
# Needs Debian's python3-torch and python3-sklearn for the PyTorch side (apt-get install python3-torch python3-sklearn).
# The rival runs at its best: on a CPU with AVX-512 its command alone gets OPENBLAS_CORETYPE=SkylakeX and
# OPENBLAS_L2_SIZE unset (Debian's OpenBLAS falls back to SSE3 kernels on CPUs it does not know, e.g. Xeon family 6
# model 207); the kernel OpenBLAS ran is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${EPOCHS:-3}"
threads="${THREADS:-2}"
data="$(realpath "${FSDNET_DATA:-../shared/data}")/frappe"
[ -d "$data" ] || { echo "Frappe is not at $data (set FSDNET_DATA to the folder holding frappe/)" >&2; exit 2; }
/usr/bin/python3 -c "import torch, sklearn" 2>/dev/null || { echo "PyTorch side needs: apt-get install python3-torch python3-sklearn" >&2; exit 2; }
artifacts="${TRAIN_BENCH_ARTIFACTS:-/tmp/art-train-bench}"
out="$(mktemp -d)"
dotnet build bench/FsdNet.Bench -c Release --artifacts-path "$artifacts" -nologo -v quiet >&2
echo "== FsdNet ($threads threads, $epochs epochs)"
dotnet "$artifacts/bin/FsdNet.Bench/release/FsdNet.Bench.dll" train --dataset frappe --data-root "$(dirname "$data")" \
  --cache-dir "$out/cache" --epochs "$epochs" --threads "$threads" --json "$out/fsdnet.json"
source bench/rival_blas.sh
kernel="$rival_kernel"
echo "== PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)') ($threads threads, $epochs epochs; $kernel_note; OpenBLAS kernel: $kernel)"
"${torch_env[@]}" OMP_NUM_THREADS="$threads" MKL_NUM_THREADS="$threads" /usr/bin/python3 tools/fsdnet_torch/train_frappe.py \
  --data "$data" --epochs "$epochs" --threads "$threads" --json "$out/torch.json" | grep -vE '^\s*$'
/usr/bin/python3 - "$out/fsdnet.json" "$out/torch.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1])); t = json.load(open(sys.argv[2]))
te = t["epochs"]
rows = [
    ("train s/epoch (mean)", sum(f["train_s"]) / len(f["train_s"]), sum(e["train_s"] for e in te) / len(te)),
    ("train s/epoch (epochs 2+)", sum(f["train_s"][1:]) / max(1, len(f["train_s"]) - 1), sum(e["train_s"] for e in te[1:]) / max(1, len(te) - 1)),
    ("valid s/epoch (mean)", sum(f["valid_s"]) / len(f["valid_s"]), sum(e["valid_s"] for e in te) / len(te)),
    ("samples/s (mean)", sum(f["samples_per_s"]) / len(f["samples_per_s"]), sum(e["samples_per_s"] for e in te) / len(te)),
    ("peak RSS MiB", f["peak_rss_mb"], t["peak_rss_kb"] / 1024),
]
print(f"{'':28}{'FsdNet':>12}{'PyTorch':>12}{'ratio':>10}")
for name, a, b in rows:
    ratio = a / b if name.startswith("samples") else b / a
    print(f"{name:28}{a:12.2f}{b:12.2f}{ratio:10.2f}")
print(f"valid AUC after each epoch: FsdNet {[round(x, 4) for x in f['val_auc']]}, PyTorch {[round(e['val_auc'], 4) for e in te]}")
print(f"FsdNet steady-state allocation: {f['alloc_bytes_per_step']:.0f} bytes/step; GC gen0/1/2 during training {f['gc_gen0']}/{f['gc_gen1']}/{f['gc_gen2']}")
print(f"train epoch speedup vs pytorch: {rows[0][2] / rows[0][1]:.2f}")
PY
