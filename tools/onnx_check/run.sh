#!/usr/bin/env bash
# Exports every model and variant `fsdnet export --format onnx` covers and checks each file with the ONNX project's
# own checker (check.py: onnx.checker.check_model with full_check=True).
#
#   tools/onnx_check/run.sh [out dir]
#
# Trains each model for one epoch on a small synthetic CSV with categorical, numeric and sequence features (the graph
# inputs every feature type adds), then exports: the model's own prediction, and for the FSD models every single
# head. Needs Debian's python3-onnx (apt-get install python3-onnx). CI does not run it; the ONNX Runtime parity tests
# (tests/FsdNet.Tests/Serving/OnnxExportTests.cs) do not need Python.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$(mktemp -d)}
/usr/bin/python3 -c "import onnx" 2>/dev/null || { echo "error: python3-onnx is missing (apt-get install python3-onnx)" >&2; exit 2; }
dotnet build "$ROOT/src/FsdNet.Cli" -c Release -nologo -v quiet >/dev/null
FSDNET="$ROOT/src/FsdNet.Cli/bin/Release/net10.0/FsdNet.Cli"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/data/toy" "$OUT"
for split in train valid test; do
  echo "label,a,b,c,x,y,s" > "$WORK/data/toy/$split.csv"
  for i in $(seq 1 400); do
    echo "$((RANDOM % 2)),a$((RANDOM % 9)),b$((RANDOM % 6)),c$((RANDOM % 4)),0.$((RANDOM % 100)),$((RANDOM % 50)),t$((RANDOM % 5))^t$((RANDOM % 5))^t$((RANDOM % 5))" >> "$WORK/data/toy/$split.csv"
  done
done
cat > "$WORK/dataset_config.yaml" <<YAML
toy:
  data_root: $WORK/data
  data_format: csv
  train_data: toy/train.csv
  valid_data: toy/valid.csv
  test_data: toy/test.csv
  min_categr_count: 1
  feature_cols:
    - {name: [a, b, c], active: True, dtype: str, type: categorical}
    - {name: x, active: True, dtype: float, type: numeric, normalizer: StandardScaler}
    - {name: y, active: True, dtype: float, type: numeric, normalizer: MinMaxScaler}
    - {name: s, active: True, dtype: str, type: sequence, splitter: '^', max_len: 4, encoder: MaskedAveragePooling}
  label_col: {name: label, dtype: float}
YAML
cat > "$WORK/model_config.yaml" <<'YAML'
Base:
  dataset_id: toy
  embedding_dim: 4
  batch_size: 64
  epochs: 1
  batch_norm: True
FSDNet_toy: {model: FSDNet, parallel_dnn_hidden_units: [8, 8, 8], num_cross_layers: 3}
DCNv2_fsd_toy: {model: DCNv2, fsd: true, model_structure: parallel, num_cross_layers: 3, parallel_dnn_hidden_units: [8, 8, 8]}
DCNv2_crossnet_only_toy: {model: DCNv2, model_structure: crossnet_only, num_cross_layers: 2}
DCNv2_stacked_toy: {model: DCNv2, model_structure: stacked, num_cross_layers: 2, stacked_dnn_hidden_units: [8, 8]}
DCNv2_parallel_toy: {model: DCNv2, model_structure: parallel, num_cross_layers: 2, parallel_dnn_hidden_units: [8, 8]}
DCNv2_stacked_parallel_toy: {model: DCNv2, model_structure: stacked_parallel, num_cross_layers: 2, stacked_dnn_hidden_units: [8], parallel_dnn_hidden_units: [8]}
DeepFM_toy: {model: DeepFM, hidden_units: [8, 8]}
DNN_toy: {model: DNN, hidden_units: [8, 8]}
WideDeep_toy: {model: WideDeep, hidden_units: [8, 8]}
YAML
for expid in FSDNet_toy DCNv2_fsd_toy DCNv2_crossnet_only_toy DCNv2_stacked_toy DCNv2_parallel_toy DCNv2_stacked_parallel_toy DeepFM_toy DNN_toy WideDeep_toy; do
  "$FSDNET" train --config "$WORK" --expid "$expid" --run-dir "$WORK/runs/$expid" --cache-dir "$WORK/cache" --progress plain >/dev/null
  "$FSDNET" export --format onnx --model "$WORK/runs/$expid" --output "$OUT/$expid.onnx" >/dev/null
  case "$expid" in
    FSDNet_toy|DCNv2_fsd_toy)
      for head in 0 1 2; do
        "$FSDNET" export --format onnx --model "$WORK/runs/$expid" --output "$OUT/$expid.head$head.onnx" --head "$head" >/dev/null
      done ;;
  esac
done
/usr/bin/python3 "$ROOT/tools/onnx_check/check.py" "$OUT"
