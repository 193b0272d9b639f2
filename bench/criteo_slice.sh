# Sourced by the benchmark scripts that train on a Criteo slice: the one place that makes it.
# criteo_slice <folder> <train rows>: <folder>/train.txt, valid.txt and test.txt (ROWS/8 each), raw Criteo TSV.
# With CRITEO_SRC set (a folder of Criteo_x4-format files, e.g. tools/synth_criteo.cs --split-dir at full size), the
# heads of its files; otherwise tools/synth_criteo.cs at full Criteo_x4 cardinality (--cardinality-rows 45840617).
# Synthetic data: speed only. Kept when all three files are already there at the right sizes.
criteo_slice() {
  local slice="$1" rows="$2"
  local valid_rows=$((rows / 8))
  mkdir -p "$slice"
  if [ -s "$slice/test.txt" ] && [ "$(wc -l < "$slice/train.txt")" -eq "$rows" ] && [ "$(wc -l < "$slice/test.txt")" -eq "$valid_rows" ]; then
    return 0
  fi
  if [ -n "${CRITEO_SRC:-}" ]; then
    head -n "$rows" "$CRITEO_SRC/train.txt" > "$slice/train.txt"
    head -n "$valid_rows" "$CRITEO_SRC/valid.txt" > "$slice/valid.txt"
    head -n "$valid_rows" "$CRITEO_SRC/test.txt" > "$slice/test.txt"
    return 0
  fi
  local all="$slice/all.txt"
  dotnet run tools/synth_criteo.cs -- --rows "$((rows + 2 * valid_rows))" --cardinality-rows 45840617 --seed 1 --out "$all" >&2
  head -n "$rows" "$all" > "$slice/train.txt"
  sed -n "$((rows + 1)),$((rows + valid_rows))p" "$all" > "$slice/valid.txt"   # (tail | head: SIGPIPE under pipefail)
  tail -n "$valid_rows" "$all" > "$slice/test.txt"   # written last: its presence means the slice is whole
  rm -f "$all"
}
