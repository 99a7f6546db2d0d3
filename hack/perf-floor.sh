#!/usr/bin/env bash
# perf-floor.sh: the CPU a request costs a Go HTTPS server that decides
# nothing (hack/floor), under the load ../shared/perf/peer.sh puts on
# gitgate and OPA: the same bodies, one core (GOMAXPROCS=1, taskset -c 1),
# vegeta on core 0 with keep-alive HTTP/1.1. Run it back to back with
# peer.sh and read gitgate's figure against this one (BENCHMARKS.md).
#
#   hack/perf-floor.sh "1000 1000 1000"
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PERF=${PERF:-$ROOT/../shared/perf}
RATES=${1:-"1000"}; DUR=${DUR:-10s}
B=${PERF_BIN:-$HOME/.cache/gitgate-perf/bin}; mkdir -p "$B"
[[ -x $B/vegeta ]] || GOBIN=$B go install github.com/tsenart/vegeta/v12@v12.13.0
W=$(mktemp -d -t gg-floor.XXXXXX); PORT=$((20000 + RANDOM % 20000))
trap 'kill "${FLOOR:-}" 2>/dev/null; rm -rf "$W"' EXIT
(cd "$PERF/gen" && go build -o "$W/gen" .)
mkdir -p "$W/bench" && "$W/gen" -n 300 -out "$W/bench" -port "$PORT" >/dev/null # the 300 bodies of each class
openssl ecparam -name prime256v1 -genkey -noout -out "$W/tls.key" 2>/dev/null
openssl req -x509 -new -key "$W/tls.key" -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 2 -out "$W/tls.crt" 2>/dev/null
(cd "$ROOT" && go build -o "$W/floor" ./hack/floor)
GOMAXPROCS=1 taskset -c 1 "$W/floor" "127.0.0.1:$PORT" "$W/tls.crt" "$W/tls.key" & FLOOR=$!
for _ in $(seq 1 50); do curl -sk -o /dev/null "https://127.0.0.1:$PORT/" && break; sleep 0.1; done
cpu_us() { awk '{print ($14+$15)*1000000/100}' "/proc/$1/stat"; } # utime+stime, CLK_TCK=100
taskset -c 0 "$B/vegeta" attack -targets="$W/bench/targets.txt" -rate=200 -duration=3s -insecure -http2=false >/dev/null
for r in $RATES; do
  c0=$(cpu_us "$FLOOR")
  taskset -c 0 "$B/vegeta" attack -targets="$W/bench/targets.txt" -rate="$r" -duration="$DUR" -insecure -http2=false \
    -max-workers=256 >"$W/out.bin"
  c1=$(cpu_us "$FLOOR")
  "$B/vegeta" report -type=json "$W/out.bin" | python3 -c '
import json, sys
d = json.load(sys.stdin); c0, c1, r = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
n, lat, ok = d["requests"] or 1, d["latencies"], d["success"] * 100
print("floor    rate=%5s/s  ok=%6.2f%%  p50=%7.2fms  p99=%7.2fms  cpu/req=%7.1fus" % (r, ok, lat["50th"] / 1e6, lat["99th"] / 1e6, (c1 - c0) / n))
' "$c0" "$c1" "$r"
done
