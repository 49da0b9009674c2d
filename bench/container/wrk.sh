#!/usr/bin/env bash
# The model server against Flask + gunicorn with wrk (C, multi-threaded) as the load generator: autocannon
# (bench.ts) is single-threaded JavaScript and saturates near 20-25k req/s on two shared cores.
#   bash bench/container/wrk.sh            # needs Debian's wrk, gunicorn, python3-flask, python3-sklearn
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_CELL=${BENCH_SECONDS:-5}
CORES=$(nproc)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

node -e "const p=require('./models/breast-cancer/parity.json');process.stdout.write(JSON.stringify({instances:[p.rows[0].input]}))" > "$work/body.json"
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$work/body.json", "r"); wrk.body = f:read("*a"); f:close()
LUA

wait_for() { for _ in $(seq 1 120); do curl -sf -o /dev/null -X POST -H 'content-type: application/json' --data @"$work/body.json" "$1/invocations" && return 0; sleep 0.5; done; echo "no answer from $1" >&2; exit 1; }

run() { # name url
  for c in 1 16 64; do
    wrk -t1 -c"$c" -d2s -s "$work/post.lua" "$2/invocations" > /dev/null # warm-up
    wrk -t1 -c"$c" -d"${SECONDS_PER_CELL}s" --latency -s "$work/post.lua" "$2/invocations" |
      awk -v name="$1" -v c="$c" '/^ +50%/{p50=$2} /^ +99%/{p99=$2} /Requests\/sec/{rps=$2} /Non-2xx/{bad=$NF} END{printf "| %-36s | %3d | %9.0f | %8s | %8s | %s\n", name, c, rps, p50, p99, (bad==""?0:bad)}'
  done
}

echo "| system                               |   c |     req/s |      p50 |      p99 | non-2xx"
node_modules/.bin/tsx container/src/main.ts serve --model models/breast-cancer --port 18380 --host 127.0.0.1 --workers "$CORES" > "$work/server.log" 2>&1 &
wait_for http://127.0.0.1:18380
run "mlship server, $CORES workers, batching" http://127.0.0.1:18380
kill %1; wait %1 2>/dev/null || true

(cd bench/container && OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 exec gunicorn -w "$CORES" -k gthread --threads 4 -b 127.0.0.1:18381 --log-level warning flask_app:app) > "$work/flask.log" 2>&1 &
wait_for http://127.0.0.1:18381
run "Flask + gunicorn, $CORES workers" http://127.0.0.1:18381
