#!/usr/bin/env bash
# deploy/kafka/create-topics.sh (the compose kafka-init service) against a real
# Apache Kafka 3.9 broker: the same broker and jars as e2e.real_kafka
# (scripts/kafka-broker.sh), and Kafka's own TopicCommand, i.e. what the
# image's /opt/kafka/bin/kafka-topics.sh runs. Checks partitions, compaction,
# and that a second run (docker compose up again) succeeds without changes.
# Exit 77 (ctest: skipped) when Java/Maven or the Kafka jars are unavailable.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BROKER="$ROOT/scripts/kafka-broker.sh"
export KAFKA_BROKER_OWNER=$$  # a broker this test leaves behind (killed) is stopped by the next start
PORT="${MARQUEE_TOPICS_TEST_KAFKA_PORT:-29292}"
WORK="$(mktemp -d /tmp/marquee-topics.XXXXXX)"
cleanup() {
  local d
  for d in "$WORK/kafka" "$WORK/left" "$WORK/again" "$WORK/other"; do "$BROKER" stop "$d" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v kcat >/dev/null || fail "kcat is not installed (scripts/dev.sh installs it)"

set +e
BOOTSTRAP="$("$BROKER" start "$WORK/kafka" "$PORT" | tail -1)"
rc=$?
set -e
[[ $rc -eq 77 ]] && exit 77
[[ $rc -eq 0 ]] || fail "broker did not start (exit $rc)"
echo "real Kafka broker at $BOOTSTRAP"

# kafka-topics.sh stand-in: Kafka's TopicCommand on the classpath that
# kafka-broker.sh resolved (it names the file by the pom's checksum).
cpfile="${KAFKA_CACHE_DIR:-$ROOT/.cache}/kafka-classpath-$(cksum < "$ROOT/scripts/kafka/pom.xml" | cut -d' ' -f1).txt"
[[ -s "$cpfile" ]] || fail "no Kafka classpath file $cpfile after the broker started"
cat > "$WORK/kafka-topics.sh" <<EOF
#!/bin/bash
exec java -Xmx256m -cp "$(cat "$cpfile")" "-Dlog4j.configuration=file:$ROOT/scripts/kafka/log4j.properties" \
  "-Dkafka.logs.dir=$WORK/tool-logs" org.apache.kafka.tools.TopicCommand "\$@"
EOF
chmod +x "$WORK/kafka-topics.sh"

run_init() { BOOTSTRAP="$BOOTSTRAP" TOPICS_SH="$WORK/kafka-topics.sh" bash "$ROOT/deploy/kafka/create-topics.sh"; }
run_init > "$WORK/first.out" 2>&1 || { cat "$WORK/first.out" >&2; fail "create-topics.sh failed"; }
cat "$WORK/first.out"

partitions() {  # partitions TOPIC: partition count from broker metadata (kcat)
  kcat -b "$BOOTSTRAP" -L -t "$1" -m 10 | sed -n "s/^ *topic \"$1\" with \([0-9]*\) partitions.*/\1/p"
}
[[ "$(partitions marquee.events)" == 4 ]] || fail "marquee.events has $(partitions marquee.events) partitions, expected 4"
for t in marquee.items marquee.decisions marquee.events.dlq; do
  [[ "$(partitions "$t")" -ge 1 ]] || fail "topic $t was not created"
done
"$WORK/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --describe --topic marquee.items > "$WORK/items.txt" 2>&1
grep -q 'cleanup.policy=compact' "$WORK/items.txt" || fail "marquee.items is not compacted: $(cat "$WORK/items.txt")"
if "$WORK/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --describe --topic marquee.events 2>&1 | grep -q 'cleanup.policy=compact'; then
  fail "marquee.events must not be compacted"
fi
echo "ok: 4 topics, marquee.events 4 partitions, marquee.items compacted"

# docker compose up on existing volumes runs kafka-init again: must succeed.
run_init > "$WORK/second.out" 2>&1 || { cat "$WORK/second.out" >&2; fail "second create-topics.sh run failed"; }
[[ "$(partitions marquee.events)" == 4 ]] || fail "second run changed marquee.events"
echo "ok: second run is a no-op"

# A broker a killed run left on the port (CTest's timeout SIGKILLs a test,
# not the JVM it started) is stopped by the next start, rather than failing
# it on "port in use" until someone kills it by hand; a live run's is not.
"$BROKER" stop "$WORK/kafka"
sh -c 'exit 0' & gone=$!
wait "$gone"
KAFKA_BROKER_OWNER=$gone "$BROKER" start "$WORK/left" "$PORT" > /dev/null || fail "the left-behind broker did not start"
left="$(cat "$WORK/left/broker.pid")"
"$BROKER" start "$WORK/again" "$PORT" > /dev/null || fail "a start after a run that left its broker behind failed"
grep -qa kafka.Kafka "/proc/$left/cmdline" 2>/dev/null && fail "the left-behind broker (pid $left) still runs"
echo "ok: a broker left on the port by a killed run is stopped by the next start"
if "$BROKER" start "$WORK/other" "$PORT" > /dev/null 2>&1; then fail "a start took the port of a live run's broker"; fi
grep -qa kafka.Kafka "/proc/$(cat "$WORK/again/broker.pid")/cmdline" || fail "a start stopped a live run's broker"
echo "ok: a live run's broker is left alone"
echo "create-topics.sh and kafka-broker.sh on a real Kafka broker: passed"
