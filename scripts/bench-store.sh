#!/usr/bin/env bash
# Issue #3 §7: query times over a quarter of a 20-sensor fleet (100 million
# simulated packets by default) stored in the embedded DuckDB database, each
# question from the rollups (whole-hour periods) and from the raw records
# (the same period shifted by 30 minutes, which the store answers from raw).
# Times are the best of RUNS runs of the CLI, process start and database
# open included.
#
#   scripts/bench-store.sh [PACKETS]       (default 100000000)
#
# BENCH_DIR keeps the work directory (the database) between runs; with
# KEEP_PCAP=1 the simulated capture stays there too, and is reused when the
# database is deleted (after a schema change).
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-100000000}
runs=${RUNS:-3}
work=${BENCH_DIR:-$(mktemp -d /tmp/nightjar-store-bench.XXXXXX)}
mkdir -p "$work"
go build -tags duckdb_arrow -o "$work/nightjar" ./cmd/nightjar
nj="$work/nightjar"

fleet="$work/fleet20.yaml"
{
  echo "sensors:"
  for i in $(seq 0 19); do
    group=Japan; country=JP
    if [ "$i" -ge 10 ]; then group=overseas; country=US; fi
    echo "  - {name: s$i, group: $group, country: $country, addresses: [198.18.$i.0/28]}"
  done
} >"$fleet"

db="$work/q3-$packets.duckdb"
if [ ! -s "$db" ]; then
  pcap="$work/q3-$packets.pcap"
  t0=$(date +%s)
  if [ ! -s "$pcap" ]; then
    "$nj" simulate -q --out "$pcap" --sensors "$fleet" --start 2024-07-01 --days 92 --packets "$packets" --seed 1
  fi
  t1=$(date +%s)
  "$nj" ingest -q --db "$db" --sensors "$fleet" --retention 0 "$pcap"
  t2=$(date +%s)
  echo "simulated $packets packets in $((t1 - t0)) s; ingested in $((t2 - t1)) s"
  if [ "${KEEP_PCAP:-}" != 1 ]; then rm -f "$pcap"; fi
fi
echo "database: $(du -h "$db" | cut -f1) for $packets packets"

best_of() {
  local best=""
  for _ in $(seq "$runs"); do
    local t0 t1 dt
    t0=$(date +%s%N)
    "$@" >/dev/null
    t1=$(date +%s%N)
    dt=$(( (t1 - t0) / 1000000 ))
    if [ -z "$best" ] || [ "$dt" -lt "$best" ]; then best=$dt; fi
  done
  echo "$best"
}

q3=(--period 2024Q3)
q3raw=(--from 2024-07-01T00:30:00Z --to 2024-10-01T00:30:00Z)
aug=(--period 2024-08)
augraw=(--from 2024-08-01T00:30:00Z --to 2024-09-01T00:30:00Z)
printf '%-52s %12s %12s %s\n' question "rollups ms" "raw ms" target
row() { # name target args...
  local name=$1 target=$2; shift 2
  printf '%-52s %12s %12s %s\n' "$name" "$(best_of "$@" "${period[@]}")" "$(best_of "$@" "${rawperiod[@]}")" "$target"
}
period=("${q3[@]}"); rawperiod=("${q3raw[@]}")
row "top-10 ports per sensor, quarter" "< 300 ms" "$nj" query top-ports --db "$db" --top 10
row "top-10 ports per group and fleet, quarter" "" "$nj" query group-top-ports --db "$db" --top 10
row "monthly group averages, quarter" "< 300 ms" "$nj" query group-averages --db "$db"
row "tag counts, quarter" "" "$nj" query tags --db "$db"
period=("${aug[@]}"); rawperiod=("${augraw[@]}")
row "top-100 sources, month" "< 1 s" "$nj" query top-sources --db "$db" --top 100
row "distinct sources and Mirai share per port, month" "" "$nj" query port-sources --db "$db" --top 10
row "daily series of 23/TCP per sensor, month" "" "$nj" query port-series --db "$db" --port 23/TCP --resolution day --by sensor
