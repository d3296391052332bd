#!/usr/bin/env bash
# End to end on a real Apache Kafka broker (KRaft, jars from Maven Central):
# real producer (kcat), the real `marquee` binary, a real HTTP client (curl).
#   - MovieLens ratings produced with kcat are all applied (metrics agree);
#   - recommendations answer, warm for a known user, cold for a new one;
#   - served decisions reach marquee.decisions; bad events reach the DLQ;
#   - a restart resumes from the offsets stored in RocksDB (nothing re-applied);
#   - the broker stops and restarts under a running engine: ingest resumes by
#     itself, nothing lost or repeated, HTTP answers throughout;
#   - all of MovieLens through the broker gives the direct replay's checksum;
#   - two members of one group, one joining and one leaving mid-stream, apply
#     every event exactly once between them;
#   - SIGTERM shuts down cleanly (exit 0).
# Exit 77 (ctest: skipped) when Java/Maven or the Kafka jars are unavailable.
set -euo pipefail

MARQUEE="${1:?usage: real_kafka_test.sh path/to/marquee}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BROKER="$ROOT/scripts/kafka-broker.sh"
export KAFKA_BROKER_OWNER=$$  # a broker this test leaves behind (killed) is stopped by the next start
PORT="${MARQUEE_E2E_KAFKA_PORT:-29192}"
HTTP_PORT=""  # chosen by marquee (--port 0), read from its output
WORK="$(mktemp -d /tmp/marquee-e2e.XXXXXX)"
MARQUEE_PID=""

cleanup() {
  local pid
  for pid in "$MARQUEE_PID" "${a_PID:-}" "${b_PID:-}"; do
    [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null || true
  done
  "$BROKER" stop "$WORK/kafka" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; echo "--- marquee log ---" >&2; tail -40 "$WORK/marquee.out" "$WORK/marquee.log" >&2 || true; exit 1; }
# Signals end the test through the EXIT trap too, so no broker or engine outlives it.
trap 'exit 143' TERM INT
command -v kcat >/dev/null || fail "kcat is not installed (scripts/dev.sh installs it)"
command -v curl >/dev/null || fail "curl is not installed (scripts/dev.sh installs it)"

set +e
BOOTSTRAP="$("$BROKER" start "$WORK/kafka" "$PORT" | tail -1)"
rc=$?
set -e
[[ $rc -eq 77 ]] && exit 77
[[ $rc -eq 0 ]] || fail "broker did not start (exit $rc)"
echo "real Kafka broker at $BOOTSTRAP"
"$BROKER" create-topic "$WORK/kafka" "$PORT" marquee.events 4 2>/dev/null
"$BROKER" create-topic "$WORK/kafka" "$PORT" marquee.decisions 2 2>/dev/null
"$BROKER" create-topic "$WORK/kafka" "$PORT" marquee.events.dlq 1 2>/dev/null

applied() {  # sum of marquee_events_applied_total over types
  curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" |
    awk '/^marquee_events_applied_total/ {s += $2} END {print s + 0}'
}
invalid() {
  curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" |
    awk '/^marquee_events_invalid_total/ {s += $2} END {print s + 0}'
}
applied_at_least() { [[ "$(applied)" -ge "$1" ]]; }
invalid_at_least() { [[ "$(invalid)" -ge "$1" ]]; }
wait_for() {  # wait_for SECONDS CMD...: poll until CMD succeeds (CMD re-run each time)
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do (( SECONDS < deadline )) || return 1; sleep 0.2; done
}
start_marquee() {  # start_marquee [DATA_DIR [ARGS...]]: ARGS go to `marquee run`
  local dir="${1:-$WORK/state}"
  shift || true
  : >"$WORK/marquee.out"
  "$MARQUEE" run --brokers "$BOOTSTRAP" --port 0 --set log.level=info --data-dir "$dir" "$@" \
    >"$WORK/marquee.out" 2>>"$WORK/marquee.log" &
  MARQUEE_PID=$!
  wait_for 30 grep -q '^HTTP: ' "$WORK/marquee.out" || fail "marquee did not start"
  HTTP_PORT="$(sed -n 's#^HTTP: http://127.0.0.1:\([0-9]*\).*#\1#p' "$WORK/marquee.out")"
  kill -0 "$MARQUEE_PID" || fail "marquee exited at start-up"
  curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" -o /dev/null || fail "no /healthz on port $HTTP_PORT"
}
stop_marquee() {
  kill -TERM "$MARQUEE_PID"
  local rc=0
  wait "$MARQUEE_PID" || rc=$?
  MARQUEE_PID=""
  [[ $rc -eq 0 ]] || fail "marquee exited $rc on SIGTERM"
}
# MovieLens rows -> key<TAB>event JSON lines, in time order.
movielens_events() {  # movielens_events FIRST COUNT
  # awk reads to the end (no early-closing `head`), so pipefail stays quiet.
  tail -n +2 "$ROOT/data/ml-latest-small/ratings.csv" | tr -d "\r" | sort -t, -k4,4n -s |
    awk -F, -v first="$1" -v count="$2" 'NR >= first && NR < first + count {
      printf "u%s\t{\"type\":\"rating\",\"user_id\":\"u%s\",\"item_id\":\"m%s\",\"ts\":%s000,\"value\":%s}\n", $1, $1, $2, $4, $3}'
}

# 1. Produce 3000 real events and 3 bad ones; all good ones are applied.
movielens_events 1 3000 > "$WORK/batch1.tsv"
printf 'bad\t{"type":\nbad\t{"type":"purchase","user_id":"u1","item_id":"m1"}\nbad\t{"type":"watch","user_id":"u1","item_id":"m1","value":7}\n' \
  >> "$WORK/batch1.tsv"
kcat -b "$BOOTSTRAP" -t marquee.events -P -K$'\t' -l "$WORK/batch1.tsv"
start_marquee
wait_for 60 applied_at_least 3000 || fail "only $(applied)/3000 events applied"
wait_for 10 invalid_at_least 3 || fail "bad events not counted: $(invalid)"
sleep 1
[[ "$(applied)" -eq 3000 ]] || fail "applied $(applied) != 3000 (double application?)"
echo "ok: 3000 events applied once, 3 rejected"

# 2. Recommendations over HTTP.
user="$(awk -F'\t' 'NR == 1 {print $1}' "$WORK/batch1.tsv")"
reply="$(curl -sf "http://127.0.0.1:$HTTP_PORT/v1/users/$user/recommendations?k=5")" || fail "recommendations failed"
grep -q '"cold_start":false' <<<"$reply" || fail "known user got a cold start: $reply"
[[ "$(grep -o '"item_id"' <<<"$reply" | wc -l)" -eq 5 ]] || fail "expected 5 items: $reply"
cold="$(curl -sf "http://127.0.0.1:$HTTP_PORT/v1/users/brand-new/recommendations?k=3")"
grep -q '"cold_start":true' <<<"$cold" || fail "new user: $cold"
code="$(curl -s -o "$WORK/err.json" -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/v1/users/$user/recommendations?k=-1")"
[[ "$code" == 400 ]] && grep -q '"error"' "$WORK/err.json" || fail "k=-1 gave $code"
echo "ok: recommendations (warm, cold, bad k)"

# 3. Decisions and dead letters are on the broker.
decision="$(grep -o '"decision_id":"[0-9a-f]*"' <<<"$reply" | cut -d'"' -f4)"
wait_for 20 sh -c "kcat -b '$BOOTSTRAP' -t marquee.decisions -C -e -q 2>/dev/null | grep -q '$decision'" ||
  fail "decision $decision not on marquee.decisions"
dlq="$(kcat -b "$BOOTSTRAP" -t marquee.events.dlq -C -e -q -f '%h\n' 2>/dev/null)"
[[ "$(grep -c 'marquee.error.reason=' <<<"$dlq")" -eq 3 ]] || fail "expected 3 dead letters, got: $dlq"
grep -q 'marquee.error.reason=unknown_type' <<<"$dlq" || fail "DLQ reasons: $dlq"
echo "ok: decision logged, 3 dead letters with reasons"

# 4. Restart: only new events are applied (offsets came from RocksDB).
stop_marquee
movielens_events 3001 1000 | kcat -b "$BOOTSTRAP" -t marquee.events -P -K$'\t'
start_marquee
wait_for 15 grep -q "matches the stored offsets" "$WORK/marquee.out" || fail "restart did not resume from stored offsets"
wait_for 60 applied_at_least 1000 || fail "after restart only $(applied)/1000 applied"
sleep 1
[[ "$(applied)" -eq 1000 ]] || fail "after restart applied $(applied), expected exactly the 1000 new events"
echo "ok: restart resumed from stored offsets"

# 5. The broker goes away and comes back while Marquee consumes: ingest
#    resumes by itself, nothing is lost or repeated, HTTP keeps answering.
movielens_events 4001 2000 > "$WORK/batch3.tsv"
movielens_events 6001 1000 > "$WORK/batch4.tsv"
kcat -b "$BOOTSTRAP" -t marquee.events -P -K$'\t' -l "$WORK/batch3.tsv"
"$BROKER" stop "$WORK/kafka" >/dev/null 2>&1
for _ in 1 2 3 4 5; do
  curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" -o /dev/null || fail "/healthz failed while the broker was down"
  curl -sf "http://127.0.0.1:$HTTP_PORT/v1/users/$user/recommendations?k=3" -o /dev/null ||
    fail "recommendations failed while the broker was down"
  sleep 1
done
"$BROKER" start "$WORK/kafka" "$PORT" >/dev/null 2>&1 || fail "broker did not restart"
kcat -b "$BOOTSTRAP" -t marquee.events -P -K$'\t' -l "$WORK/batch4.tsv"
wait_for 120 applied_at_least 4000 || fail "after the broker restart only $(applied)/4000 applied"
sleep 2
[[ "$(applied)" -eq 4000 ]] || fail "after the broker restart applied $(applied), expected exactly 4000"
echo "ok: broker stop/start while consuming; every event applied once, HTTP answered throughout"

stop_marquee

# 6. The whole MovieLens sample through the broker (one partition, so the
#    broker keeps the timestamp order) ends in the same state, checksum for
#    checksum, as applying the same events directly in-process.
"$BROKER" create-topic "$WORK/kafka" "$PORT" replay.events 1 2>/dev/null
movielens_events 1 1000000 | kcat -b "$BOOTSTRAP" -t replay.events -P -K$'\t'
total="$(tail -n +2 "$ROOT/data/ml-latest-small/ratings.csv" | grep -c .)"
start_marquee "$WORK/replay" --set topics.events=replay.events --set kafka.group.id=replay
wait_for 180 applied_at_least "$total" || fail "MovieLens replay: only $(applied)/$total applied"
stop_marquee
via_kafka="$("$MARQUEE" state checksum --data-dir "$WORK/replay")"
"$MARQUEE" state replay --data-dir "$WORK/direct" --movielens "$ROOT/data/ml-latest-small" --set log.level=warn >/dev/null
direct="$("$MARQUEE" state checksum --data-dir "$WORK/direct")"
[[ "$via_kafka" == "$direct" ]] || fail "state checksum via Kafka $via_kafka != direct replay $direct"
echo "ok: $total MovieLens events via the broker give the direct replay's state checksum ($direct)"
# 7. Two members of one group, each with its own data dir: the second joins
#    mid-stream, the first leaves mid-stream; between them every event is
#    applied exactly once (the sum of their applied counts is the total).
"$BROKER" create-topic "$WORK/kafka" "$PORT" group.events 4 2>/dev/null
member_start() {  # member_start NAME: runs a member, sets NAME_PID and NAME_PORT
  local name="$1"
  "$MARQUEE" run --brokers "$BOOTSTRAP" --port 0 --data-dir "$WORK/$name" --set topics.events=group.events \
    --set kafka.group.id=pair --set kafka.session.timeout.ms=6000 --set kafka.heartbeat.interval.ms=500 \
    >"$WORK/$name.out" 2>>"$WORK/marquee.log" &
  printf -v "${name}_PID" %s "$!"
  wait_for 30 grep -q '^HTTP: ' "$WORK/$name.out" || fail "member $name did not start"
  printf -v "${name}_PORT" %s "$(sed -n 's#^HTTP: http://127.0.0.1:\([0-9]*\).*#\1#p' "$WORK/$name.out")"
}
metric_of() {  # metric_of PORT NAME: sum of a metric's series
  curl -sf "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m || index($1, m "{") == 1 {s += $2} END {print s + 0}'
}
member_applied_at_least() { [[ "$(metric_of "$1" marquee_events_applied_total)" -ge "$2" ]]; }
member_owns() { [[ "$(metric_of "$1" marquee_consumer_assigned_partitions)" -eq "$2" ]]; }
both_applied_at_least() {
  [[ $(( $(metric_of "$a_PORT" marquee_events_applied_total) + $(metric_of "$b_PORT" marquee_events_applied_total) )) -ge "$1" ]]
}
movielens_events 1 6000 | kcat -b "$BOOTSTRAP" -t group.events -P -K$'\t'
member_start a
wait_for 60 member_applied_at_least "$a_PORT" 6000 || fail "member a applied $(metric_of "$a_PORT" marquee_events_applied_total)/6000"
member_start b
wait_for 60 member_owns "$b_PORT" 2 || fail "member b never got partitions"
movielens_events 6001 3000 | kcat -b "$BOOTSTRAP" -t group.events -P -K$'\t'
wait_for 60 both_applied_at_least 9000 || fail "a + b applied less than 9000"
[[ "$(metric_of "$b_PORT" marquee_events_applied_total)" -gt 0 ]] || fail "member b applied nothing while sharing"
by_a="$(metric_of "$a_PORT" marquee_events_applied_total)"  # a is idle: it has applied all it owned
kill -TERM "$a_PID"; wait "$a_PID" || fail "member a did not exit cleanly"
wait_for 60 member_owns "$b_PORT" 4 || fail "member b did not take over every partition"
movielens_events 9001 1000 | kcat -b "$BOOTSTRAP" -t group.events -P -K$'\t'
b_applied_at_least() { [[ $(( by_a + $(metric_of "$b_PORT" marquee_events_applied_total) )) -ge "$1" ]]; }
wait_for 60 b_applied_at_least 10000 || fail "a ($by_a) + b applied less than 10000"
sleep 2
total_pair=$(( by_a + $(metric_of "$b_PORT" marquee_events_applied_total) ))
kill -TERM "$b_PID"; wait "$b_PID" || fail "member b did not exit cleanly"
[[ "$total_pair" -eq 10000 ]] || fail "a + b applied $total_pair, expected exactly 10000"
echo "ok: two members, one joining and one leaving mid-stream, applied 10000 events exactly once ($by_a + $((total_pair - by_a)))"
echo "e2e on a real Kafka broker: passed"
