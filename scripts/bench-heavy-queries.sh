#!/usr/bin/env bash
# The demo's sensors under a burst of heavy API queries (issue 10,
# finding 12): the demo at its default size (2,000,000 packets of history,
# 200 live packets/s), first idle, then with CLIENTS clients asking
# ten-year top=1000 questions back to back. It runs once per value of
# --heavy-queries in LIMITS (the default 4, and 1000: no limit to speak
# of) on the same database, and prints, for each, the sensors' lag while
# idle and under the burst, and the requests answered and refused.
#
# Each half second it reads /api/v1/sensors, as the dashboard does, and
# takes over the sensors the largest lag (the age of the oldest
# unacknowledged batch in the sensor's last health report: a stalled
# writer shows in the reports stored once it resumes) and the largest age
# of that report (the time since the collector stored it: a stalled writer
# stores none; about a second when all is well, the sensors' batch
# latency). Every loop is bounded.
#
#   scripts/bench-heavy-queries.sh
#   CLIENTS=16 IDLE=20 LOAD=40 LIMITS="4 1000" scripts/bench-heavy-queries.sh
set -euo pipefail
cd "$(dirname "$0")/.."

CLIENTS=${CLIENTS:-16}
IDLE=${IDLE:-20}
LOAD=${LOAD:-40}
LIMITS=${LIMITS:-"4 1000"}
PORT=${PORT:-18080}

tmp=$(mktemp -d)
demo=""
cleanup() {
	[ -n "$demo" ] && kill "$demo" 2>/dev/null && wait "$demo" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -tags duckdb_arrow -o "$tmp/nightjar" ./cmd/nightjar
base="http://127.0.0.1:$PORT"
from=$(date -u -d '-10 years +1 day' +%F)
to=$(date -u +%F)
heavy="$base/api/v1/top-ports?from=$from&to=$to&top=1000"

# lag prints the sample's lag and report age, in ms.
lag() {
	curl -s --max-time 5 "$base/api/v1/sensors?format=json" |
		grep -o '"received":"[^"]*"\|"lag_ns":[0-9]*' |
		awk -v now="$(date -u +%s.%N)" '
			/received/ { gsub(/"received":"|"/, ""); cmd = "date -u -d " $0 " +%s.%N"; cmd | getline r; close(cmd); a = (now - r) * 1000; if (a > age) age = a }
			/lag_ns/ { split($0, f, ":"); l = f[2] / 1e6; if (l > m) m = l }
			END { printf "%.0f %.0f\n", m, age }'
}

# sample samples the lag every half second for $1 seconds into file $2.
sample() {
	local end=$((SECONDS + $1))
	: >"$2"
	while [ $SECONDS -lt $end ]; do
		lag >>"$2" || true
		sleep 0.5
	done
}

# summary prints p50, p95 and the max of column $2 of the samples in
# file $1.
summary() {
	awk -v c="$2" '{ print $c }' "$1" | sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "no samples"; exit }
		p95 = int(NR * 0.95 + 0.5); if (p95 < 1) p95 = 1
		printf "p50 %d, p95 %d, max %d ms", v[int((NR + 1) / 2)], v[p95], v[NR] }'
}

# client asks the heavy question until $1 (epoch seconds), counting the
# status codes into file $2.
client() {
	while [ "$(date +%s)" -lt "$1" ]; do
		curl -s -o /dev/null -w '%{http_code}\n' --max-time 60 "$heavy" >>"$2" || echo 000 >>"$2"
	done
}

echo "== nightjar demo (2,000,000 packets of history), $CLIENTS clients asking $heavy"
for limit in $LIMITS; do
	"$tmp/nightjar" demo --data "$tmp/demo" --listen "127.0.0.1:$PORT" --heavy-queries "$limit" >"$tmp/demo-$limit.log" 2>&1 &
	demo=$!
	for _ in $(seq 600); do
		grep -q '^Dashboard:' "$tmp/demo-$limit.log" && break
		kill -0 "$demo" 2>/dev/null || { cat "$tmp/demo-$limit.log"; exit 1; }
		sleep 1
	done
	sleep 10 # the sensors connect and report
	sample "$IDLE" "$tmp/idle-$limit"
	: >"$tmp/codes-$limit"
	end=$(($(date +%s) + LOAD))
	pids=()
	for _ in $(seq "$CLIENTS"); do
		client "$end" "$tmp/codes-$limit" &
		pids+=($!)
	done
	sample "$LOAD" "$tmp/load-$limit"
	wait "${pids[@]}"
	kill "$demo"
	wait "$demo" 2>/dev/null || true
	demo=""
	ok=$(grep -c '^200$' "$tmp/codes-$limit" || true)
	busy=$(grep -c '^503$' "$tmp/codes-$limit" || true)
	other=$(grep -vc '^200$\|^503$' "$tmp/codes-$limit" || true)
	echo "--heavy-queries $limit: heavy requests $ok answered, $busy refused (503), $other other"
	echo "  idle:        lag $(summary "$tmp/idle-$limit" 1); report age $(summary "$tmp/idle-$limit" 2) ($(wc -l <"$tmp/idle-$limit") samples)"
	echo "  under burst: lag $(summary "$tmp/load-$limit" 1); report age $(summary "$tmp/load-$limit" 2) ($(wc -l <"$tmp/load-$limit") samples)"
done
