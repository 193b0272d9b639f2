#!/usr/bin/env bash
# SGEMM benchmark: FsdNet's managed Sgemm vs OpenBLAS cblas_sgemm, 2 threads each (see docs/BENCHMARKS.md).
# Builds the bench in Release into its own artifacts folder, then runs `FsdNet.Bench gemm`; extra arguments are passed
# through (e.g. --reps 11, --shape 2048x2048x2048, --form NT). The last line is "gemm min ratio vs OpenBLAS: <x>".
set -euo pipefail
cd "$(dirname "$0")/.."
artifacts="${GEMM_ARTIFACTS:-/tmp/art-gemm-bench}"
dotnet build bench/FsdNet.Bench -c Release --artifacts-path "$artifacts" -nologo -v quiet >&2
# Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) does not know some CPU models (Xeon family 6 model 207) and falls back to its
# SSE3 "Prescott" kernels. On a CPU with AVX-512, unless the caller chose a core, run its AVX-512 kernels (the
# strongest it has); elsewhere (AVX2 only: forcing SkylakeX there would run instructions the CPU lacks) OpenBLAS picks
# its own. The bench prints the core OpenBLAS actually uses.
if grep -q avx512f /proc/cpuinfo && [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  export OPENBLAS_CORETYPE=SkylakeX
  unset OPENBLAS_L2_SIZE
fi
exec dotnet "$artifacts/bin/FsdNet.Bench/release/FsdNet.Bench.dll" gemm "$@"
