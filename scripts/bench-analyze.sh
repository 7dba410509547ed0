#!/usr/bin/env bash
# Issue #2's and #11's comparison benchmark: on the same simulated capture, in
# one run, time `nightjar analyze` on every core (its default --workers) and
# pinned to one (`--workers 1`), the classic `tcpdump | awk | sort | uniq -c`
# pipeline, `tshark -T fields | sort | uniq -c`, and libtrace's `tracestats`
# and `tracereport -p` (its per-port report), and print each one's packets/s
# and its ratio to nightjar on every core, then nightjar's scaling: the
# speed-up of every core over one, and its efficiency (speed-up / cores).
# Each tool runs RUNS times on a file in the page cache; the best time counts
# (the least disturbed run). The two nightjar runs must print the same report.
#
#   scripts/bench-analyze.sh [PACKETS]      (default 1000000)
#   SKIP="tshark" scripts/bench-analyze.sh  (leave out the slow peers named)
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-1000000}
runs=${RUNS:-3}
work=${BENCH_DIR:-$(mktemp -d /tmp/nightjar-bench.XXXXXX)}
scripts/deps.sh

go build -tags duckdb_arrow -o "$work/nightjar" ./cmd/nightjar
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

analyze="'$work/nightjar' analyze --quiet --format json --sensors '$work/fleet.yaml' '$pcap'"
declare -A cmds=(
  [nightjar]="$analyze"
  [nightjar-1]="taskset -c 0 env GOMAXPROCS=1 $analyze --workers 1"
  [tcpdump]="tcpdump -nn -q -r '$pcap' | awk '{print \$5}' | sort | uniq -c"
  [tshark]="tshark -n -r '$pcap' -T fields -e ip.dst -e tcp.dstport -e udp.dstport | sort | uniq -c"
  [tracestats]="tracestats 'pcapfile:$pcap'"
  # tracereport writes its report to ./ports.rpt.
  [tracereport]="cd '$work' && tracereport -p 'pcapfile:$pcap'"
)
order=()
for name in nightjar nightjar-1 tcpdump tshark tracestats tracereport; do
  case " ${SKIP:-} " in *" $name "*) ;; *) order+=("$name") ;; esac
done

if ! cmp -s <(bash -c "${cmds[nightjar]}") <(bash -c "${cmds[nightjar-1]}"); then
  echo "nightjar analyze on every core and on one print different reports" >&2
  exit 1
fi

echo "capture: $packets packets, $size bytes ($pcap); best of $runs runs; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A secs
for name in "${order[@]}"; do
  secs[$name]=$(best_of "${cmds[$name]}")
done
printf '%-11s %10s %14s %10s\n' tool seconds packets/s "x slower"
for name in "${order[@]}"; do
  awk -v n="$name" -v s="${secs[$name]}" -v p="$packets" -v base="${secs[nightjar]}" \
    'BEGIN { printf "%-11s %10.4f %14.0f %10.1f\n", n, s, p / s, s / base }'
done
awk -v one="${secs[nightjar-1]}" -v all="${secs[nightjar]}" -v cores="$(nproc)" -v p="$packets" \
  'BEGIN { printf "nightjar scaling: one core %.2f M packets/s, %d cores %.2f M packets/s: speed-up %.2f, efficiency %.0f %%\n", p / one / 1e6, cores, p / all / 1e6, one / all, 100 * one / all / cores }'
echo "commands:"
for name in "${order[@]}"; do echo "  $name: ${cmds[$name]}"; done
