#!/usr/bin/env bash
# Samples a process's memory every INTERVAL seconds (default 5) until it exits, as TSV lines on stdout:
# UTC time, VmRSS, RssAnon, RssFile, VmHWM (MiB). RssAnon is the process's own memory (managed heap, model,
# optimizer state); RssFile is memory-mapped file pages (the encoded cache) that the kernel can drop at any time.
# Usage: bench/rss_watch.sh PID [INTERVAL] > rss.tsv
set -euo pipefail
pid="$1"
interval="${2:-5}"
echo -e "utc\trss_mib\tanon_mib\tfile_mib\thwm_mib"
while [ -r "/proc/$pid/status" ]; do
  awk -v t="$(date -u +%H:%M:%S)" '
    /^VmRSS:/ {rss=$2} /^RssAnon:/ {anon=$2} /^RssFile:/ {file=$2} /^VmHWM:/ {hwm=$2}
    END { if (rss != "") printf "%s\t%.0f\t%.0f\t%.0f\t%.0f\n", t, rss/1024, anon/1024, file/1024, hwm/1024 }' "/proc/$pid/status" 2>/dev/null || true
  sleep "$interval"
done
