#!/usr/bin/env bash
# Runs a real single-node Apache Kafka broker (KRaft, broker+controller in one
# JVM) from Maven Central jars, for end-to-end tests and CI (no Docker here).
#
#   kafka-broker.sh start DIR [PORT]      PORT default 29092, controller PORT+1
#   kafka-broker.sh stop DIR
#   kafka-broker.sh create-topic DIR PORT NAME PARTITIONS [compact]
# `start` prints the bootstrap address (127.0.0.1:PORT) as its last stdout line;
# diagnostics go to stderr. Exit 77 = java/mvn/jars unavailable, so ctest
# reports the e2e test as SKIPPED (SKIP_RETURN_CODE 77), never as passed;
# with KAFKA_BROKER_REQUIRED=1 (scripts/dev.sh test sets it) that is exit 1,
# a failure: CI must not go green with the real-broker suites unrun.
# KAFKA_CACHE_DIR (default .cache) holds the Maven repository and classpath.
# KAFKA_BROKER_OWNER: the pid whose end means the broker was left behind
# (default: the caller's); `start` stops such a broker found on its port.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
POM="$SCRIPT_DIR/kafka/pom.xml"
CACHE_DIR="${KAFKA_CACHE_DIR:-$REPO_ROOT/.cache}"
M2="$CACHE_DIR/m2"

log() { echo "kafka-broker: $*" >&2; }
skip() {
  if [[ "${KAFKA_BROKER_REQUIRED:-0}" == 1 ]]; then echo "kafka-broker: FAILED (KAFKA_BROKER_REQUIRED=1): $*" >&2; exit 1; fi
  echo "kafka-broker: SKIP: $*" >&2; exit 77
}
usage() { sed -n '5,7p' "$0" >&2; exit 2; }

# True if classpath file $1 exists and every jar it lists is in the cache.
classpath_ready() {
  [[ -s "$1" ]] || return 1
  local jar jars
  IFS=: read -r -a jars < "$1" || true  # file has no trailing newline
  for jar in "${jars[@]}"; do [[ -f "$jar" ]] || return 1; done
}

# Prints the runtime classpath. The classpath file is keyed by the pom's hash so
# editing the pom (e.g. a version bump) re-resolves; when it exists and all its
# jars are still in the cache, Maven is not run at all (warm start ~0 s).
classpath() {
  command -v java >/dev/null || skip "java not found on PATH"
  local key cpfile
  key="$(cksum < "$POM" | cut -d' ' -f1)"
  cpfile="$CACHE_DIR/kafka-classpath-$key.txt"
  if classpath_ready "$cpfile"; then cat "$cpfile"; return; fi
  command -v mvn >/dev/null || skip "mvn not found on PATH"
  mkdir -p "$M2"
  # One resolver at a time: two tests starting on a cold cache (ctest -j2)
  # would otherwise download into one repository and one log together. The
  # lock ends with the $(classpath) subshell, before any broker starts.
  local lock
  exec {lock}>"$CACHE_DIR/resolve.lock"
  flock "$lock"
  if classpath_ready "$cpfile"; then cat "$cpfile"; return; fi  # the other one resolved it
  # Write to a temp file + mv so concurrent starts never read a partial file.
  local tmp="$cpfile.$$.tmp"
  local args=(-q -B -Dstyle.color=never -f "$POM" -Dmaven.repo.local="$M2"
              dependency:build-classpath -Dmdep.outputFile="$tmp")
  # Offline first (cache may be warm even without the classpath file), then online.
  if [[ -z "$(ls -A "$M2")" ]] || ! mvn -o "${args[@]}" >/dev/null 2>&1; then
    log "resolving Kafka jars from Maven Central into $M2 ..."
    mvn "${args[@]}" > "$CACHE_DIR/mvn.log" 2>&1 ||
      { rm -f "$tmp"; skip "could not fetch Kafka jars with mvn (see $CACHE_DIR/mvn.log)"; }
  fi
  mv -f "$tmp" "$cpfile"
  cat "$cpfile"
}

# Runs a Kafka CLI class. Tool logs go to DIR/tool-logs so they never interleave
# with the broker's own DIR/server.log; WARN+ still reaches stderr.
run_tool() {
  local dir="$1"; shift
  java -Xmx256m -cp "$CP" -Dlog4j.configuration="file:$SCRIPT_DIR/kafka/log4j.properties" \
    -Dkafka.logs.dir="$dir/tool-logs" "$@"
}

# True if PID is a live Kafka JVM: guards against pid reuse, and unlike kill -0
# it is false for a zombie (empty cmdline) left unreaped by a careless parent.
is_kafka() { [[ -n "$1" ]] && grep -qa 'kafka.Kafka' "/proc/$1/cmdline" 2>/dev/null; }
broker_pid() { local pid; pid="$(cat "$1/broker.pid" 2>/dev/null)" && is_kafka "$pid" && echo "$pid"; }
# "OWNER_PID DIR" of the broker this user last started on a port.
holder_file() { echo "${TMPDIR:-/tmp}/marquee-kafka-broker-$(id -u)-$1"; }

# Ready = a metadata request lists our broker (TCP accept alone is too early in KRaft).
broker_ready() {
  local port="$1" md
  if command -v kcat >/dev/null; then
    # Captured, not piped: grep -q + pipefail could turn a SIGPIPE into "not ready".
    md="$(kcat -b "127.0.0.1:$port" -L -m 3 2>/dev/null)" && [[ "$md" == *" 1 brokers:"* ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
      run_tool "$DIR" org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$port" \
        --list >/dev/null 2>&1
  fi
}

cmd_start() {
  local port="${1:-29092}" pid p
  local cport=$((port + 1))
  CP="$(classpath)"
  # Which run's broker holds PORT (this user's, machine-wide): a test that
  # CTest's timeout SIGKILLed never ran its cleanup, and the JVM (started
  # with nohup) would keep the port, failing every later run, until killed
  # by hand. So a broker whose owner (KAFKA_BROKER_OWNER, default the
  # caller's pid) is gone is stopped; a live run's broker is left alone.
  local holder owner old
  holder="$(holder_file "$port")"
  if pid="$(broker_pid "$DIR")"; then
    log "broker already running (pid $pid)"
  else
    if read -r owner old < "$holder" 2>/dev/null && [[ -n "$old" && "$old" != "$DIR" ]] &&
      ! kill -0 "$owner" 2>/dev/null && broker_pid "$old" >/dev/null; then
      log "stopping the broker a killed run left on port $port ($old)"
      (DIR="$old"; cmd_stop)
    fi
    # Another process on our ports would answer the readiness probe for us.
    for p in "$port" "$cport"; do
      if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then log "port $p already in use"; exit 1; fi
    done
    cat > "$DIR/server.properties" <<EOF
# Generated by scripts/kafka-broker.sh -- single-node KRaft test broker.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/logs
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
num.partitions=4
auto.create.topics.enable=true
EOF
    # meta.properties exists once formatted: a restart must keep the data, and
    # reformatting with a new cluster id would be refused anyway.
    if [[ ! -f "$DIR/logs/meta.properties" ]]; then
      local cid
      cid="$(run_tool "$DIR" kafka.tools.StorageTool random-uuid | tail -n1)"
      run_tool "$DIR" kafka.tools.StorageTool format -t "$cid" -c "$DIR/server.properties" >&2
    fi
    # nohup + </dev/null + full redirection: the JVM must survive this script and
    # must not hold the caller's stdout open (else `$(kafka-broker.sh start)` hangs).
    nohup java -Xmx512m -Xms256m -XX:+UseG1GC -Djava.awt.headless=true \
      -Dlog4j.configuration="file:$SCRIPT_DIR/kafka/log4j.properties" \
      -Dkafka.logs.dir="$DIR" -cp "$CP" kafka.Kafka "$DIR/server.properties" \
      > "$DIR/broker.log" 2>&1 < /dev/null &
    echo $! > "$DIR/broker.pid"
    printf '%s %s\n' "${KAFKA_BROKER_OWNER:-$PPID}" "$DIR" 2>/dev/null > "$holder" ||
      log "could not record the broker in $holder (a broker left by a killed run is then not stopped)"
    log "started pid $! (logs: $DIR/broker.log, $DIR/server.log)"
  fi
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-60}))
  until broker_ready "$port"; do
    if ! broker_pid "$DIR" >/dev/null; then
      log "broker exited during startup; last log lines:"; tail -n 30 "$DIR/broker.log" >&2; exit 1
    fi
    if (( SECONDS >= deadline )); then
      log "broker not ready after ${KAFKA_START_TIMEOUT:-60}s; stopping it"; cmd_stop; exit 1
    fi
    sleep 0.5
  done
  echo "127.0.0.1:$port"
}

cmd_stop() {
  local pid i f owner dir
  for f in "$(holder_file '')"*; do
    read -r owner dir < "$f" 2>/dev/null && [[ "$dir" == "$DIR" ]] && rm -f "$f"
  done
  if ! pid="$(broker_pid "$DIR")"; then rm -f "$DIR/broker.pid"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  # Controlled shutdown of a combined broker+controller usually takes a few s.
  for ((i = 0; i < 60; i++)); do
    is_kafka "$pid" || { rm -f "$DIR/broker.pid"; return 0; }
    sleep 0.5
  done
  log "pid $pid ignored SIGTERM for 30s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  while is_kafka "$pid"; do sleep 0.2; done
  rm -f "$DIR/broker.pid"
}

cmd_create_topic() {
  (( $# >= 3 )) || usage
  local port="$1" name="$2" parts="$3" extra=()
  [[ "${4:-}" == compact ]] && extra=(--config cleanup.policy=compact)
  CP="$(classpath)"
  # --if-not-exists makes this idempotent (an existing topic is not an error).
  run_tool "$DIR" org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$port" \
    --create --if-not-exists --topic "$name" --partitions "$parts" \
    --replication-factor 1 "${extra[@]}" >&2
}

(( $# >= 2 )) || usage
sub="$1"; mkdir -p "$2"; DIR="$(cd "$2" && pwd)"; shift 2
case "$sub" in
  start) cmd_start "$@" ;;
  stop) cmd_stop ;;
  create-topic) cmd_create_topic "$@" ;;
  *) usage ;;
esac
