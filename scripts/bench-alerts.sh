#!/usr/bin/env bash
# Issue #14's evaluation of the alert detectors: for each seed, simulate the
# labelled quarter (simulate --alert-scenario: 13 weeks from 2024-07-01 with
# daily and weekly cycles, 18 injected events, quiet weeks), ingest it with
# the simulated Internet's geography and research-scanner list, backtest
# the detectors (defaults) over the weeks after the 4 baseline weeks, and
# score the alerts against the ground truth: per event kind found, found at
# its place, research-labelled, median time to detection; then recall,
# precision, and false alerts per sensor-week on the quiet weeks.
#
#   scripts/bench-alerts.sh [SEED...]         (default: 1 2 3)
#   PACKETS=20000000 scripts/bench-alerts.sh  (default 10000000, the scenario's)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3)
packets=${PACKETS:-10000000}
work=${BENCH_DIR:-$(mktemp -d /tmp/nightjar-alerts.XXXXXX)}
go build -tags duckdb_arrow -o "$work/nightjar" ./cmd/nightjar
nj="$work/nightjar"
for seed in "${seeds[@]}"; do
  d="$work/seed-$seed"
  mkdir -p "$d"
  if [ ! -s "$d/q.duckdb" ]; then
    "$nj" simulate --quiet --out "$d/q.pcap.zst" --alert-scenario --start 2024-07-01 --seed "$seed" --packets "$packets" \
      --fleet-out "$d/fleet.yaml" --geography-out "$d/geo.mmdb" --research-out "$d/research.txt" --events-truth "$d/events-truth.json" >/dev/null
    "$nj" ingest --quiet --db "$d/q.duckdb" --sensors "$d/fleet.yaml" --geoip "$d/geo.mmdb" \
      --scanner-list "research=$d/research.txt" "$d/q.pcap.zst" >/dev/null
    rm -f "$d/q.pcap.zst"
  fi
  t0=$(date +%s%N)
  "$nj" alerts backtest --db "$d/q.duckdb" --from 2024-07-29 --to 2024-09-29 --json >"$d/alerts.json" 2>/dev/null
  t1=$(date +%s%N)
  echo "== seed $seed: $packets packets, backtest of 2024-07-29..2024-09-29 in $(( (t1 - t0) / 1000000 )) ms"
  "$nj" alerts evaluate --truth "$d/events-truth.json" --from 2024-07-29 "$d/alerts.json"
done
