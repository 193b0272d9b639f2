#!/usr/bin/env bash
# The 45M-row run: criteo preset, one epoch, checkpoint every 10 minutes; RSS sampled every 5 s.
cd /work/scale
/usr/bin/time -v dotnet /work/scale/art/bin/FsdNet.Cli/release/FsdNet.Cli.dll train --dataset criteo --data-root /work/scale \
  --epochs 1 --threads 2 --run-dir /work/scale/run45/run --cache-dir /work/scale/cache \
  --set checkpoint_every_minutes=10 --set lazy_embedding_updates=true --progress plain "$@" &
pid=$!
sleep 2
child=$(pgrep -P $pid -f FsdNet.Cli.dll || echo $pid)
/work/main/bench/rss_watch.sh "$child" 5 >> /work/scale/run45/rss.tsv &
wait $pid
