#!/usr/bin/env bash
# Regenerates tests/FsdNet.Tests/Golden/curves/*.json: FsdNet writes every training-curve case (initial state, the
# batches in order, the validation split), then the PyTorch mirror trains each one and writes its curve.
# Needs Debian's python3-torch, python3-sklearn and python3-yaml (apt-get install python3-torch python3-sklearn python3-yaml).
#
#   tools/curve_parity/make_golden.sh [case-name-filter]
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
/usr/bin/python3 -c "import torch, sklearn, yaml" 2>/dev/null || { echo "needs: apt-get install python3-torch python3-sklearn python3-yaml" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
FSDNET_CURVE_EXPORT="$work" dotnet test "$repo/tests/FsdNet.Tests" -c Release --filter "FullyQualifiedName~CurveParityTests.Export_cases_for_the_mirror" >"$work/export.log" 2>&1 \
  || { cat "$work/export.log" >&2; exit 1; }
out="$repo/tests/FsdNet.Tests/Golden/curves"
mkdir -p "$out"
for case in "$work"/*/; do
  name="$(basename "$case")"
  [[ "$name" == *"${1:-}"* ]] || continue
  OMP_NUM_THREADS=1 /usr/bin/python3 "$repo/tools/curve_parity/mirror_train.py" "$case" "$out/$name.json"
done
