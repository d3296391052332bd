#!/usr/bin/env bash
# Serving benchmark (README "Serving benchmark", issue #8). Builds nothing:
# run `scripts/dev.sh build` first (or point BUILD_DIR at a build). Needs wrk
# and curl (scripts/dev.sh installs them); the real-Kafka freshness row also
# needs java + mvn (scripts/kafka-broker.sh) and is skipped with a message
# without them. Prints the README table rows on stdout; progress and the raw
# tool lines go to stderr. Everything runs on 127.0.0.1 and stops by itself.
#
# Environment (defaults in brackets):
#   BUILD_DIR [build]     DURATION [10] seconds per wrk / open-loop run
#   CONNS [16]            wrk and open-loop connections
#   HTTP_THREADS [1]      http.threads of marquee and serve_fixed (the same)
#   WRK_THREADS [1]       LOAD [0.7] open-loop rate as a fraction of wrk's max
#   TRIALS [300]          freshness trials per row
#   REPEAT [14]           MovieLens passes replayed for the ingest rows
#   PHASES [stack budget ingest fresh]  which tables to measure (budget needs stack)
#   BUDGET_US [0 5 10 20 40]  handler work per request (µs) of the budget rows
#   INGEST_WINDOW [5]     seconds the applied-events counter is sampled over
#   REAL_KAFKA [1]        0 skips the real-broker freshness row
#   KAFKA_PORT [29592]
#   ENGINE_SET []         extra --set key=value settings for the measured engines,
#                         space-separated (e.g. "state.background_write_bytes_per_s=0")
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
B="${BUILD_DIR:-$ROOT/build}"
[[ "$B" = /* ]] || B="$ROOT/$B"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-16}"
HTTP_THREADS="${HTTP_THREADS:-1}"
WRK_THREADS="${WRK_THREADS:-1}"
LOAD="${LOAD:-0.7}"
TRIALS="${TRIALS:-300}"
REPEAT="${REPEAT:-14}"
PHASES=" ${PHASES:-stack budget ingest fresh} "
BUDGET_US="${BUDGET_US:-0 5 10 20 40}"
INGEST_WINDOW="${INGEST_WINDOW:-5}"
REAL_KAFKA="${REAL_KAFKA:-1}"
KAFKA_PORT="${KAFKA_PORT:-29592}"
MOVIELENS="$ROOT/data/ml-latest-small"
MARQUEE="$B/app/marquee"
FIXED="$B/bench/serve/serve_fixed"
SB="$B/bench/serve/serve_bench"
LUA="$ROOT/bench/serve/recs.lua"

for f in "$MARQUEE" "$FIXED" "$SB"; do
  [[ -x "$f" ]] || { echo "run.sh: $f not built (scripts/dev.sh build, or set BUILD_DIR)" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "run.sh: wrk not found (apt-get install wrk)" >&2; exit 2; }
command -v curl >/dev/null || { echo "run.sh: curl not found" >&2; exit 2; }

WORK="$(mktemp -d /tmp/serve-bench.XXXXXX)"
PIDS=()
KAFKA_DIR=""
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [[ -n "$KAFKA_DIR" ]] && "$ROOT/scripts/kafka-broker.sh" stop "$KAFKA_DIR" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "run.sh: $*" >&2; }
# kv "key=value ..." key -> value
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | head -1; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

stop_pid() {
  local p="$1" keep=() x
  kill -TERM "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
  for x in "${PIDS[@]}"; do [[ "$x" != "$p" ]] && keep+=("$x"); done
  PIDS=("${keep[@]}")
}

# wait_line FILE REGEX PID -> first matching line (30 s at most)
wait_line() {
  local i
  for ((i = 0; i < 300; i++)); do
    if grep -qE "$2" "$1" 2>/dev/null; then grep -E "$2" "$1" | head -1; return; fi
    kill -0 "$3" 2>/dev/null || { log "process died; its log:"; cat "$1" >&2; exit 1; }
    sleep 0.1
  done
  log "timed out waiting for /$2/ in $1"; cat "$1" >&2; exit 1
}

wait_ready() {
  local i
  for ((i = 0; i < 300; i++)); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz")" == 200 ]] && return
    sleep 0.1
  done
  log "engine on port $1 never became ready"; exit 1
}

# start_engine NAME ARGS... ; sets ENGINE_PID, ENGINE_PORT, ENGINE_KAFKA
start_engine() {
  local name="$1"; shift
  cp -a "$WORK/warm" "$WORK/$name"
  local extra=() kv
  for kv in ${ENGINE_SET:-}; do extra+=(--set "$kv"); done
  "$MARQUEE" run --data-dir "$WORK/$name" --port 0 --set "http.threads=$HTTP_THREADS" --set log.level=warn \
    "${extra[@]}" "$@" >"$WORK/$name.log" 2>&1 &
  ENGINE_PID=$!
  PIDS+=("$ENGINE_PID")
  ENGINE_PORT="$(wait_line "$WORK/$name.log" '^HTTP: http://' "$ENGINE_PID" | sed -E 's|^HTTP: http://[^:]+:([0-9]+).*|\1|')"
  ENGINE_KAFKA="$(wait_line "$WORK/$name.log" '^Kafka bootstrap: ' "$ENGINE_PID" | sed 's/^Kafka bootstrap: //')"
  wait_ready "$ENGINE_PORT"
}

# metric_sum PORT NAME -> the sum of every series of counter NAME
metric_sum() {
  curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" 'index($1, m) == 1 { s += $NF } END { printf "%.0f", s }'
}
applied() { metric_sum "$1" marquee_events_applied_total; }
skipped() { metric_sum "$1" marquee_consumer_skipped_offsets_total; }

# run_wrk PORT -> the wrk key=value line
run_wrk() {
  local line
  line="$(wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" -s "$LUA" "http://127.0.0.1:$1/" | grep '^wrk ')"
  echo "  $line" >&2
  echo "$line"
}
# run_openloop PORT RATE -> the openloop key=value line
run_openloop() {
  local line
  line="$("$SB" openloop --port "$1" --rate "$2" --seconds "$DURATION" --connections "$CONNS")"
  echo "  $line" >&2
  echo "$line"
}

log "work dir $WORK; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# --- A warm model: the MovieLens catalog (titles, genres), then every rating,
# applied in-process.
log "warming a data dir with MovieLens"
"$MARQUEE" state replay --catalog --data-dir "$WORK/warm" --movielens "$MOVIELENS" --set log.level=warn >&2

has() { [[ "$PHASES" == *" $1 "* ]]; }
A_WRK="" A_OL="" B_WRK="" B_OL="" B_BODY="" RATIO="" I_ALONE="" I_BOTH="" F_ROWS="" BUDGET_ROWS=""

# --- 1. Stack ceiling (a) vs the real endpoint (b). Max throughput of each
# with wrk; latency of both open-loop at the same rate, LOAD x (b)'s max (a
# one-thread client cannot drive (a) at 70 % of its own max on 2 cores).
start_fixed() {
  "$FIXED" --threads "$HTTP_THREADS" "$@" >"$WORK/fixed.log" 2>&1 &
  FIXED_PID=$!
  PIDS+=("$FIXED_PID")
  FIXED_PORT="$(wait_line "$WORK/fixed.log" '^port ' "$FIXED_PID" | cut -d' ' -f2)"
}
if has stack; then
  log "(a) serve_fixed, $HTTP_THREADS HTTP thread(s)"
  start_fixed
  A_WRK="$(run_wrk "$FIXED_PORT")"
  stop_pid "$FIXED_PID"
fi

if has stack || has ingest; then
  # The same engine serves the ingest rows below; 32 partitions so that the
  # embedded broker (a bounded log per partition) holds most of the backlog;
  # what it drops is reported.
  log "(b) marquee run, recommendations over MovieLens"
  start_engine serve --set embedded.partitions=32
  B_WRK="$(run_wrk "$ENGINE_PORT")"
  if has stack; then
    OL_RATE="$(calc %.0f "$(kv "$B_WRK" rps) * $LOAD")"
    B_OL="$(run_openloop "$ENGINE_PORT" "$OL_RATE")"
    RATIO="$(calc %.2f "$(kv "$B_WRK" rps) / $(kv "$A_WRK" rps)")"
    # (b)'s mean body over 20 users, for the budget rows.
    B_BODY="$(for u in $(seq 1 20); do curl -s "http://127.0.0.1:$ENGINE_PORT/v1/users/u$u/recommendations?k=10" | wc -c; done |
      awk '{ s += $1 } END { printf "%.0f", s / NR }')"
  fi
fi

# --- 4. Ingest alone, then ingest + serve. The MovieLens ratings are produced
# REPEAT times at full speed; once the producer is done the engine still has a
# backlog, and events applied/s is the counter's slope over INGEST_WINDOW s
# (or over the wrk run) while that backlog lasts (checked: the counter still
# moves a second after the window).
ingest_window() {  # ingest_window WITH_WRK -> "eps=... rps=... backlog_lasted=yes|no lost=N counted=M"
  local before total rps="" line a0 a1 a2 t0 t1 last now stable=0 skipped0
  before="$(applied "$ENGINE_PORT")"
  skipped0="$(skipped "$ENGINE_PORT")"
  "$SB" replay --brokers "$ENGINE_KAFKA" --repeat "$REPEAT" >&2
  total=$((before + REPEAT * ($(wc -l <"$MOVIELENS/ratings.csv") - 1)))
  a0="$(applied "$ENGINE_PORT")"; t0="$(date +%s.%N)"
  if [[ "$1" == 1 ]]; then
    line="$(run_wrk "$ENGINE_PORT")"; rps="$(kv "$line" rps)"
  else
    sleep "$INGEST_WINDOW"
  fi
  a1="$(applied "$ENGINE_PORT")"; t1="$(date +%s.%N)"
  sleep 1
  a2="$(applied "$ENGINE_PORT")"
  # Drain: until every event is applied or the count stops moving for 2 s
  # (the embedded broker keeps a bounded log and may have dropped the tail
  # of a backlog this large; those are reported as lost).
  last="$a2"
  for ((i = 0; i < 1200 && stable < 20; i++)); do
    now="$(applied "$ENGINE_PORT")"
    ((now >= total)) && break
    if ((now == last)); then stable=$((stable + 1)); else stable=0; last="$now"; fi
    sleep 0.1
  done
  now="$(applied "$ENGINE_PORT")"
  echo "eps=$(calc %.0f "($a1 - $a0) / ($t1 - $t0)") rps=$rps backlog_lasted=$( ((a2 > a1)) && echo yes || echo no)" \
    "lost=$((total > now ? total - now : 0)) counted=$(($(skipped "$ENGINE_PORT") - skipped0))"
}
if has ingest; then
  log "ingest alone: $REPEAT x MovieLens"
  I_ALONE="$(ingest_window 0)"; log "  $I_ALONE"
  log "ingest + wrk: $REPEAT x MovieLens"
  I_BOTH="$(ingest_window 1)"; log "  $I_BOTH"
fi
if has stack || has ingest; then stop_pid "$ENGINE_PID"; fi
if has stack; then
  log "(a) serve_fixed again, open-loop at (b)'s rate"
  start_fixed
  A_OL="$(run_openloop "$FIXED_PORT" "$OL_RATE")"
  stop_pid "$FIXED_PID"
fi

# --- 2. The budget: the same stack with a handler that spins W µs per request
# and answers (b)'s body size. Where (b)'s throughput falls on this curve is
# the handler work it does; where the curve crosses half of (a) is the most
# work a handler can do and still meet a (b)/(a) target of 0.5.
if has stack && has budget; then
  log "budget: serve_fixed with handler work ($BUDGET_US µs) and a $B_BODY-byte body"
  for w in $BUDGET_US; do
    start_fixed --work-us "$w" --body-bytes "$B_BODY"
    line="$(run_wrk "$FIXED_PORT")"
    stop_pid "$FIXED_PID"
    BUDGET_ROWS+="| $w µs | $B_BODY B | $(kv "$line" rps) req/s | $(calc %.2f "$(kv "$line" rps) / $(kv "$A_WRK" rps)") |"$'\n'
  done
fi

# --- 3. Freshness: bandit.epsilon=0 so a list only changes when the model does.
fresh_row() {  # fresh_row LABEL SETTINGS ENGINE-ARGS...
  local label="$1" settings="$2" line; shift 2
  start_engine "fresh$RANDOM" --set bandit.epsilon=0 "$@"
  line="$("$SB" fresh --brokers "$ENGINE_KAFKA" --port "$ENGINE_PORT" --trials "$TRIALS")"
  log "  $line"
  stop_pid "$ENGINE_PID"
  printf '| %s | %s | %s | %s ms | %s ms | %s ms | %s ms |\n' "$label" "$settings" \
    "$(kv "$line" changed)/$(kv "$line" trials)" "$(kv "$line" p50_ms)" "$(kv "$line" p90_ms)" \
    "$(kv "$line" p99_ms)" "$(kv "$line" max_ms)"
}
TUNED=(--set ingest.batch_max_wait_ms=1 --set ingest.publish_interval_ms=1 --set kafka.fetch.wait.max.ms=1)
if has fresh; then
  log "freshness, embedded broker"
  F_ROWS="$(fresh_row embedded defaults)"
  F_ROWS+=$'\n'"$(fresh_row embedded 'batch_max_wait_ms=1, publish_interval_ms=1, fetch.wait.max.ms=1' "${TUNED[@]}")"
  if [[ "$REAL_KAFKA" == 1 ]]; then
    log "freshness, real Apache Kafka (scripts/kafka-broker.sh)"
    KAFKA_DIR="$WORK/kafka"
    set +e
    export KAFKA_BROKER_OWNER=$$
    BOOT="$("$ROOT/scripts/kafka-broker.sh" start "$KAFKA_DIR" "$KAFKA_PORT" 2>"$WORK/kafka-start.log" | tail -1)"
    rc=$?
    set -e
    if ((rc == 0)) && [[ -n "$BOOT" ]]; then
      for t in marquee.events:4 marquee.decisions:4 marquee.events.dlq:1; do
        "$ROOT/scripts/kafka-broker.sh" create-topic "$KAFKA_DIR" "$KAFKA_PORT" "${t%%:*}" "${t##*:}" >&2
      done
      "$ROOT/scripts/kafka-broker.sh" create-topic "$KAFKA_DIR" "$KAFKA_PORT" marquee.items 4 compact >&2
      F_ROWS+=$'\n'"$(fresh_row 'Kafka 3.9 (loopback)' defaults --brokers "$BOOT")"
      F_ROWS+=$'\n'"$(fresh_row 'Kafka 3.9 (loopback)' 'batch_max_wait_ms=1, publish_interval_ms=1, fetch.wait.max.ms=1' \
        --brokers "$BOOT" "${TUNED[@]}")"
    else
      log "real Kafka broker could not start (exit $rc); skipping its rows:"; tail -5 "$WORK/kafka-start.log" >&2
      F_ROWS+=$'\n'"| Kafka 3.9 (loopback) | skipped: the broker could not start (exit $rc) | | | | | |"
    fi
  fi

fi

# --- The README tables.
ms() { printf '%.2f ms' "$1"; }
if has stack; then
  echo
  echo "| server ($HTTP_THREADS HTTP thread) | max throughput (wrk) | open-loop rate ($(calc %.0f "$LOAD * 100") % of (b)) | p50 | p99 | p99.9 | (b)/(a) |"
  echo "|---|---|---|---|---|---|---|"
  echo "| (a) serve_fixed, fixed JSON | $(kv "$A_WRK" rps) req/s | $(kv "$A_OL" achieved_rps) req/s | $(ms "$(kv "$A_OL" p50_ms)") | $(ms "$(kv "$A_OL" p99_ms)") | $(ms "$(kv "$A_OL" p999_ms)") | |"
  echo "| (b) marquee run, recommendations k=10 | $(kv "$B_WRK" rps) req/s | $(kv "$B_OL" achieved_rps) req/s | $(ms "$(kv "$B_OL" p50_ms)") | $(ms "$(kv "$B_OL" p99_ms)") | $(ms "$(kv "$B_OL" p999_ms)") | **$RATIO** |"
  echo "(open-loop errors/unanswered: a $(kv "$A_OL" errors)/$(kv "$A_OL" unanswered), b $(kv "$B_OL" errors)/$(kv "$B_OL" unanswered))"
fi
if [[ -n "$BUDGET_ROWS" ]]; then
  echo
  echo "| serve_fixed handler work per request | body | max throughput (wrk) | / (a) |"
  echo "|---|---|---|---|"
  printf '%s' "$BUDGET_ROWS"
  echo "| (b) for comparison: marquee run | $B_BODY B | $(kv "$B_WRK" rps) req/s | $RATIO |"
fi
if has fresh; then
  echo
  echo "| broker | ingest settings | changed | p50 | p90 | p99 | max |"
  echo "|---|---|---|---|---|---|---|"
  echo "$F_ROWS"
fi
if has ingest; then
  echo
  echo "| run | requests/s (wrk) | events applied/s |"
  echo "|---|---|---|"
  echo "| serve alone | $(kv "$B_WRK" rps) | – |"
  echo "| ingest alone | – | $(kv "$I_ALONE" eps) |"
  echo "| serve + ingest | $(kv "$I_BOTH" rps) | $(kv "$I_BOTH" eps) |"
  echo "(backlog still there when the windows closed: alone $(kv "$I_ALONE" backlog_lasted), with wrk $(kv "$I_BOTH" backlog_lasted);" \
    "events the embedded broker dropped from the backlog: $(kv "$I_ALONE" lost), $(kv "$I_BOTH" lost);" \
    "counted by the engine in marquee_consumer_skipped_offsets_total: $(kv "$I_ALONE" counted), $(kv "$I_BOTH" counted))"
fi
