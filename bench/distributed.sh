#!/usr/bin/env bash
# Data-parallel training on one host under Open MPI against one process, on the same cores: for Frappe and for a
# synthetic Criteo slice (criteo preset, 624-wide cross layers), one epoch of `fsdnet train` with
#   1 process x 2 threads            (no MPI)
#   2 ranks x 1 thread, shared memory (Open MPI's default transports on one host: vader)
#   2 ranks x 1 thread, TCP loopback  (--mca btl self,tcp: what a second host would use, minus the wire)
# With 2 ranks the default embedding_sharding (auto) row-shards the Criteo slice's large tables (Frappe's are all
# smaller than a batch's lookups, so they stay replicated); the Criteo slice also runs with every table replicated,
# and with its gradients summed in one buffer after backward instead of in buckets during it (gradient_bucket_mb: 0).
# Prints train rows/s, peak RSS per process, bytes each rank sent per step and seconds in collectives (the trainer's
# "communication" line), and as its last line "mpi 2-rank efficiency: <x>": rows/s of 2 ranks x 1 thread over shared
# memory over rows/s of 1 process x 2 threads, on the larger (Criteo) model.
#
# Needs Open MPI (apt-get install openmpi-bin) and Frappe in ../shared/data (or DATA_ROOT). ROWS sets the Criteo
# slice's train rows (default 400,000; valid and test ROWS/8 each), made with tools/synth_criteo.cs at full Criteo_x4
# cardinality (synthetic data: speed only). Run nothing else meanwhile: the two cores are the whole measurement.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v mpirun >/dev/null || { echo "needs Open MPI: apt-get install openmpi-bin" >&2; exit 2; }
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
data_root="${DATA_ROOT:-$(cd .. && pwd)/shared/data}"
[ -d "$data_root/frappe" ] || { echo "Frappe not found in $data_root (set DATA_ROOT)" >&2; exit 2; }
rows="${ROWS:-400000}"
work="${DIST_BENCH_DIR:-$(mktemp -d)}"
source bench/criteo_slice.sh
criteo_slice "$work/data/criteo" "$rows"
artifacts="${DIST_BENCH_ARTIFACTS:-/tmp/art-dist-bench}"
dotnet build src/FsdNet.Cli -c Release --artifacts-path "$artifacts" -nologo -v quiet >&2
cli="$artifacts/bin/FsdNet.Cli/release/FsdNet.Cli.dll"

# run <name> <dataset> <data-root> <launcher...> -- <threads> [train options...]: one epoch; prints one result line.
run() {
  local name="$1" dataset="$2" root="$3"; shift 3
  local launch=()
  while [ "$1" != "--" ]; do launch+=("$1"); shift; done
  local threads="$2"; shift 2
  local log="$work/$name.log"
  rm -rf "$work/runs/$name"
  "${launch[@]}" /usr/bin/time -f "peak_rss_kb %M" dotnet "$cli" train --dataset "$dataset" --data-root "$root" \
    --cache-dir "$work/cache" --epochs 1 --threads "$threads" --progress plain --run-dir "$work/runs/$name" "$@" > "$log" 2>&1 \
    || { echo "$name failed:" >&2; tail -n 20 "$log" >&2; exit 1; }
  /usr/bin/python3 - "$name" "$log" <<'PY'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
rate = float(re.search(r"train ([\d.]+) s, valid [\d.]+ s, (\d+) samples/s", text).group(2))
secs = float(re.search(r"train ([\d.]+) s, valid", text).group(1))
rss = [int(k) / 1024 for k in re.findall(r"peak_rss_kb (\d+)", text)]
comm = re.search(r"communication \(rank 0 of \d+\): (\d+) steps, (\d+) bytes sent per step, ([\d.]+) s in collectives", text)
extra = f", {int(comm.group(2)) / 1e6:.3f} MB sent per step per rank, {float(comm.group(3)):.2f} s in collectives ({float(comm.group(3)) / secs * 100:.0f}% of train)" if comm else ""
shard = re.search(r"(\d+) table\(s\) row-sharded", text)
extra += f", {shard.group(1)} tables row-sharded" if shard else ""
print(f"{name:34} train {secs:7.1f} s {rate:9.0f} rows/s, peak RSS {' + '.join(f'{r:.0f}' for r in rss)} MiB{extra}")
open(sys.argv[2] + ".rate", "w").write(str(rate))
PY
}

mpi=(mpirun -np 2 --bind-to none)
echo "== CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(mpirun --version | head -n 1)"
# Prepare each cache once, untimed, so no run below pays for ingest.
for d in frappe criteo; do
  root="$data_root"; [ "$d" = criteo ] && root="$work/data"
  dotnet "$cli" data inspect --dataset "$d" --data-root "$root" --cache-dir "$work/cache" > "$work/prepare-$d.log" 2>&1 \
    || { tail -n 20 "$work/prepare-$d.log" >&2; exit 1; }
done
for d in frappe criteo; do
  root="$data_root"; [ "$d" = criteo ] && root="$work/data"
  echo "== $d"
  run "$d 1 process x 2 threads" "$d" "$root" -- 2
  run "$d 2 ranks x 1 thread (shm)" "$d" "$root" "${mpi[@]}" -- 1
  run "$d 2 ranks x 1 thread (tcp)" "$d" "$root" "${mpi[@]}" --mca btl self,tcp -- 1
done
run "criteo 2 ranks x 1 thread (shm, replicated)" criteo "$work/data" "${mpi[@]}" -- 1 --set embedding_sharding=replicate
# The gradients summed in one buffer after backward instead of in buckets during it (gradient_bucket_mb, default 1).
run "criteo 2 ranks x 1 thread (shm, one sum)" criteo "$work/data" "${mpi[@]}" -- 1 --set gradient_bucket_mb=0
# The traffic model of docs/DISTRIBUTED.md against the bytes rank 0 counted (FSDNet: 3 BatchNorm layers of 400).
for name in "frappe 2 ranks x 1 thread (shm)" "criteo 2 ranks x 1 thread (shm, replicated)" "criteo 2 ranks x 1 thread (shm)"; do
  log="$work/$name.log"
  params=$(sed -nE 's/.*: ([0-9,]+) parameters, .*/\1/p' "$log" | head -n 1 | tr -d ,)
  sent=$(sed -nE 's/.* ([0-9]+) bytes sent per step.*/\1/p' "$log" | head -n 1)
  if grep -q "row-sharded over" "$log"; then
    # Rows of the sharded tables leave the all-reduce; the exchange is modelled from the ids the run counted.
    tables=$(sed -nE 's/.*: ([0-9]+) table\(s\) row-sharded.*/\1/p' "$log" | head -n 1)
    sharded=$(sed -nE 's/.*; ([0-9,]+) of [0-9,]+ parameters\), the rest replicated.*/\1/p' "$log" | head -n 1 | tr -d ,)
    steps=$(sed -nE 's/.*communication \(rank 0 of [0-9]+\): ([0-9]+) steps.*/\1/p' "$log" | head -n 1)
    asked=$(sed -nE 's/.*row-sharded tables: ([0-9]+) ids asked.*/\1/p' "$log" | head -n 1)
    served=$(sed -nE 's/.*ids asked of other ranks, ([0-9]+) served.*/\1/p' "$log" | head -n 1)
    echo "$name traffic $(/usr/bin/python3 bench/distributed_model.py check-sharded "$((params - sharded))" 400,400,400 2 "$tables" 16 "$steps" "$asked" "$served" "$sent")"
  else
    echo "$name traffic $(/usr/bin/python3 bench/distributed_model.py check "$params" 400,400,400 2 "$sent")"
  fi
done
one=$(cat "$work/criteo 1 process x 2 threads.log.rate")
two=$(cat "$work/criteo 2 ranks x 1 thread (shm).log.rate")
f1=$(cat "$work/frappe 1 process x 2 threads.log.rate")
f2=$(cat "$work/frappe 2 ranks x 1 thread (shm).log.rate")
/usr/bin/python3 -c "print(f'frappe 2-rank efficiency: {$f2 / $f1:.2f}')"
rep=$(cat "$work/criteo 2 ranks x 1 thread (shm, replicated).log.rate")
/usr/bin/python3 -c "print(f'criteo 2-rank efficiency, tables replicated: {$rep / $one:.2f}')"
nob=$(cat "$work/criteo 2 ranks x 1 thread (shm, one sum).log.rate")
/usr/bin/python3 -c "print(f'criteo 2-rank efficiency, one gradient sum after backward (no buckets): {$nob / $one:.2f}')"
/usr/bin/python3 -c "print(f'mpi 2-rank efficiency: {$two / $one:.2f}')"
