#!/usr/bin/env bash
# One FsdNet training run over two hosts, launched the way docs/DISTRIBUTED.md tells users to: a hostfile, mpirun
# starting the remote ranks over ssh, the ranks talking TCP. The two hosts are two network namespaces on this
# machine, each with its own address (10.77.0.1 and 10.77.0.2 on a veth pair), its own host name (fsd-a, fsd-b) and
# its own sshd: Open MPI sees two nodes, launches the second over ssh, and the ranks' traffic crosses the veth link.
# They share the file system, as hosts on a shared file system do (data, cache and run directory at the same paths).
#
# Each configuration is trained on the two hosts and on one host (shared memory); FsdNet sums in rank order, so the
# two must write the same model file byte for byte:
#   - 2 ranks, one per host, tables replicated (the default for Frappe);
#   - 2 ranks, every table row-sharded (ids, rows and gradients cross the link all-to-all);
#   - 3 ranks, two on fsd-a and one on fsd-b;
#   - 2 ranks with a checkpoint every 5 steps, the rank on fsd-b killed (kill -9) mid-run: the job must end with a
#     non-zero status and Open MPI's message, and `--resume` on the two hosts must end on the model of the
#     uninterrupted run on one host.
# Last line: "two-host runs equal to one host: <k> of 4".
#
# Needs root, iproute2, openssh-server (apt-get install openssh-server; sshd is only started inside the namespaces,
# on their addresses), Open MPI (apt-get install openmpi-bin) and Frappe in ../shared/data (or DATA_ROOT). EPOCHS sets
# the epochs of each run (default 2). Removes its namespaces, veth pair and sshd processes when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 2; }
for tool in ip unshare mpirun ssh ssh-keygen; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install iproute2 openssh-client openmpi-bin)" >&2; exit 2; }
done
[ -x /usr/sbin/sshd ] || { echo "needs /usr/sbin/sshd: apt-get install openssh-server" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
data_root="${DATA_ROOT:-$(cd .. && pwd)/shared/data}"
[ -d "$data_root/frappe" ] || { echo "Frappe not found in $data_root (set DATA_ROOT)" >&2; exit 2; }
epochs="${EPOCHS:-2}"
work="${TWO_HOSTS_DIR:-$(mktemp -d)}"
mkdir -p "$work"
artifacts="${TWO_HOSTS_ARTIFACTS:-/tmp/art-two-hosts}"
dotnet build src/FsdNet.Cli -c Release --artifacts-path "$artifacts" -nologo -v quiet >&2
cli="$artifacts/bin/FsdNet.Cli/release/FsdNet.Cli.dll"

# --- the two hosts ---
hosts=(fsd-a fsd-b)
addrs=(10.77.0.1 10.77.0.2)
cleanup() {
  for h in "${hosts[@]}"; do
    [ -f "$work/sshd-$h.pid" ] && kill "$(cat "$work/sshd-$h.pid")" 2>/dev/null || true
    ip netns del "$h" 2>/dev/null || true
  done
}
trap cleanup EXIT
cleanup
rm -f "$work"/key* "$work"/hostkey*
ssh-keygen -q -t ed25519 -N '' -f "$work/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$work/key"
cp "$work/key.pub" "$work/authorized_keys"
chmod 600 "$work/authorized_keys"
mkdir -p /run/sshd
for h in "${hosts[@]}"; do ip netns add "$h"; done
ip link add veth-fsd-a type veth peer name veth-fsd-b
for i in 0 1; do
  h=${hosts[$i]}
  ip link set "veth-$h" netns "$h"
  ip -n "$h" addr add "${addrs[$i]}/24" dev "veth-$h"
  ip -n "$h" link set lo up
  ip -n "$h" link set "veth-$h" up
  cat > "$work/sshd-$h.conf" <<EOF
ListenAddress ${addrs[$i]}
HostKey $work/hostkey
PidFile $work/sshd-$h.pid
PermitRootLogin prohibit-password
AuthorizedKeysFile $work/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
EOF
  # Its own UTS namespace gives the host its name; processes sshd starts (Open MPI's orted, the ranks) inherit it.
  ip netns exec "$h" unshare --uts sh -c "hostname $h; exec /usr/sbin/sshd -f $work/sshd-$h.conf" \
    || { echo "sshd did not start on $h" >&2; exit 1; }
done
for _ in $(seq 50); do [ -f "$work/sshd-fsd-b.pid" ] && break; sleep 0.1; done
rsh="ssh -i $work/key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
remote=$(ip netns exec fsd-a $rsh "root@${addrs[1]}" hostname) || { echo "ssh from fsd-a to fsd-b failed" >&2; exit 1; }
[ "$remote" = fsd-b ] || { echo "ssh reached '$remote', not fsd-b" >&2; exit 1; }

# on_hosts <slots on fsd-a> <slots on fsd-b> <log> <fsdnet args...>: mpirun in fsd-a over the hostfile.
on_hosts() {
  local a="$1" b="$2" log="$3"; shift 3
  printf '%s slots=%s\n%s slots=%s\n' "${addrs[0]}" "$a" "${addrs[1]}" "$b" > "$work/hostfile"
  ip netns exec fsd-a unshare --uts sh -c 'hostname fsd-a; exec "$@"' sh \
    mpirun -np $((a + b)) --hostfile "$work/hostfile" --bind-to none --mca plm_rsh_agent "$rsh" \
      --mca btl self,tcp --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
      dotnet "$cli" "$@" > "$log" 2>&1 < /dev/null
}
on_one_host() {
  local ranks="$1" log="$2"; shift 2
  mpirun -np "$ranks" --bind-to none --oversubscribe dotnet "$cli" "$@" > "$log" 2>&1 < /dev/null
}
train=(train --dataset frappe --data-root "$data_root" --cache-dir "$work/cache" --epochs "$epochs" --threads 1
  --seed 2023 --progress plain)
dotnet "$cli" data inspect --dataset frappe --data-root "$data_root" --cache-dir "$work/cache" > "$work/prepare.log" 2>&1 \
  || { tail -n 20 "$work/prepare.log" >&2; exit 1; }

echo "== CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; $(mpirun --version | head -n 1)"
equal=0
# compare <name> <two-host run dir> <one-host run dir> [two-host log]: one line; counts a byte-identical model file.
compare() {
  local name="$1" two="$2" one="$3" log="${4:-$2.log}"
  local placed auc
  placed=$(sed -nE 's/.* ranks \(Open MPI [^)]*\) on ([^,]*\)),.*/\1/p' "$log" | head -n 1)
  auc=$(sed -nE 's/^test AUC (.*)/\1/p' "$log" | tail -n 1)
  if cmp -s "$two/model.fsdm" "$one/model.fsdm"; then
    equal=$((equal + 1))
    echo "$name: on $placed, test AUC $auc, model file byte-identical to one host"
  else
    echo "$name: on $placed, test AUC $auc; one host: $(sed -nE 's/^test AUC (.*)/\1/p' "$one.log" | tail -n 1); MODEL FILES DIFFER"
  fi
}
run_pair() {
  local name="$1" a="$2" b="$3"; shift 3
  rm -rf "$work/runs/$name-two" "$work/runs/$name-one"
  mkdir -p "$work/runs"
  on_hosts "$a" "$b" "$work/runs/$name-two.log" "${train[@]}" --run-dir "$work/runs/$name-two" "$@" \
    || { echo "$name on two hosts failed:" >&2; tail -n 20 "$work/runs/$name-two.log" >&2; exit 1; }
  on_one_host $((a + b)) "$work/runs/$name-one.log" "${train[@]}" --run-dir "$work/runs/$name-one" "$@" \
    || { echo "$name on one host failed:" >&2; tail -n 20 "$work/runs/$name-one.log" >&2; exit 1; }
  compare "$name" "$work/runs/$name-two" "$work/runs/$name-one"
}
run_pair replicated 1 1
run_pair row-sharded 1 1 --set embedding_sharding=row
run_pair three-ranks 2 1

# Fail-stop across hosts: kill the rank on fsd-b once the run has checkpointed, then resume on the two hosts.
name=killed
rm -rf "$work/runs/$name" "$work/runs/$name-ref"
on_one_host 2 "$work/runs/$name-ref.log" "${train[@]}" --run-dir "$work/runs/$name-ref" --set checkpoint_every_steps=5 \
  || { echo "the uninterrupted run failed:" >&2; tail -n 20 "$work/runs/$name-ref.log" >&2; exit 1; }
on_hosts 1 1 "$work/runs/$name.log" "${train[@]}" --run-dir "$work/runs/$name" --set checkpoint_every_steps=5 &
launcher=$!
victim=""
for _ in $(seq 600); do
  # Past the first checkpoint (step 5), then a moment more, so the kill lands between checkpoints.
  if [ -f "$work/runs/$name/checkpoint.fsdc" ]; then
    sleep 1
    for pid in $(pgrep -f "FsdNet.Cli.dll train .*--run-dir $work/runs/$name " || true); do
      if tr '\0' '\n' < "/proc/$pid/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1'; then victim=$pid; fi
    done
    [ -n "$victim" ] && break
  fi
  sleep 0.1
done
[ -n "$victim" ] || { echo "the rank on fsd-b was never found running" >&2; exit 1; }
kill -9 "$victim"
status=0
wait "$launcher" || status=$?
[ "$status" != 0 ] || { echo "mpirun exited 0 after a rank was killed" >&2; exit 1; }
message=$(grep -m1 -E 'exited on signal|noticed that process rank' "$work/runs/$name.log" || true)
[ -n "$message" ] || { echo "no message naming the killed rank:" >&2; tail -n 20 "$work/runs/$name.log" >&2; exit 1; }
echo "killed: rank 1 on fsd-b; mpirun exit $status: $(echo "$message" | xargs)"
on_hosts 1 1 "$work/runs/$name-resume.log" "${train[@]}" --run-dir "$work/runs/$name" --set checkpoint_every_steps=5 --resume \
  || { echo "resume on two hosts failed:" >&2; tail -n 20 "$work/runs/$name-resume.log" >&2; exit 1; }
echo "resumed: $(grep -m1 -oE 'in epoch [0-9]+ after step [0-9]+ of [0-9]+' "$work/runs/$name-resume.log")"
compare "killed and resumed" "$work/runs/$name" "$work/runs/$name-ref" "$work/runs/$name-resume.log"
echo "two-host runs equal to one host: $equal of 4"
[ "$equal" = 4 ] || exit 1
