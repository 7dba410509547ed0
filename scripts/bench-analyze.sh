#!/usr/bin/env bash
# Issue #2's comparison benchmark: on the same simulated capture, in one run,
# time `nightjar analyze` (pinned to one core), the classic
# `tcpdump | awk | sort | uniq -c` pipeline, `tshark -T fields | sort | uniq -c`
# and libtrace's `tracestats`, and print each one's packets/s and its ratio to
# nightjar. Each tool runs RUNS times on a file in the page cache; the best
# time counts (the least disturbed run).
#
#   scripts/bench-analyze.sh [PACKETS]      (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-1000000}
runs=${RUNS:-3}
work=${BENCH_DIR:-$(mktemp -d /tmp/nightjar-bench.XXXXXX)}
scripts/deps.sh

go build -o "$work/nightjar" ./cmd/nightjar
pcap="$work/sim-$packets.pcap"
if [ ! -s "$pcap" ]; then
  "$work/nightjar" simulate --quiet --out "$pcap" --fleet-out "$work/fleet.yaml" \
    --start 2024-07-01 --days 92 --packets "$packets" --seed 1 2>/dev/null
fi
cat "$pcap" >/dev/null # into the page cache
size=$(stat -c %s "$pcap")

# best_of CMD...: runs CMD $runs times, prints the best wall time in seconds.
best_of() {
  local best=""
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    bash -c "$1" >/dev/null 2>&1
    t1=$(date +%s%N)
    local dt=$(( t1 - t0 ))
    if [ -z "$best" ] || [ "$dt" -lt "$best" ]; then best=$dt; fi
  done
  awk -v ns="$best" 'BEGIN { printf "%.4f", ns / 1e9 }'
}

declare -A cmds=(
  [nightjar]="taskset -c 0 env GOMAXPROCS=1 '$work/nightjar' analyze --quiet --sensors '$work/fleet.yaml' '$pcap'"
  [tcpdump]="tcpdump -nn -q -r '$pcap' | awk '{print \$5}' | sort | uniq -c"
  [tshark]="tshark -n -r '$pcap' -T fields -e ip.dst -e tcp.dstport -e udp.dstport | sort | uniq -c"
  [tracestats]="tracestats 'pcapfile:$pcap'"
)
order=(nightjar tcpdump tshark tracestats)

echo "capture: $packets packets, $size bytes ($pcap); best of $runs runs; $(nproc) cores"
declare -A secs
for name in "${order[@]}"; do
  secs[$name]=$(best_of "${cmds[$name]}")
done
printf '%-11s %10s %14s %10s\n' tool seconds packets/s "x slower"
for name in "${order[@]}"; do
  awk -v n="$name" -v s="${secs[$name]}" -v p="$packets" -v base="${secs[nightjar]}" \
    'BEGIN { printf "%-11s %10.4f %14.0f %10.1f\n", n, s, p / s, s / base }'
done
echo "commands:"
for name in "${order[@]}"; do echo "  $name: ${cmds[$name]}"; done
