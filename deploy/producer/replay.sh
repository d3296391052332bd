#!/usr/bin/env bash
# Demo producer: replays the MovieLens catalog into Kafka as Marquee catalog
# records (key m<movieId>: title, genres), then the ratings as `rating` events
# (key u<userId>, item m<movieId>, ts = timestamp x 1000), in time order,
# through kcat. The same mapping as `marquee demo`, done by a plain Kafka
# client so the engine sees exactly what an external producer sends.
#
# Environment:
#   BROKERS        bootstrap servers            (default kafka:9092)
#   TOPIC          events topic                 (default marquee.events)
#   ITEMS_TOPIC    catalog topic                (default marquee.items)
#   MOVIES         MovieLens movies.csv; empty = no catalog (default /data/ml-latest-small/movies.csv)
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
ITEMS_TOPIC="${ITEMS_TOPIC:-marquee.items}"
MOVIES="${MOVIES-/data/ml-latest-small/movies.csv}"
RATINGS="${RATINGS:-/data/ml-latest-small/ratings.csv}"
RATE="${REPLAY_RATE:-500}"
LIMIT="${REPLAY_LIMIT:-0}"

log() { echo "replay: $*" >&2; }
[[ -r "$RATINGS" ]] || { log "cannot read $RATINGS"; exit 1; }
[[ -z "$MOVIES" || -r "$MOVIES" ]] || { log "cannot read $MOVIES"; exit 1; }
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

# The catalog first, so items have titles and genres before their ratings
# arrive. movies.csv is "movieId,title,genres": a title holding a comma is
# quoted (with "" for a quote), genres never hold one, so the title is what
# lies between the first and the last comma. Plain awk (mawk in the image).
if [[ -n "$MOVIES" ]]; then
  log "replaying $MOVIES into $ITEMS_TOPIC"
  tail -n +2 "$MOVIES" | tr -d '\r' |
    awk '
      function json(s) { gsub(/\\/, "\\\\\\\\", s); gsub(/"/, "\\\"", s); return s }  # JSON escapes (in mawk, "\\\\\\\\" writes two backslashes)
      {
        c = index($0, ","); id = substr($0, 1, c - 1); rest = substr($0, c + 1)
        match(rest, /,[^,]*$/); title = substr(rest, 1, RSTART - 1); genres = substr(rest, RSTART + 1)
        if (title ~ /^".*"$/) { title = substr(title, 2, length(title) - 2); gsub(/""/, "\"", title) }
        list = ""
        if (genres != "(no genres listed)") {
          n = split(genres, g, "|")
          for (i = 1; i <= n; i++) list = list (i > 1 ? "," : "") "\"" json(g[i]) "\""
        }
        printf "m%s\t{\"item_id\":\"m%s\",\"title\":\"%s\",\"genres\":[%s]}\n", id, id, json(title), list
        sent++
      }
      END { printf "replay: %d catalog records written to kcat\n", sent > "/dev/stderr" }' |
    kcat -b "$BROKERS" -t "$ITEMS_TOPIC" -P -K$'\t'
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
