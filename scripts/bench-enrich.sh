#!/usr/bin/env bash
# Issue #12: what enrichment costs `nightjar ingest`. One simulated
# capture is ingested by this tree into an empty database, alternately
# without enrichment and with --geoip (the simulated Internet's database:
# every source in a country and a network) and --scanner-list (the 33 MISP
# warninglists of testdata); it prints each run's time and packets/s, the
# best of each side and the ratio (target: at most 1.15).
#
#   scripts/bench-enrich.sh [PACKETS]      (default 10000000)
#
# RUNS (3) runs per side; BENCH_DIR keeps the work directory (and the
# capture) between invocations.
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-10000000}
runs=${RUNS:-3}
work=${BENCH_DIR:-$(mktemp -d /tmp/nightjar-enrich-bench.XXXXXX)}
mkdir -p "$work"
go build -tags duckdb_arrow -o "$work/nightjar" ./cmd/nightjar
pcap="$work/sim-$packets.pcap"
if [ ! -s "$pcap" ] || [ ! -s "$work/geo.mmdb" ]; then
  "$work/nightjar" simulate -q --out "$pcap" --fleet-out "$work/fleet.yaml" --geography-out "$work/geo.mmdb" \
    --start 2024-07-01 --days 92 --packets "$packets" --seed 1
fi
cat "$pcap" >/dev/null # into the page cache, for both sides alike

# run ARGS...: one ingest into an empty database; prints its seconds.
run() {
  local db="$work/bench.duckdb"
  rm -f "$db" "$db.wal" "$db.lock"
  local t0 t1
  t0=$(date +%s%N)
  "$work/nightjar" ingest -q --db "$db" --sensors "$work/fleet.yaml" "$@" "$pcap" >/dev/null
  t1=$(date +%s%N)
  awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.2f\n", ns / 1e9 }'
}

printf '%-10s %3s %9s %12s\n' side run seconds packets/s
best_plain="" best_enriched=""
for i in $(seq "$runs"); do
  for side in plain enriched; do
    if [ "$side" = plain ]; then
      secs=$(run)
    else
      secs=$(run --geoip "$work/geo.mmdb" --scanner-list testdata/scanner-lists)
    fi
    printf '%-10s %3d %9.2f %12.0f\n' "$side" "$i" "$secs" "$(awk -v s="$secs" -v n="$packets" 'BEGIN { print n / s }')"
    if [ "$side" = plain ]; then
      if [ -z "$best_plain" ] || awk -v a="$secs" -v b="$best_plain" 'BEGIN { exit !(a < b) }'; then best_plain=$secs; fi
    else
      if [ -z "$best_enriched" ] || awk -v a="$secs" -v b="$best_enriched" 'BEGIN { exit !(a < b) }'; then best_enriched=$secs; fi
    fi
  done
done
awk -v p="$best_plain" -v e="$best_enriched" 'BEGIN {
  printf "best: plain %.2f s, enriched %.2f s: enrichment costs %+.1f %% (target at most +15 %%)\n", p, e, (e / p - 1) * 100 }'
