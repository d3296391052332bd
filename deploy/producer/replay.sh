#!/usr/bin/env bash
# Demo producer: replays MovieLens ratings into Kafka as Marquee `rating`
# events (key u<userId>, item m<movieId>, ts = timestamp x 1000), in time
# order, through kcat. The same mapping as `marquee demo`, done by a plain
# Kafka client so the engine sees exactly what an external producer sends.
#
# Environment:
#   BROKERS        bootstrap servers            (default kafka:9092)
#   TOPIC          events topic                 (default marquee.events)
#   RATINGS        MovieLens ratings.csv        (default /data/ml-latest-small/ratings.csv)
#   REPLAY_RATE    about N events per second; 0 = as fast as Kafka takes them (default 500)
#   REPLAY_LIMIT   replay only the first N ratings; 0 = all (default 0)
#   REPLAY_FORCE   1 = replay even if the topic already holds events (default 0)
# Events carry no dedup key, so replaying twice would apply every rating twice:
# by default nothing is sent when the topic is not empty (e.g. after
# `docker compose up` is run again on existing volumes).
set -euo pipefail

BROKERS="${BROKERS:-kafka:9092}"
TOPIC="${TOPIC:-marquee.events}"
RATINGS="${RATINGS:-/data/ml-latest-small/ratings.csv}"
RATE="${REPLAY_RATE:-500}"
LIMIT="${REPLAY_LIMIT:-0}"

log() { echo "replay: $*" >&2; }
[[ -r "$RATINGS" ]] || { log "cannot read $RATINGS"; exit 1; }
[[ "$RATE" =~ ^[0-9]+$ && "$LIMIT" =~ ^[0-9]+$ ]] || { log "REPLAY_RATE and REPLAY_LIMIT must be integers"; exit 2; }

# Messages already in the topic: the sum of its partitions' end offsets.
topic_messages() {
  local md parts=() p q
  md="$(kcat -b "$BROKERS" -L -t "$TOPIC" -m 10)" || return 1
  mapfile -t parts < <(sed -n 's/^ *partition \([0-9]*\),.*/\1/p' <<<"$md")
  ((${#parts[@]})) || return 1
  q=(); for p in "${parts[@]}"; do q+=(-t "$TOPIC:$p:-1"); done
  kcat -b "$BROKERS" -Q "${q[@]}" -m 10 | awk '/offset/ {s += $NF} END {print s + 0}'
}

existing="$(topic_messages)" || { log "cannot read metadata of $TOPIC from $BROKERS"; exit 1; }
if (( existing > 0 )) && [[ "${REPLAY_FORCE:-0}" != 1 ]]; then
  log "$TOPIC already holds $existing events; not replaying (REPLAY_FORCE=1 to replay anyway)"
  exit 0
fi

log "replaying $RATINGS into $TOPIC at $BROKERS (rate ${RATE}/s, limit $LIMIT)"
# awk reads all its input (no early exit) so pipefail never sees a SIGPIPE.
tail -n +2 "$RATINGS" | tr -d '\r' | sort -t, -k4,4n -s |
  awk -F, -v limit="$LIMIT" -v rate="$RATE" '
    limit > 0 && NR > limit { next }
    {
      printf "u%s\t{\"type\":\"rating\",\"user_id\":\"u%s\",\"item_id\":\"m%s\",\"ts\":%s000,\"value\":%s}\n", $1, $1, $2, $4, $3
      sent++
      if (rate > 0 && sent % rate == 0) { fflush(); system("sleep 1") }
    }
    END { printf "replay: %d events written to kcat\n", sent > "/dev/stderr" }' |
  kcat -b "$BROKERS" -t "$TOPIC" -P -K$'\t'
log "done"
