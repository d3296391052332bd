#!/bin/bash
# Creates Marquee's topics on the compose Kafka broker (run once by the
# kafka-init service with the apache/kafka image's own CLI). Idempotent:
# --if-not-exists makes a second `docker compose up` a no-op.
set -euo pipefail
BOOTSTRAP="${BOOTSTRAP:-kafka:9092}"
TOPICS_SH="${TOPICS_SH:-/opt/kafka/bin/kafka-topics.sh}"

create() {  # create NAME PARTITIONS [--config k=v ...]
  local name="$1" partitions="$2"; shift 2
  "$TOPICS_SH" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$name" --partitions "$partitions" --replication-factor 1 "$@"
}

create marquee.events 4                                   # keyed by user_id
create marquee.items 1 --config cleanup.policy=compact    # item catalog, latest record per item_id
create marquee.decisions 4                                # served decisions with propensities
create marquee.events.dlq 1                               # invalid events + reason headers
"$TOPICS_SH" --bootstrap-server "$BOOTSTRAP" --describe \
  --topic 'marquee\..*' | grep -E '^Topic:' || true
