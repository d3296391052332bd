#!/usr/bin/python3
"""End to end with a real Prometheus server (Debian's /usr/bin/prometheus):
`marquee demo --limit 5000` (embedded broker, MovieLens replay) is scraped
every second by a Prometheus started here on 127.0.0.1; the test then asks
Prometheus's HTTP API, not the engine, for:
  - the ingest counter: exactly the 5000 events the demo replayed;
  - the HTTP latency histogram: exactly the requests this test made, and a
    finite p99 from histogram_quantile;
  - marquee_build_info == 1;
  - every Grafana panel query evaluates without error (and the core panels
    return data), with the dashboard's variables substituted.
Exit 77 (ctest: skipped) only when the prometheus binary is not installed.

Usage: prometheus_e2e_test.py BINARY"""
from __future__ import annotations

import json
import math
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import live  # noqa: E402
from live import SKIP, Failure, Marquee, dashboard_panels, free_port, http_get, log, wait_until, with_workdir  # noqa: E402

EVENTS = 5000
REQUESTS = 5
RECS_ROUTE = "/v1/users/{user_id}/recommendations"
# Panels that must return series once the demo has replayed and served.
MUST_HAVE_DATA = {"Build", "Ingest rate by event type", "Batch apply latency", "Consumer lag by partition", "HTTP requests by route and code",
                  "HTTP latency by route (p50, p99)", "Recommendations served by policy", "Items shown by candidate source"}


def find_prometheus() -> str | None:
    return shutil.which("prometheus") or ("/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)


class Prometheus:
    def __init__(self, binary: str, work: Path, target: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = work / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: marquee\n    static_configs:\n"
            f"      - targets: ['{target}']\n")
        self.log_path = work / "prometheus.log"
        cmd = [binary, f"--config.file={cfg}", f"--storage.tsdb.path={work / 'tsdb'}",
               f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"]
        log("$ " + " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        live.STARTED.append(self.proc)

        def ready():
            if self.proc.poll() is not None:
                raise Failure(f"prometheus exited {self.proc.returncode}:\n{self.log_path.read_text()[-2000:]}")
            return http_get(self.url + "/-/ready", timeout=2)[0] == 200

        wait_until("Prometheus /-/ready", ready, 60)

    def query(self, expr: str) -> list:
        code, body = http_get(f"{self.url}/api/v1/query?query={urllib.parse.quote(expr)}")
        reply = json.loads(body) if body.startswith("{") else {}
        if code != 200 or reply.get("status") != "success":
            raise Failure(f"Prometheus rejected {expr!r}: HTTP {code} {body[:300]}")
        return reply["data"]["result"]

    def scalar(self, expr: str) -> float | None:
        result = self.query(expr)
        if not result:
            return None
        if len(result) != 1:
            raise Failure(f"{expr!r} returned {len(result)} series, expected one")
        return float(result[0]["value"][1])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def body(binary: str, prom_bin: str, work: Path) -> int:
    started = time.monotonic()
    m = Marquee(binary, work, "--limit", str(EVENTS), mode="demo")
    prom = Prometheus(prom_bin, work, f"127.0.0.1:{m.port}")
    problems: list[str] = []

    wait_until("Prometheus to scrape marquee (up == 1)", lambda: prom.scalar('up{job="marquee"}') == 1, 30)
    # The demo replays EVENTS ratings; Prometheus must see exactly that many applied.
    wait_until(f"Prometheus to see {EVENTS} applied events",
               lambda: (prom.scalar("sum(marquee_events_applied_total)") or 0) >= EVENTS, 90)
    time.sleep(2)  # two more scrapes: nothing beyond the replay may appear
    applied = prom.scalar("sum(marquee_events_applied_total)")
    if applied != EVENTS:
        problems.append(f"Prometheus: sum(marquee_events_applied_total) = {applied}, the demo replayed {EVENTS}")
    rating = prom.scalar('sum(marquee_events_applied_total{type="rating"})')
    if rating != EVENTS:
        problems.append(f"Prometheus: rating events applied = {rating}, expected {EVENTS}")

    # Recommendation requests: the latency histogram must count exactly these.
    for i in range(1, REQUESTS + 1):
        code, reply = http_get(f"{m.url}/v1/users/u{i}/recommendations?k=5")
        if code != 200:
            raise Failure(f"recommendations for u{i}: HTTP {code} {reply}")
    count_q = f'sum(marquee_http_request_duration_seconds_count{{route="{RECS_ROUTE}"}})'
    wait_until(f"Prometheus to see {REQUESTS} recommendation latencies",
               lambda: (prom.scalar(count_q) or 0) >= REQUESTS, 30)
    time.sleep(1.5)
    n = prom.scalar(count_q)
    if n != REQUESTS:
        problems.append(f"Prometheus: {count_q} = {n}, the test made {REQUESTS} requests")
    buckets = prom.query(f'marquee_http_request_duration_seconds_bucket{{route="{RECS_ROUTE}"}}')
    if len(buckets) < 5 or not any(b["metric"].get("le") == "+Inf" for b in buckets):
        problems.append(f"latency histogram has {len(buckets)} buckets (no +Inf?)")
    inf = [float(b["value"][1]) for b in buckets if b["metric"].get("le") == "+Inf"]
    if inf != [REQUESTS]:
        problems.append(f"+Inf bucket = {inf}, expected [{REQUESTS}]")
    p99 = prom.scalar(f'histogram_quantile(0.99, sum by (le) (marquee_http_request_duration_seconds_bucket{{route="{RECS_ROUTE}"}}))')
    if p99 is None or not math.isfinite(p99) or p99 <= 0:
        problems.append(f"histogram_quantile p99 of recommendation latency = {p99}")
    else:
        log(f"recommendation latency p99 (from {REQUESTS} requests, via Prometheus): {p99 * 1e3:.3f} ms")

    info = prom.query("marquee_build_info")
    if len(info) != 1 or float(info[0]["value"][1]) != 1 or not info[0]["metric"].get("version"):
        problems.append(f"marquee_build_info: {info}")
    # The dashboard's $instance variable is label_values(marquee_build_info, instance).
    code, body = http_get(f"{prom.url}/api/v1/label/instance/values?match[]=marquee_build_info")
    if code != 200 or json.loads(body).get("data") != [f"127.0.0.1:{m.port}"]:
        problems.append(f"label_values(marquee_build_info, instance) = {body[:200]}, expected the scraped target")

    # Every dashboard query, evaluated by the real Prometheus.
    time.sleep(1)
    empty = []
    for panel, target in dashboard_panels():
        expr = (target["expr"].replace("$__rate_interval", "1m").replace("$instance", ".*"))
        try:
            result = prom.query(expr)
        except Failure as e:
            problems.append(f"panel {panel['title']!r}: {e}")
            continue
        if not result:
            empty.append(panel["title"])
            if panel["title"] in MUST_HAVE_DATA:
                problems.append(f"panel {panel['title']!r} returned no data: {expr}")
    log(f"{sum(1 for _ in dashboard_panels())} dashboard queries evaluated by Prometheus; "
        f"no data yet (expected for idle signals): {sorted(set(empty))}")

    prom.stop()
    rc = m.stop()
    if rc != 0:
        problems.append(f"marquee demo exited {rc} on SIGTERM")
    if problems:
        print(f"FAIL: {len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print("  - " + p, file=sys.stderr)
        print(m.logs(), file=sys.stderr)
        return 1
    log(f"Prometheus e2e passed in {time.monotonic() - started:.1f}s")
    return 0


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    prom_bin = find_prometheus()
    if not prom_bin:
        print("SKIP: the prometheus binary is not installed (scripts/dev.sh installs the Debian package)")
        return SKIP
    return with_workdir(lambda work: body(sys.argv[1], prom_bin, work))


if __name__ == "__main__":
    sys.exit(main())
