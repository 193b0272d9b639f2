#!/usr/bin/env bash
# Checks a live `fsdnet serve`'s /metrics with Prometheus's own linter (`promtool check metrics`).
#
#   tools/promtool_check.sh [model: bundle or run dir]
#
# Without a model it trains a tiny one first (a few hundred synthetic CSV rows, one epoch). It starts the server on
# 127.0.0.1, sends one good and one bad predict request and one model query (so request, error, OOV and latency
# series all have samples), reads /metrics, and runs promtool on it; prints promtool's verdict and exits with its
# status. Needs Debian's `prometheus` package for promtool (apt-get install prometheus) and curl. CI does not run it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PORT=${PORT:-18091}
command -v promtool >/dev/null || { echo "error: promtool is not installed (Debian: apt-get install prometheus)" >&2; exit 2; }
command -v curl >/dev/null || { echo "error: curl is not installed" >&2; exit 2; }
WORK=$(mktemp -d)
PID=
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
dotnet build "$ROOT/src/FsdNet.Cli" -c Release -nologo -v quiet >/dev/null
FSDNET="$ROOT/src/FsdNet.Cli/bin/Release/net10.0/FsdNet.Cli"

MODEL=${1:-}
if [ -z "$MODEL" ]; then
  mkdir -p "$WORK/data/toy"
  for split in train valid test; do
    echo "label,a,b,x" > "$WORK/data/toy/$split.csv"
    for i in $(seq 1 300); do
      echo "$((RANDOM % 2)),a$((RANDOM % 7)),b$((RANDOM % 5)),0.$((RANDOM % 100))" >> "$WORK/data/toy/$split.csv"
    done
  done
  cat > "$WORK/dataset_config.yaml" <<'YAML'
toy:
  data_root: DATA_ROOT
  data_format: csv
  train_data: toy/train.csv
  valid_data: toy/valid.csv
  test_data: toy/test.csv
  min_categr_count: 1
  feature_cols:
    - {name: [a, b], active: True, dtype: str, type: categorical}
    - {name: x, active: True, dtype: float, type: numeric}
  label_col: {name: label, dtype: float}
YAML
  sed -i "s|DATA_ROOT|$WORK/data|" "$WORK/dataset_config.yaml"
  cat > "$WORK/model_config.yaml" <<'YAML'
toy_fsdnet:
  model: FSDNet
  dataset_id: toy
  embedding_dim: 4
  parallel_dnn_hidden_units: [8, 8]
  num_cross_layers: 2
  batch_size: 64
  epochs: 1
YAML
  "$FSDNET" train --config "$WORK" --expid toy_fsdnet --run-dir "$WORK/run" --cache-dir "$WORK/cache" --progress plain >/dev/null
  MODEL="$WORK/run"
fi

URL="http://127.0.0.1:$PORT"
"$FSDNET" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" 2>"$WORK/serve.log" &
PID=$!
for _ in $(seq 1 600); do
  curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$PID" 2>/dev/null || { echo "error: fsdnet serve exited before it was healthy:" >&2; cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.1
done
curl -sS "$URL/v1/model" >/dev/null
curl -sS -X POST -H 'Content-Type: application/json' -d '{"rows": [{"a": "a1", "b": "never-seen", "x": 0.5}]}' "$URL/v1/predict" >/dev/null || true
curl -sS -X POST -H 'Content-Type: application/json' -d '{"rows": [{"a": 1' "$URL/v1/predict" >/dev/null || true
curl -fsS "$URL/metrics" > "$WORK/metrics.txt"
echo "$(grep -c '^fsdnet_' "$WORK/metrics.txt") fsdnet_ samples, $(grep -c '^# TYPE' "$WORK/metrics.txt") metric families; promtool $(promtool --version 2>&1 | head -1 | awk '{print $3}'):"
if promtool check metrics < "$WORK/metrics.txt"; then
  echo "promtool check metrics: OK"
else
  status=$?
  echo "promtool check metrics: FAILED (status $status)"
  exit "$status"
fi
