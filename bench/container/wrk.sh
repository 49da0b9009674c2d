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
      awk -v name="$1" -v c="$c" '/^ +50%/{p50=$2} /^ +99%/{p99=$2} /Requests\/sec/{rps=$2} /Non-2xx/{bad=$NF} END{printf "| %-44s | %3d | %9.0f | %8s | %8s | %s\n", name, c, rps, p50, p99, (bad==""?0:bad)}' |
      tee -a "$work/table"
  done
}

# "12.3ms" / "456.00us" -> milliseconds
to_ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) print v/1000; else if (v ~ /ms$/) print v+0; else print v*1000 }'; }
ratio() { # ours flask: req/s and p99 ratios at c=64
  local a b
  a=$(awk -F'|' -v n="$1" '$2 ~ n && $3+0==64' "$work/table"); b=$(awk -F'|' -v n="$2" '$2 ~ n && $3+0==64' "$work/table")
  local ra rb pa pb
  ra=$(echo "$a" | awk -F'|' '{print $4+0}'); rb=$(echo "$b" | awk -F'|' '{print $4+0}')
  pa=$(to_ms "$(echo "$a" | awk -F'|' '{gsub(/ /,"",$6); print $6}')"); pb=$(to_ms "$(echo "$b" | awk -F'|' '{gsub(/ /,"",$6); print $6}')")
  awk -v ra="$ra" -v rb="$rb" -v pa="$pa" -v pb="$pb" -v n="$2" 'BEGIN{printf "c=64 against %s: %.1fx the requests/s (target >= 10x), p99 %.2fx (target <= 0.25x)\n", n, ra/rb, pa/pb}'
}

echo "| system                                       |   c |     req/s |      p50 |      p99 | non-2xx"
MLSHIP_MAX_BATCH_DELAY_US=0 node_modules/.bin/tsx container/src/main.ts serve --model models/breast-cancer --port 18379 --host 127.0.0.1 --workers "$CORES" > "$work/server-nobatch.log" 2>&1 &
pid=$!
wait_for http://127.0.0.1:18379
run "mlship server, $CORES workers, no batching" http://127.0.0.1:18379
kill "$pid"; wait "$pid" 2>/dev/null || true

node_modules/.bin/tsx container/src/main.ts serve --model models/breast-cancer --port 18380 --host 127.0.0.1 --workers "$CORES" > "$work/server.log" 2>&1 &
pid=$!
wait_for http://127.0.0.1:18380
run "mlship server, $CORES workers, batching" http://127.0.0.1:18380
kill "$pid"; wait "$pid" 2>/dev/null || true

(cd bench/container && OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 exec gunicorn -w "$CORES" -k gthread --threads 4 -b 127.0.0.1:18381 --log-level warning flask_app:app) > "$work/flask.log" 2>&1 &
pid=$!
wait_for http://127.0.0.1:18381
run "Flask + gunicorn, $CORES gthread workers" http://127.0.0.1:18381
kill "$pid"; wait "$pid" 2>/dev/null || true

# The courses' own command: gunicorn's default sync workers (one request per connection).
(cd bench/container && OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 exec gunicorn -w "$CORES" -b 127.0.0.1:18382 --log-level warning flask_app:app) > "$work/flask-sync.log" 2>&1 &
wait_for http://127.0.0.1:18382
run "Flask + gunicorn, $CORES sync workers" http://127.0.0.1:18382
echo
ratio "mlship.*, batching" "gthread"
ratio "mlship.*, batching" "sync"
