#!/usr/bin/env bash
# Demo traffic: a synthetic audience for the dashboards. Each iteration asks
# Marquee for recommendations for a random MovieLens user and, with
# probability CLICK_PERCENT/100, sends back a `click` on one of the returned
# items carrying the decision_id, so the bandit's reward loop has feedback.
# The clicks are random, not a model of real users: they exercise the
# pipeline and the reward/exploration panels, nothing more.
#
# Environment:
#   MARQUEE_URL    Marquee HTTP base URL        (default http://marquee:8080)
#   BROKERS        bootstrap servers            (default kafka:9092)
#   TOPIC          events topic                 (default marquee.events)
#   USERS          users are u1..uUSERS         (default 610, MovieLens small)
#   TRAFFIC_RPS    requests per second          (default 5)
#   CLICK_PERCENT  chance of a click per request, percent (default 30)
#   ITERATIONS     requests to make; 0 = forever (default 0)
set -euo pipefail

URL="${MARQUEE_URL:-http://marquee:8080}"
BROKERS="${BROKERS:-kafka:9092}"
TOPIC="${TOPIC:-marquee.events}"
USERS="${USERS:-610}"
RPS="${TRAFFIC_RPS:-5}"
CLICK="${CLICK_PERCENT:-30}"
ITERATIONS="${ITERATIONS:-0}"
log() { echo "traffic: $*" >&2; }
for v in USERS RPS CLICK ITERATIONS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { log "$v must be a non-negative integer"; exit 2; }
done
(( RPS > 0 && USERS > 0 )) || { log "TRAFFIC_RPS and USERS must be positive"; exit 2; }

# One long-lived kcat producer; each line written to fd 3 becomes a message.
exec 3> >(exec kcat -b "$BROKERS" -t "$TOPIC" -P -K$'\t')
KCAT_PID=$!
finish() { exec 3>&-; wait "$KCAT_PID" 2>/dev/null || true; }
trap finish EXIT
trap 'exit 0' TERM INT

pause="$(awk -v r="$RPS" 'BEGIN {printf "%.3f", 1 / r}')"
served=0 clicks=0 failed=0 n=0
log "requesting $URL at ${RPS}/s, ${CLICK}% clicks, events to $TOPIC at $BROKERS"
while (( ITERATIONS == 0 || n < ITERATIONS )); do
  n=$((n + 1))
  user="u$((RANDOM % USERS + 1))"
  if reply="$(curl -sf --max-time 5 "$URL/v1/users/$user/recommendations?k=10")"; then
    served=$((served + 1))
    decision="$(grep -o '"decision_id":"[^"]*"' <<<"$reply" | cut -d'"' -f4)" || true
    mapfile -t items < <(grep -o '"item_id":"[^"]*"' <<<"$reply" | cut -d'"' -f4)
    if [[ -n "$decision" ]] && ((${#items[@]})) && (( RANDOM % 100 < CLICK )); then
      item="${items[RANDOM % ${#items[@]}]}"
      printf '%s\t{"type":"click","user_id":"%s","item_id":"%s","ts":%s,"decision_id":"%s"}\n' \
        "$user" "$user" "$item" "$(date +%s%3N)" "$decision" >&3
      clicks=$((clicks + 1))
    fi
  else
    failed=$((failed + 1))
  fi
  (( n % 100 == 0 )) && log "$n requests: $served served, $failed failed, $clicks clicks"
  sleep "$pause"
done
log "done: $n requests, $served served, $failed failed, $clicks clicks"
