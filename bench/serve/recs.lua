-- wrk script for the serving benchmark: rotates over MovieLens user ids
-- u1..uN (N = $USERS, default 610) on $WRK_PATH (default the recommendations
-- route; {user} is replaced), each wrk thread from its own offset, and prints
-- one key=value line with the throughput and latency percentiles (ms).
-- wrk is closed-loop: its latencies hide queueing (coordinated omission),
-- so quote its throughput and take latency from `serve_bench openloop`.
local users = tonumber(os.getenv("USERS") or "610")
local path = os.getenv("WRK_PATH") or "/v1/users/{user}/recommendations?k=10"
local requests = {}
local next_index = 1
local thread_count = 0

function setup(thread)
  thread:set("offset", thread_count * 97)
  thread_count = thread_count + 1
end

function init(args)
  for u = 1, users do
    requests[u] = wrk.format("GET", (path:gsub("{user}", "u" .. u)))
  end
  next_index = ((offset or 0) % users) + 1
end

function request()
  local r = requests[next_index]
  next_index = next_index % users + 1
  return r
end

function done(summary, latency, requests)
  local e = summary.errors
  local s = summary.duration / 1e6
  io.write(string.format(
    "wrk requests=%d duration_s=%.2f rps=%.0f errors=%d p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
    summary.requests, s, summary.requests / s, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    latency.max / 1000))
end
