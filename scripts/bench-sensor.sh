#!/usr/bin/env bash
# Issue #4's performance benchmark (§4), on this machine, as root.
#
# 1. Capture: a scanner and a telescope network namespace joined by veth
#    (the layout of internal/testenv/netns.go: the telescope side has no
#    address and no IPv6), a simulated capture to 198.19.0.0/16, the
#    collector and one sensor (AF_PACKET, `sockets: 2`) inside the telescope
#    namespace, and `tcpdump -w /dev/null` on the same interface side by
#    side. The capture is replayed from the scanner namespace with
#    `tcpreplay --topspeed` (first with nothing capturing, for reference), then, if the sensor's kernel dropped frames,
#    at the fixed rates of RATES, highest first, until a rate has no drops
#    in any run. Each case runs RUNS times, each with a fresh sensor and
#    tcpdump; one line per run: tcpreplay's achieved rate, the sensor's
#    kernel drops (nightjar_sensor_kernel_drops_total), tcpdump's "dropped
#    by kernel", the sensor's, tcpdump's and the collector's CPU during the
#    replay (utime + stime from /proc/PID/stat over tcpreplay's sending
#    time, % of one core), the sensor's CPU per packet
#    until everything is acknowledged, its peak RSS (VmHWM) and the records
#    the collector stored (nightjar_collector_records_stored_total).
# 2. The collector: records/s one collector accepts into DuckDB from many
#    sensors, with internal/e2e's TestManySensors scaled up
#    (LOAD_SENSORS × LOAD_BATCHES × LOAD_RECORDS), LOAD_RUNS times.
# 3. The size of the static sensor binary for amd64, arm64 and arm (GOARM=7),
#    stripped (-s -w) and not.
#
#   scripts/bench-sensor.sh [PACKETS]          (default 1000000)
#
# Environment: RUNS (3), RATES ("400000 300000 250000 200000 150000 100000"),
# TCPDUMP_OPTS (extra tcpdump options, e.g. "-B 131072" for a ring as large
# as the sensor's two; default none: libpcap's 2 MiB buffer), PAUSE_COLLECTOR
# (set: the collector is stopped with SIGSTOP during each replay, as if it
# ran on another machine; the sensor spools meanwhile), LADDER (set: replay
# at every rate of RATES even when --topspeed had no drops),
# PART ("capture load size": which parts to run), LOAD_SENSORS (200),
# LOAD_BATCHES (20), LOAD_RECORDS (2048), LOAD_RUNS (RUNS), BENCH_DIR (a
# directory to keep the capture and the logs in). Packets go only between
# the two namespaces this script creates (198.18.0.0/15, no route out); the
# collector listens on the telescope namespace's loopback. Namespaces and
# processes are removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
packets=${1:-1000000}
runs=${RUNS:-3}
rates=${RATES:-400000 300000 250000 200000 150000 100000}
parts=${PART:-capture load size}
if [ "$(id -u)" -ne 0 ]; then
  echo "bench-sensor: needs root (network namespaces, AF_PACKET)" >&2
  exit 1
fi
scripts/deps.sh
command -v curl >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl >/dev/null

keep=${BENCH_DIR:-}
work=${BENCH_DIR:-$(mktemp -d /tmp/nightjar-bench-sensor.XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
tag=$(printf '%05x' $(($$ & 0xfffff)))
scanner=nj-bs-$tag telescope=nj-bt-$tag
scanner_if=njbs$tag telescope_if=njbt$tag
pids=() # the background processes this script started and has not reaped

# stop SIGNAL DAEMON STARTED: signals the daemon, gives it 30 s to exit
# (then kills it), and reaps STARTED, the PID this script started it as.
stop() {
  kill "-$1" "$2" 2>/dev/null || true
  local i
  for i in $(seq 300); do
    kill -0 "$3" 2>/dev/null || break
    [ "$i" -lt 300 ] || kill -KILL "$2" "$3" 2>/dev/null || true
    sleep 0.1
  done
  wait "$3" || true
  local p rest=()
  for p in "${pids[@]}"; do [ "$p" = "$3" ] || rest+=("$p"); done
  pids=("${rest[@]}")
}

cleanup() {
  set +e
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  ip netns del "$scanner" 2>/dev/null
  ip netns del "$telescope" 2>/dev/null
  [ -n "$keep" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Daemons are started as `ip netns exec NS CMD &`, never through a shell
# function (whose subshell would stand between $! and the daemon).
in_tel() { ip netns exec "$telescope" "$@"; }

# daemon_pid PID EXE: the process that runs EXE — PID itself (`ip netns
# exec` execs the command) or, were it a wrapper that forks, its child.
daemon_pid() {
  local pid=$1 exe=$2
  for _ in $(seq 200); do
    if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$exe" ]; then echo "$pid"; return; fi
    for c in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
      if [ "$(readlink "/proc/$c/exe" 2>/dev/null)" = "$exe" ]; then echo "$c"; return; fi
    done
    sleep 0.05
  done
  echo "bench-sensor: no process runs $exe under PID $pid" >&2
  return 1
}

# metric URL NAME: a sample's value (0 if absent), scraped inside the
# telescope namespace.
metric() {
  in_tel curl -sf --max-time 5 "$1" | awk -v n="$2" '$1 == n { v = $2 } END { printf "%.0f\n", v + 0 }'
}

# cpu_ticks PID: utime + stime in clock ticks.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
hz=$(getconf CLK_TCK)

# wait_until SECONDS WHAT CMD...: polls CMD until it succeeds.
wait_until() {
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "bench-sensor: timed out waiting for $what" >&2
      return 1
    fi
    sleep 0.1
  done
}

go build -tags duckdb_arrow -o "$work/nightjar" ./cmd/nightjar
CGO_ENABLED=0 go build -o "$work/nightjar-sensor" ./cmd/nightjar-sensor
nj=$work/nightjar
sensor_bin=$work/nightjar-sensor

bench_capture() {
  # The network, as testenv.NewLink builds it.
  ip netns add "$scanner"
  ip netns add "$telescope"
  ip link add "$scanner_if" netns "$scanner" type veth peer name "$telescope_if" netns "$telescope"
  in_tel sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip netns exec "$scanner" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip -n "$telescope" link set lo up
  ip -n "$telescope" link set "$telescope_if" up
  ip -n "$scanner" link set lo up
  ip -n "$scanner" addr add 198.18.0.2/24 dev "$scanner_if"
  ip -n "$scanner" link set "$scanner_if" up
  local mac
  mac=$(ip -n "$telescope" -br link show "$telescope_if" | awk '{ print $3 }')
  ip -n "$scanner" neigh add 198.18.0.1 lladdr "$mac" dev "$scanner_if" nud permanent
  ip -n "$scanner" route add 198.19.0.0/16 via 198.18.0.1 dev "$scanner_if"

  # The capture: one sensor watching 198.19.0.0/16.
  cat >"$work/fleet.yaml" <<'EOF'
sensors:
  - name: bench-1
    group: Japan
    country: JP
    addresses: [198.19.0.0/16]
EOF
  local pcap=$work/sim-$packets.pcap
  [ -s "$pcap" ] || "$nj" simulate -q --sensors "$work/fleet.yaml" --packets "$packets" --out "$pcap"

  rm -rf "$work/registry" "$work/sensor" "$work/telescope.duckdb"*
  "$nj" ca init --dir "$work/registry" --host 127.0.0.1 >/dev/null
  "$nj" ca enroll --dir "$work/registry" --name bench-1 --group Japan --country JP --prefix 198.19.0.0/16 --out "$work/sensor" >/dev/null
  cat >"$work/sensor/sensor.yaml" <<EOF
name: bench-1
interface: $telescope_if
sockets: 2
monitor: [198.19.0.0/16]
collector:
  address: 127.0.0.1:7443
  cert: sensor.crt
  key: sensor.key
  ca: ca.crt
spool:
  dir: spool
metrics: 127.0.0.1:9470
heartbeat: 1s
EOF
  local sensor_url=http://127.0.0.1:9470/metrics collector_url=http://127.0.0.1:9471/metrics
  ip netns exec "$telescope" "$nj" collector --db "$work/telescope.duckdb" --ca "$work/registry" \
    --listen 127.0.0.1:7443 --metrics 127.0.0.1:9471 >"$work/collector.log" 2>&1 &
  local cp=$!
  pids+=("$cp")
  local collector_pid
  collector_pid=$(daemon_pid "$cp" "$nj")
  wait_until 60 "the collector" grep -q "collector listening on" "$work/collector.log"

  echo "capture: $packets simulated packets to 198.19.0.0/16 ($(stat -c %s "$pcap") bytes), veth between two namespaces;"
  echo "sensor: AF_PACKET TPACKET_V3, sockets: 2 (64 MiB ring each), batches of 4096 records, spool fsync always;"
  [ -z "${PAUSE_COLLECTOR:-}" ] || echo "collector: stopped (SIGSTOP) during each replay"
  echo "tcpdump ${TCPDUMP_OPTS:+$TCPDUMP_OPTS }-w /dev/null on the same interface (${TCPDUMP_OPTS:-default buffer of libpcap}); $(nproc) cores; $runs runs per case"
  printf '%-9s %3s %10s %9s %9s %8s %8s %8s %8s %8s %10s\n' \
    rate run "sent pps" "sen drop" "tcpd drop" "sen cpu%" "tcpd cpu%" "col cpu%" "µs/pkt" "RSS MiB" stored
  replay() {
    ip netns exec "$scanner" tcpreplay -i "$scanner_if" --preload-pcap "$1" "$pcap" >"$work/tcpreplay.log" 2>&1
    awk '/Rated:/ { print $(NF-1) }' "$work/tcpreplay.log"
  }
  # Nothing capturing: how fast tcpreplay alone sends over this veth.
  local r
  for r in $(seq "$runs"); do
    printf '%-9s %3d %10.0f %9s %9s %8s %8s %8s %8s %8s %10s\n' alone "$r" "$(replay --topspeed)" - - - - - - - -
  done
  # one_run LABEL RUN TCPREPLAY-OPTION: prints one row; sets last_drops.
  one_run() {
    local label=$1 run=$2 opt=$3
    rm -rf "$work/sensor/spool"
    ip netns exec "$telescope" "$sensor_bin" --config "$work/sensor/sensor.yaml" >"$work/sensor.log" 2>&1 &
    local sp=$!
    pids+=("$sp")
    local spid
    spid=$(daemon_pid "$sp" "$sensor_bin")
    connected() { [ "$(metric "$sensor_url" nightjar_sensor_connected)" = 1 ]; }
    wait_until 30 "the sensor to connect" connected
    # shellcheck disable=SC2086 # TCPDUMP_OPTS is a list of options
    ip netns exec "$telescope" tcpdump -i "$telescope_if" ${TCPDUMP_OPTS:-} -w /dev/null 2>"$work/tcpdump.log" &
    local tp=$!
    pids+=("$tp")
    local tpid
    tpid=$(daemon_pid "$tp" "$(readlink -f "$(command -v tcpdump)")")
    wait_until 10 "tcpdump" grep -q "listening on" "$work/tcpdump.log"
    local stored0 s0 t0 c0
    stored0=$(metric "$collector_url" nightjar_collector_records_stored_total)
    s0=$(cpu_ticks "$spid") t0=$(cpu_ticks "$tpid") c0=$(cpu_ticks "$collector_pid")
    local pps
    [ -z "${PAUSE_COLLECTOR:-}" ] || kill -STOP "$collector_pid"
    pps=$(replay "$opt")
    local s1 t1 c1
    s1=$(cpu_ticks "$spid") t1=$(cpu_ticks "$tpid") c1=$(cpu_ticks "$collector_pid")
    [ -z "${PAUSE_COLLECTOR:-}" ] || kill -CONT "$collector_pid"
    # Everything seen, batched, sent and acknowledged.
    settled() {
      local seen drops spooled
      seen=$(metric "$sensor_url" 'nightjar_sensor_packets_total{outcome="seen"}')
      drops=$(metric "$sensor_url" nightjar_sensor_kernel_drops_total)
      spooled=$(metric "$sensor_url" nightjar_sensor_spool_batches)
      [ $((seen + drops)) -ge "$packets" ] && [ "$spooled" -eq 0 ]
    }
    wait_until 120 "the sensor to settle" settled || true
    local s2 rss drops
    s2=$(cpu_ticks "$spid")
    rss=$(awk '/^VmHWM:/ { print $2 }' "/proc/$spid/status")
    drops=$(metric "$sensor_url" nightjar_sensor_kernel_drops_total)
    stop INT "$tpid" "$tp"
    stop TERM "$spid" "$sp"
    local stored1
    stored1=$(metric "$collector_url" nightjar_collector_records_stored_total)
    local secs tdrops
    secs=$(awk '/Actual:/ { print $(NF-1) }' "$work/tcpreplay.log")
    tdrops=$(awk '/dropped by kernel/ { print $1 }' "$work/tcpdump.log")
    awk -v l="$label" -v r="$run" -v pps="$pps" -v d="$drops" -v td="$tdrops" -v hz="$hz" \
      -v s0="$s0" -v s1="$s1" -v s2="$s2" -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v secs="$secs" \
      -v n="$packets" -v rss="$rss" -v st=$((stored1 - stored0)) 'BEGIN {
        printf "%-9s %3d %10.0f %9d %9d %8.0f %8.0f %8.0f %8.2f %8.1f %10d\n", l, r, pps, d, td,
          100 * (s1 - s0) / hz / secs, 100 * (t1 - t0) / hz / secs, 100 * (c1 - c0) / hz / secs,
          1e6 * (s2 - s0) / hz / n, rss / 1024, st }'
    last_drops=$drops
  }
  local any=0
  for r in $(seq "$runs"); do
    one_run topspeed "$r" --topspeed
    [ "$last_drops" -eq 0 ] || any=1
  done
  if [ "$any" -eq 1 ] || [ -n "${LADDER:-}" ]; then
    local rate
    for rate in $rates; do
      any=0
      for r in $(seq "$runs"); do
        one_run "$rate" "$r" "--pps=$rate"
        [ "$last_drops" -eq 0 ] || any=1
      done
      if [ "$any" -eq 0 ] && [ -z "${LADDER:-}" ]; then
        echo "highest rate of RATES with zero sensor kernel drops in $runs runs: $rate pps"
        break
      fi
    done
  fi
  stop TERM "$collector_pid" "$cp"
}

bench_load() {
  local sensors=${LOAD_SENSORS:-200} batches=${LOAD_BATCHES:-20} records=${LOAD_RECORDS:-2048} r
  echo "collector: $sensors sensors × $batches batches × $records records (TestManySensors), ${LOAD_RUNS:-$runs} runs"
  for r in $(seq "${LOAD_RUNS:-$runs}"); do
    NIGHTJAR_LOAD_SENSORS=$sensors NIGHTJAR_LOAD_BATCHES=$batches NIGHTJAR_LOAD_RECORDS=$records \
      go test ./internal/e2e -run '^TestManySensors$' -count 1 -v -timeout 30m 2>&1 |
      grep -E 'records/s|FAIL' | sed "s/^ *load_test.go:[0-9]*: /run $r: /"
  done
}

bench_size() {
  echo "nightjar-sensor, CGO_ENABLED=0 go build -trimpath ($(go version | awk '{ print $3 }')), bytes:"
  printf '%-16s %12s %12s\n' target "-s -w" "no -s -w"
  local t
  for t in amd64 arm64 arm; do
    local env=(GOOS=linux "GOARCH=$t")
    [ "$t" = arm ] && env+=(GOARM=7)
    env CGO_ENABLED=0 "${env[@]}" go build -trimpath -ldflags='-s -w' -o "$work/size-s" ./cmd/nightjar-sensor
    env CGO_ENABLED=0 "${env[@]}" go build -trimpath -o "$work/size-full" ./cmd/nightjar-sensor
    printf '%-16s %12d %12d\n' "linux/$t$([ "$t" = arm ] && echo v7)" "$(stat -c %s "$work/size-s")" "$(stat -c %s "$work/size-full")"
  done
}

for part in $parts; do
  case $part in
  capture) bench_capture ;;
  load) bench_load ;;
  size) bench_size ;;
  *) echo "bench-sensor: unknown PART $part (capture, load, size)" >&2; exit 2 ;;
  esac
done
