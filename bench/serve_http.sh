#!/usr/bin/env bash
# Bounded loopback HTTP load test of `fsdnet serve` (issue 10's HTTP target: p99 <= 5 ms and 0 errors).
#
#   bench/serve_http.sh <model: bundle or run dir> <data: raw CSV with a header, or a libFM file (.libfm/.libfm.gz)> [port]
#
# Starts `fsdnet serve` on 127.0.0.1, waits for /healthz, builds single-row POST /v1/predict bodies from the data's
# rows (CSV cells as strings, empty = null, the label column dropped; libFM lines mapped onto the model's inputs in
# order, as the frappe preset reads them), runs wrk for DURATION seconds, stops the server (SIGTERM: it drains and
# must exit 0) and prints as its last three lines:
#   http throughput rps: <x>
#   http p99 ms: <x>
#   http errors: <n>          (non-2xx responses + socket errors/timeouts)
#
# Environment: DURATION (s, default 30), WRK_THREADS (2), WRK_CONNECTIONS (16), ROWS (request bodies, 10000),
# SERVE_THREADS (fsdnet serve --threads; default all cores), FSDNET (a built fsdnet executable; default: build
# src/FsdNet.Cli in Release and use it).
set -euo pipefail

if [ $# -lt 2 ]; then
  sed -n '2,20p' "$0" >&2
  exit 2
fi
MODEL=$1
DATA=$2
PORT=${3:-${PORT:-18080}}
DURATION=${DURATION:-30}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-16}
ROWS=${ROWS:-10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

command -v wrk >/dev/null || { echo "error: wrk is not installed (Debian: apt-get install wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "error: curl is not installed" >&2; exit 2; }
[ -e "$MODEL" ] || { echo "error: $MODEL: no such model" >&2; exit 2; }
[ -f "$DATA" ] || { echo "error: $DATA: no such data file" >&2; exit 2; }

if [ -z "${FSDNET:-}" ]; then
  dotnet build "$ROOT/src/FsdNet.Cli" -c Release -nologo -v quiet >/dev/null
  FSDNET="$ROOT/src/FsdNet.Cli/bin/Release/net10.0/FsdNet.Cli"
fi

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

URL="http://127.0.0.1:$PORT"
"$FSDNET" serve --model "$MODEL" --host 127.0.0.1 --port "$PORT" ${SERVE_THREADS:+--threads "$SERVE_THREADS"} 2>"$WORK/serve.log" &
PID=$!
for _ in $(seq 1 600); do
  if curl -fsS "$URL/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "error: fsdnet serve exited before it was healthy:" >&2
    cat "$WORK/serve.log" >&2
    PID=
    exit 1
  fi
  sleep 0.1
done
curl -fsS "$URL/healthz" >/dev/null || { echo "error: $URL/healthz did not answer within 60 s" >&2; cat "$WORK/serve.log" >&2; exit 1; }
curl -fsS "$URL/v1/model" >"$WORK/model.json"

python3 - "$WORK/model.json" "$DATA" "$ROWS" >"$WORK/bodies.jsonl" <<'PY'
import csv, gzip, json, sys
model = json.load(open(sys.argv[1]))
path, limit = sys.argv[2], int(sys.argv[3])
inputs = [i["name"] for i in model["inputs"]]
label = model.get("label")
opener = gzip.open if path.endswith(".gz") else open
n = 0
with opener(path, "rt", newline="") as f:
    if ".libfm" in path or ".libsvm" in path:
        rows = ({name: tok.split(":")[0] for name, tok in zip(inputs, line.split()[1:])} for line in f if line.strip())
    else:
        rows = ({k: v for k, v in r.items() if k != label and k is not None} for r in csv.DictReader(f))
    for r in rows:
        body = {"rows": [{k: (v if v != "" else None) for k, v in r.items()}]}
        print(json.dumps(body, separators=(",", ":")))
        n += 1
        if n >= limit:
            break
if n == 0:
    sys.exit("error: no rows in " + path)
PY

# One request first: a model/data mismatch is a clear failure, not a run of errors.
first=$(head -n 1 "$WORK/bodies.jsonl")
status=$(curl -s -o "$WORK/first.json" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$first" "$URL/v1/predict")
if [ "$status" != 200 ]; then
  echo "error: the first request got HTTP $status: $(cat "$WORK/first.json")" >&2
  exit 1
fi

echo "wrk: $DURATION s, $WRK_THREADS threads, $WRK_CONNECTIONS connections, $(wc -l <"$WORK/bodies.jsonl") single-row bodies from $DATA" >&2
wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"${DURATION}s" --latency -s "$ROOT/bench/serve_http.lua" "$URL" -- "$WORK/bodies.jsonl" >"$WORK/wrk.out"
cat "$WORK/wrk.out" >&2

kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=
if [ "$rc" != 0 ]; then
  echo "error: fsdnet serve exited with $rc on SIGTERM:" >&2
  cat "$WORK/serve.log" >&2
fi

awk '
  $1 == "wrk_requests" { req = $2 }
  $1 == "wrk_duration_us" { dur = $2 }
  $1 == "wrk_p99_us" { p99 = $2 }
  $1 == "wrk_socket_errors" { sock = $2 }
  $1 == "wrk_status_errors" { stat = $2 }
  END {
    printf "http throughput rps: %.1f\n", (dur > 0 ? req / (dur / 1e6) : 0)
    printf "http p99 ms: %.3f\n", p99 / 1000
    printf "http errors: %d\n", sock + stat
  }' "$WORK/wrk.out"
exit "$rc"
