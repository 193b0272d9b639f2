#!/usr/bin/env bash
# Runs FuxiCTR's own demo/config/example1..8 with FsdNet, each with an FSDNet experiment added to its
# model_config.yaml (the dataset config is used unchanged), from FuxiCTR's demo/ folder as FuxiCTR does (its
# relative paths ../data/... resolve against the working directory). Prints a Markdown table of outcomes.
#
#   tools/fuxictr_examples/run.sh <FuxiCTR checkout>   (default: $FSDNET_FUXICTR)
#
# Nothing is written into the checkout: configs, caches and runs go to a temporary folder.
set -uo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
fuxi="${1:-${FSDNET_FUXICTR:-}}"
[ -d "$fuxi/demo/config" ] || { echo "usage: $0 <FuxiCTR checkout with demo/config and data/tiny_*>" >&2; exit 2; }
fuxi="$(cd "$fuxi" && pwd)"
dotnet build "$repo/src/FsdNet.Cli" -c Release -v q -nologo >/dev/null || exit 1
cli="$repo/src/FsdNet.Cli/bin/Release/net10.0/FsdNet.Cli.dll"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "| example | dataset (format) | what it exercises | FsdNet outcome |"
echo "|---|---|---|---|"
for n in 1 2 3 4 5 6 7 8; do
  src="$fuxi/demo/config/example${n}_config"
  [ -d "$src" ] || continue
  dst="$work/example$n"
  mkdir -p "$dst"
  cp "$src/dataset_config.yaml" "$dst/"
  [ -f "$src/model_config.yaml" ] && cp "$src/model_config.yaml" "$dst/"
  id=$(grep -E '^[A-Za-z0-9_]+:' "$src/dataset_config.yaml" | head -1 | tr -d ':[:space:]')
  format=$(grep -E '^\s+data_format:' "$src/dataset_config.yaml" | head -1 | awk '{print $2}')
  dim=4
  extra=""
  # FuxiCTR's tiny_seq map gives click_sequence no feature_encoder (DIN reads it unpooled): FSDNet needs one vector
  # per field, so the experiment asks for masked mean pooling (a model-config key; the dataset config is unchanged).
  [ "$id" = tiny_seq ] && extra='    feature_specs: [{name: click_sequence, feature_encoder: "layers.MaskedAveragePooling()"}]'
  grep -q 'embedding_dim: 8' "$src/dataset_config.yaml" && dim=8
  cat >> "$dst/model_config.yaml" <<YAML

FSDNet_example$n:
    model: FSDNet
    dataset_id: $id
    loss: binary_crossentropy
    metrics: [logloss, AUC]
    optimizer: adam
    learning_rate: 1.e-3
    embedding_regularizer: 1.e-8
    net_regularizer: 0
    batch_size: 128
    embedding_dim: $dim
    parallel_dnn_hidden_units: [64, 64]
    num_cross_layers: 2
    net_dropout: 0
    batch_norm: False
    epochs: 1
    shuffle: True
    seed: 2019
    monitor: AUC
    monitor_mode: max
    choice: 2
    loss_coefficient: 0.9
    Temp: 1.3
    fea_coefficient: 0.01
$extra
YAML
  what=$(grep -oE 'type: (categorical|numeric|sequence|embedding)|pretrained_emb|preprocess: [a-z_]+' "$src/dataset_config.yaml" | sort -u | tr '\n' ',' | sed 's/,$//; s/,/, /g')
  [ -z "$what" ] && what="pre-encoded ($format + feature_map.json)"
  out=$(cd "$fuxi/demo" && dotnet "$cli" train --config "$dst" --expid "FSDNet_example$n" --run-dir "$dst/run" --cache-dir "$dst/cache" 2>&1)
  code=$?
  if [ $code -eq 0 ]; then
    result="trains and evaluates: $(tail -1 <<<"$out")"
  else
    result="exit $code: $(grep -m1 '^error:' <<<"$out" || tail -1 <<<"$out")"
  fi
  echo "| example$n | $id ($format) | $what | ${result//|/\\|} |"
done
