#!/usr/bin/env bash
# TitanStore's chaos demo, done right: start 3 key-value nodes, write, kill the leader, show the
# new one, restart the old node with its FULL configuration (peers included) and show it rejoin
# as a follower holding every value. Needs nc (netcat-openbsd). Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$(mktemp -d)
CLI="node bin/sandstore.js"
# The nodes' Raft ports answer only holders of the cluster token.
SANDSTORE_CLUSTER_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
export SANDSTORE_CLUSTER_TOKEN
declare -A PIDS
peers_of() { local self=$1 out=""; for j in 1 2 3; do [ "$j" = "$self" ] && continue; out+="${out:+,}n$j:127.0.0.1:500$j:600$j"; done; echo "$out"; }
start() {
  local i=$1
  $CLI kv node -id=n$i -port=500$i -client-port=600$i -advertise-client-addr=127.0.0.1:600$i \
    -peers="$(peers_of "$i")" --data-dir "$DATA/n$i" --bind 127.0.0.1 --quiet > "$DATA/n$i.out" 2>&1 &
  PIDS[$i]=$!
}
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DATA"; }
trap cleanup EXIT
send() { printf '%s\n' "$2" | nc -N 127.0.0.1 "600$1"; }
leader() {
  for _ in $(seq 1 100); do
    for i in 1 2 3; do
      [ -n "${PIDS[$i]:-}" ] || continue
      if [ "$(send "$i" 'SET demo:probe x' 2>/dev/null)" = "OK" ]; then echo "$i"; return; fi
    done
    sleep 0.1
  done
  echo "no leader" >&2; exit 1
}

for i in 1 2 3; do start "$i"; done
L=$(leader); echo "leader: n$L"
for k in 1 2 3 4 5; do send "$L" "SET city:$k value $k" > /dev/null; done
echo "wrote city:1..5 through n$L"
echo "a follower redirects: $(send $(( L % 3 + 1 )) 'SET x y')"

echo "kill -9 n$L"; kill -9 "${PIDS[$L]}"; unset "PIDS[$L]"
N=$(leader); echo "new leader: n$N"
send "$N" "SET city:6 written after failover" > /dev/null

echo "restart n$L with its full configuration"; start "$L"
sleep 1
echo "n$L now says: $(send "$L" 'SET x y')   (a follower, pointing at the leader)"
for k in 1 2 3 4 5 6; do echo "n$L GET city:$k -> $(send "$L" "GET city:$k")"; done
