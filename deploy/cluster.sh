#!/usr/bin/env bash
# `make cluster`: the playground scaled out on one machine. redis-server (the message queue and the command bus),
# one `python app.py` per core on 127.0.0.1:5001, 5002, ... (each its own port: eventlet's SO_REUSEPORT is off, see
# README "Scaling out"), and HAProxy on port 5000 with cookie stickiness (deploy/haproxy.cfg). Ctrl-C stops them all.
#
# Settings, all optional: PROCESSES (default: the number of cores, at most 8), FRONT_PORT (5000), FRONT_HOST
# (0.0.0.0), REDIS_PORT (6379; or MESSAGE_QUEUE_URL for a Redis of your own, then none is started),
# DATABASE_URL (default: one SQLite file that the processes of this machine share; postgresql://... across
# machines), PUBLIC_ORIGINS (default: http://localhost:FRONT_PORT and http://127.0.0.1:FRONT_PORT), and any other
# setting of the app (README "Configuration"), passed on to every process.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
PROCESSES=${PROCESSES:-$(nproc)}
PROCESSES=$((PROCESSES > 8 ? 8 : PROCESSES))  # deploy/haproxy.cfg names up to 8 app processes
export FRONT_HOST=${FRONT_HOST:-0.0.0.0} FRONT_PORT=${FRONT_PORT:-5000}
export PUBLIC_ORIGINS=${PUBLIC_ORIGINS:-http://localhost:$FRONT_PORT,http://127.0.0.1:$FRONT_PORT}
export DATABASE_URL=${DATABASE_URL:-instance/playground.sqlite3}
export TRUSTED_PROXIES=127.0.0.1 HOST=127.0.0.1
LOGS=instance/cluster
mkdir -p "$LOGS"

for program in redis-server haproxy; do
  command -v "$program" >/dev/null || { echo "$program is missing: make services (apt-get install $program)" >&2; exit 1; }
done

pids=()
stop() { trap - EXIT INT TERM; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT INT TERM

if [ -z "${MESSAGE_QUEUE_URL:-}" ]; then
  REDIS_PORT=${REDIS_PORT:-6379}
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$LOGS/redis.log" 2>&1 &
  pids+=($!)
  export MESSAGE_QUEUE_URL="redis://127.0.0.1:$REDIS_PORT/0"
  until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.1; done
fi

apps=()
for number in $(seq 1 "$PROCESSES"); do
  port=$((FRONT_PORT + number))
  export "APP${number}_PORT=$port"
  PORT=$port "$PYTHON" app.py >"$LOGS/app$number.log" 2>&1 &
  pids+=($!)
  apps+=($!)
done
healthy() { "$PYTHON" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "$1" 2>/dev/null; }
for number in $(seq 1 "$PROCESSES"); do
  until healthy "http://127.0.0.1:$((FRONT_PORT + number))/healthz"; do
    kill -0 "${apps[number - 1]}" 2>/dev/null || { echo "app process $number did not start: see $LOGS/app$number.log" >&2; exit 1; }
    sleep 0.2
  done
done

haproxy -db -f deploy/haproxy.cfg >"$LOGS/haproxy.log" 2>&1 &
pids+=($!)
echo "Neural Network Playground: $PROCESSES processes behind HAProxy on http://localhost:$FRONT_PORT" \
  "(queue $MESSAGE_QUEUE_URL; logs in $LOGS/)"
wait -n "${pids[@]}"
echo "a process of the cluster ended; stopping the others (logs in $LOGS/)" >&2
