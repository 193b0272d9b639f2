#!/usr/bin/env bash
# Exports every model (and FSD variant, every head) with `fsdnet export --format onnx` and checks each file with the ONNX project's
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
DCNv2_stacked_parallel_toy: {model: DCNv2, model_structure: stacked_parallel, num_cross_layers: 2, stacked_dnn_hidden_units: [8], parallel_dnn_hidden_units: [8]}
DCNv2_mixture_toy: {model: DCNv2, use_low_rank_mixture: True, low_rank: 4, num_experts: 2, num_cross_layers: 2, parallel_dnn_hidden_units: [8]}
DCN_fsd_toy: {model: DCN, fsd: true, dnn_hidden_units: [6, 5, 4], num_cross_layers: 3}
xDeepFM_fsd_toy: {model: xDeepFM, fsd: true, cin_hidden_units: [4, 4, 4], dnn_hidden_units: [6, 5, 4]}
AutoInt_fsd_toy: {model: AutoInt, fsd: true, attention_layers: 3, dnn_hidden_units: [6, 5, 4], use_wide: true}
FinalMLP_fsd_toy: {model: FinalMLP, fsd: true, mlp1_hidden_units: [8, 4, 4], mlp2_hidden_units: [6, 2, 2]}
GDCNP_fsd_toy: {model: GDCNP, fsd: true, dnn_hidden_units: [4, 4, 4], num_cross_layers: 3}
EDCN_fsd_toy: {model: EDCN, fsd: true, num_cross_layers: 3}
LR_toy: {model: LR}
FM_toy: {model: FM}
DNN_toy: {model: DNN, hidden_units: [8, 8], hidden_activations: dice}
WideDeep_toy: {model: WideDeep, hidden_units: [8, 8]}
DeepFM_toy: {model: DeepFM, hidden_units: [8, 8]}
PNN_toy: {model: PNN, hidden_units: [8, 8]}
FiBiNET_toy: {model: FiBiNET, hidden_units: [8], bilinear_type: field_each}
AFN_toy: {model: AFN, afn_hidden_units: [8], logarithmic_neurons: 6, ensemble_dnn: True, dnn_hidden_units: [8]}
xDeepFM_toy: {model: xDeepFM, cin_hidden_units: [4, 4], dnn_hidden_units: [8]}
AutoInt_toy: {model: AutoInt, attention_layers: 2, num_heads: 2, attention_dim: 8, layer_norm: True, dnn_hidden_units: [8]}
MaskNet_toy: {model: MaskNet, model_type: ParallelMaskNet, parallel_num_blocks: 2, parallel_block_dim: 8, dnn_hidden_units: [8]}
FinalMLP_toy: {model: FinalMLP, mlp1_hidden_units: [8], mlp2_hidden_units: [8], use_fs: True, fs_hidden_units: [8]}
DCN_toy: {model: DCN, dnn_hidden_units: [8], num_cross_layers: 2}
GDCN_toy: {model: GDCN, dnn_hidden_units: [8], num_cross_layers: 2}
GDCNP_toy: {model: GDCNP, dnn_hidden_units: [8], num_cross_layers: 2}
EDCN_toy: {model: EDCN, num_cross_layers: 2, use_regulation_module: True}
YAML
for expid in $(grep -o '^[A-Za-z0-9_]*_toy' "$WORK/model_config.yaml"); do
  "$FSDNET" train --config "$WORK" --expid "$expid" --run-dir "$WORK/runs/$expid" --cache-dir "$WORK/cache" --progress plain >/dev/null
  "$FSDNET" export --format onnx --model "$WORK/runs/$expid" --output "$OUT/$expid.onnx" >/dev/null
  case "$expid" in
    *_fsd_toy|FSDNet_toy)
      for head in 0 1 2; do
        "$FSDNET" export --format onnx --model "$WORK/runs/$expid" --output "$OUT/$expid.head$head.onnx" --head "$head" >/dev/null
      done ;;
  esac
done
/usr/bin/python3 "$ROOT/tools/onnx_check/check.py" "$OUT"
