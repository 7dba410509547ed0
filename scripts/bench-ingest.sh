#!/usr/bin/env bash
# Issue #11: `nightjar ingest` end to end (read, hash, decode, tag, store,
# rollups, close) of one simulated capture, this tree against an earlier
# revision, run alternately on the same capture, each into an empty
# database. For every run it prints the time, packets/s, the peak
# memory (resident, and its anonymous part: the mapped capture's pages
# are file-backed), the database's bytes per packet; then the best of
# each side and the ratio. The CPU profile of this tree's last run is
# kept in the work directory (go tool pprof WORK/nightjar-after WORK/after.prof).
#
#   scripts/bench-ingest.sh [PACKETS]      (default 10000000)
#
# BEFORE is the revision to compare with (default 2e75e9a, before the
# Arrow write path and hourly rollups); RUNS (3) runs per side; BENCH_DIR
# keeps the work directory (and the capture) between invocations.
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-10000000}
before=${BEFORE:-2e75e9a}
runs=${RUNS:-3}
work=${BENCH_DIR:-$(mktemp -d /tmp/nightjar-ingest-bench.XXXXXX)}
mkdir -p "$work"

go build -tags duckdb_arrow -o "$work/nightjar-after" ./cmd/nightjar
if [ ! -x "$work/nightjar-before-$before" ]; then
  src=$(mktemp -d "$work/src.XXXXXX")
  git archive "$before" | tar -x -C "$src"
  (cd "$src" && go build -tags duckdb_arrow -o "$work/nightjar-before-$before" ./cmd/nightjar)
  rm -rf "$src"
fi

pcap="$work/sim-$packets.pcap"
if [ ! -s "$pcap" ]; then
  "$work/nightjar-after" simulate -q --out "$pcap" --fleet-out "$work/fleet.yaml" --start 2024-07-01 --days 92 --packets "$packets" --seed 1
fi
cat "$pcap" >/dev/null # into the page cache, for both sides alike

# run SIDE BINARY [ARGS...]: one ingest into an empty database; prints
# "seconds rss_mib anon_mib bytes_per_packet".
run() {
  local side=$1 bin=$2; shift 2
  local db="$work/$side.duckdb"
  rm -f "$db" "$db.wal" "$db.lock"
  local t0 t1 pid rss=0 anon=0
  t0=$(date +%s%N)
  "$bin" ingest -q --db "$db" --sensors "$work/fleet.yaml" "$@" "$pcap" >/dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    read -r r a < <(awk '/^VmRSS/ { r = $2 } /^RssAnon/ { a = $2 } END { print r + 0, a + 0 }' "/proc/$pid/status" 2>/dev/null || echo "0 0")
    [ "$r" -gt "$rss" ] && rss=$r
    [ "$a" -gt "$anon" ] && anon=$a
    sleep 0.1
  done
  wait "$pid"
  t1=$(date +%s%N)
  local bytes
  bytes=$(stat -c %s "$db")
  awk -v ns=$((t1 - t0)) -v rss="$rss" -v anon="$anon" -v b="$bytes" -v n="$packets" \
    'BEGIN { printf "%.2f %.0f %.0f %.1f\n", ns / 1e9, rss / 1024, anon / 1024, b / n }'
}

printf '%-8s %3s %9s %12s %10s %10s %8s\n' side run seconds packets/s "peak MiB" "anon MiB" "B/packet"
best_before="" best_after=""
for i in $(seq "$runs"); do
  for side in before after; do
    if [ "$side" = before ]; then
      out=$(run before "$work/nightjar-before-$before")
    else
      out=$(run after "$work/nightjar-after" --cpuprofile "$work/after.prof")
    fi
    read -r secs rss anon bpp <<<"$out"
    printf '%-8s %3d %9.2f %12.0f %10s %10s %8s\n' "$side" "$i" "$secs" "$(awk -v s="$secs" -v n="$packets" 'BEGIN { print n / s }')" "$rss" "$anon" "$bpp"
    if [ "$side" = before ]; then
      if [ -z "$best_before" ] || awk -v a="$secs" -v b="$best_before" 'BEGIN { exit !(a < b) }'; then best_before=$secs; fi
    else
      if [ -z "$best_after" ] || awk -v a="$secs" -v b="$best_after" 'BEGIN { exit !(a < b) }'; then best_after=$secs; fi
    fi
  done
done
awk -v b="$best_before" -v a="$best_after" -v n="$packets" -v rev="$before" 'BEGIN {
  printf "best: before (%s) %.2f s, %.2f M packets/s; after %.2f s, %.2f M packets/s; after/before %.2fx; target 2 M packets/s: %s\n",
    rev, b, n / b / 1e6, a, n / a / 1e6, b / a, (n / a >= 2e6 ? "met" : "not met")
}'
echo "work directory: $work (CPU profile: go tool pprof $work/nightjar-after $work/after.prof)"
