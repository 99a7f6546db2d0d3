#!/usr/bin/env bash
# Soak test: one gitgate replica answers REQUESTS AdmissionReviews at RATE/s
# through its real TLS server on loopback, driven by ../shared/perf/peer.sh
# (gitgate alone: SKIP_OPA=1), while this script samples the process every
# 10 s: resident memory (VmRSS), goroutines and the decisions it counted.
# At the end it checks that every answer was right: peer.sh's bodies are
# 50% agent updates and 25% matching updates (allowed) and 25% drifting
# updates (denied), so the denied share must be a quarter, and no request
# may have failed.
#
# Usage: hack/soak.sh [REQUESTS] [RATE]   (default 1000000 at 1500/s: 11 min)
# Prints the samples and a summary; exits 1 when an answer was wrong, RSS
# moved more than 10% after warm-up, or goroutines grew past 110% of
# their count then.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
requests=${1:-1000000}
rate=${2:-1500}
peer=${PEER_SH:-$root/../shared/perf/peer.sh}
[[ -x $peer ]] || { echo "soak: $peer not found" >&2; exit 2; }
seconds=$(((requests + rate - 1) / rate))
out=$(mktemp -d -t gg-soak.XXXXXX)
echo "soak: $requests requests at $rate/s ($seconds s), work dir $out" >&2

SKIP_OPA=1 DUR=${seconds}s "$peer" "$root" "$rate" 10000 >"$out/peer.log" 2>&1 &
peer_pid=$!

# The gitgate peer.sh starts: its own binary in peer.sh's work dir.
pid=""
for _ in $(seq 1 600); do
	pid=$(pgrep -f 'gg-perf\..*/gitgate serve' | head -1 || true)
	[[ -n $pid ]] && break
	sleep 1
done
[[ -n $pid ]] || { echo "soak: gitgate did not start" >&2; cat "$out/peer.log"; exit 1; }
metrics=$(tr '\0' ' ' <"/proc/$pid/cmdline" | sed -E 's/.*--metrics-bind-address ([^ ]+).*/\1/')
# Wait until the load runs (peer.sh warms up for 3 s first).
until grep -q 'gitgate ready' "$out/peer.log" 2>/dev/null; do sleep 1; kill -0 "$peer_pid" 2>/dev/null || break; done

sample() {
	local rss goroutines allowed denied
	rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
	m=$(curl -sf "http://$metrics/metrics" || true)
	goroutines=$(awk '/^go_goroutines /{print $2}' <<<"$m")
	allowed=$(awk '/^gitgate_admission_decisions_total\{.*decision="allowed"/{s+=$2} END{printf "%d", s}' <<<"$m")
	denied=$(awk '/^gitgate_admission_decisions_total\{.*decision="denied"/{s+=$2} END{printf "%d", s}' <<<"$m")
	echo "$(date +%s) $rss $goroutines $allowed $denied"
}
: >"$out/samples"
while kill -0 "$peer_pid" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do
	sample >>"$out/samples"
	sleep 10
done
wait "$peer_pid" || true
cat "$out/peer.log"
grep -q 'ok=100.00%' "$out/peer.log" || { echo "soak: FAILED: not every request was answered 200" >&2; exit 1; }
python3 - "$out/samples" "$requests" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 5 and l.split()[2]]
t0 = int(rows[0][0])
print("   t  rss_MB goroutines   allowed    denied")
for r in rows:
    print(f"{int(r[0])-t0:4d} {int(r[1])/1024:7.1f} {r[2]:>10} {r[3]:>9} {r[4]:>9}")
# Warm-up: the first minute. RSS is flat when every later sample is
# within 10% of the first one after warm-up. Goroutines follow the open
# connections (one per keep-alive connection, which vegeta opens and
# closes as it needs): flat means they never grow past 110% of the count
# at the end of warm-up; a leak grows.
warm = [r for r in rows if int(r[0]) - t0 >= 60] or rows
base_rss, base_g = int(warm[0][1]), float(warm[0][2])
rss_dev = max(abs(int(r[1]) - base_rss) / base_rss for r in warm)
g_dev = max(0.0, max((float(r[2]) - base_g) / base_g for r in warm))
allowed, denied = int(rows[-1][3]), int(rows[-1][4])
total = allowed + denied
share = denied / total if total else 0
print(f"decisions {total} (allowed {allowed}, denied {denied}, denied share {share:.4f}, want 0.25)")
print(f"after warm-up: RSS {base_rss/1024:.1f} MB, max deviation {rss_dev*100:.1f}%; goroutines {base_g:.0f}, most above it {g_dev*100:.1f}%, last {rows[-1][2]}")
ok = abs(share - 0.25) < 0.002 and rss_dev <= 0.10 and g_dev <= 0.10
print("soak:", "passed" if ok else "FAILED")
sys.exit(0 if ok else 1)
PY
