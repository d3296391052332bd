"""Helpers shared by the deploy tests: run the real `marquee` binary, scrape
it, parse the Prometheus text format, and read the dashboard. Standard library
only (system /usr/bin/python3)."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/grafana/dashboards/marquee.json"
README = ROOT / "README.md"
SKIP = 77  # ctest SKIP_RETURN_CODE


class Failure(Exception):
    pass


def log(msg: str) -> None:
    print(msg, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wait_until(what: str, fn, timeout: float, interval: float = 0.2):
    """Polls fn() until it returns a truthy value; returns it or raises."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (OSError, ValueError, KeyError) as e:
            last = e
        time.sleep(interval)
    raise Failure(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


# ---- Prometheus text format --------------------------------------------------

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_exposition(text: str):
    """Returns (types, samples): types maps family -> type from # TYPE lines;
    samples is a list of (name, labels dict, float value)."""
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            types[name] = kind.strip()
        elif line and not line.startswith("#"):
            m = SAMPLE.match(line)
            if not m:
                raise Failure(f"unparsable exposition line: {line!r}")
            labels = dict(LABEL.findall(m.group(2) or ""))
            samples.append((m.group(1), labels, float(m.group(3))))
    return types, samples


def total(samples, name: str, **labels) -> float:
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in labels.items()))


# ---- Dashboard ---------------------------------------------------------------

def dashboard_panels(path: Path = DASHBOARD):
    """Yields (panel, target) for every query target, rows' nested panels included."""
    dash = json.loads(path.read_text())

    def walk(panels):
        for p in panels:
            yield p
            yield from walk(p.get("panels", []))

    for p in walk(dash.get("panels", [])):
        for t in p.get("targets", []):
            yield p, t


STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
METRIC_IDENT = re.compile(r'(?<![a-zA-Z0-9_:$])((?:marquee|process)_[a-zA-Z0-9_:]*)')


def promql_metric_names(expr: str) -> set[str]:
    """Identifiers starting with marquee_ or process_ in a PromQL expression,
    ignoring string literals (label values such as reason="new_release")."""
    return set(METRIC_IDENT.findall(STRING.sub('""', expr)))


def base_name(name: str) -> str:
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


# ---- The real binary ---------------------------------------------------------

STARTED: list[subprocess.Popen] = []  # killed by with_workdir, whatever happens


class Marquee:
    """`marquee run|demo` on an embedded broker, HTTP on a free port."""

    def __init__(self, binary: str, workdir: Path, *args: str, mode: str = "run", port: int = 0):
        self.binary, self.workdir = binary, workdir
        self.out = open(workdir / "marquee.out", "w+")
        self.err = open(workdir / "marquee.log", "w+")
        cmd = [binary, mode, "--port", str(port), "--data-dir", str(workdir / "state"), *args]
        log("$ " + " ".join(cmd))
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL)
        STARTED.append(self.proc)
        self.port = 0
        self.bootstrap = ""

        def started():
            if self.proc.poll() is not None:
                raise Failure(f"marquee exited with {self.proc.returncode} at start-up\n{self.logs()}")
            text = (workdir / "marquee.out").read_text()
            http = re.search(r"^HTTP: http://[^:]+:(\d+)", text, re.M)
            kafka = re.search(r"^Kafka bootstrap: (\S+)", text, re.M)
            if http and kafka:
                self.port, self.bootstrap = int(http.group(1)), kafka.group(1)
                return True
            return False

        wait_until("marquee to print its addresses", started, 60)
        self.url = f"http://127.0.0.1:{self.port}"

    def logs(self, lines: int = 40) -> str:
        text = ""
        for f in ("marquee.out", "marquee.log"):
            p = self.workdir / f
            if p.exists():
                text += f"--- {f} ---\n" + "\n".join(p.read_text().splitlines()[-lines:]) + "\n"
        return text

    def wait_ready(self, timeout: float = 60) -> None:
        wait_until("/readyz 200", lambda: http_get(self.url + "/readyz")[0] == 200, timeout)

    def scrape(self) -> str:
        code, body = http_get(self.url + "/metrics")
        if code != 200:
            raise Failure(f"/metrics answered {code}")
        return body

    def samples(self):
        return parse_exposition(self.scrape())[1]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_script(script: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs a deploy/ shell script with extra environment; raises on failure."""
    full = {**os.environ, **env}
    log(f"$ {' '.join(f'{k}={v}' for k, v in env.items())} {script}")
    r = subprocess.run(["bash", str(ROOT / script)], env=full, capture_output=True, text=True, timeout=timeout)
    sys.stdout.write(r.stderr)
    if r.returncode != 0:
        raise Failure(f"{script} exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r


def kcat_produce(bootstrap: str, topic: str, lines: list[str]) -> None:
    """Produces key<TAB>value lines with kcat (a real Kafka client)."""
    r = subprocess.run(["kcat", "-b", bootstrap, "-t", topic, "-P", "-K\t"],
                       input="".join(l + "\n" for l in lines), capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise Failure(f"kcat failed: {r.stderr}")


REPLAYED = 2000  # MovieLens ratings the live fixture replays
CATALOG = 9742   # MovieLens movies (movies.csv rows), replayed first as catalog records


def exercised_marquee(binary: str, workdir: Path) -> tuple[Marquee, dict]:
    """Starts `marquee run` and drives it like the compose demo does: the
    MovieLens replay script (2000 ratings), one malformed event (DLQ), the
    traffic script (recommendations + clicks carrying decision_ids, i.e.
    rewards), and a 404. Returns the engine and facts the caller can check."""
    for tool in ("kcat", "curl"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            raise Failure(f"{tool} is not installed (scripts/dev.sh installs it)")
    m = Marquee(binary, workdir)
    m.wait_ready()
    facts = {}
    ratings = str(ROOT / "data/ml-latest-small/ratings.csv")
    replay_env = {"BROKERS": m.bootstrap, "RATINGS": ratings, "REPLAY_RATE": "0", "REPLAY_LIMIT": str(REPLAYED),
                  "MOVIES": str(ROOT / "data/ml-latest-small/movies.csv")}
    run_script("deploy/producer/replay.sh", replay_env)
    wait_until(f"{REPLAYED} events applied",
               lambda: total(m.samples(), "marquee_events_applied_total") >= REPLAYED, 60)
    wait_until(f"{CATALOG} catalog records applied",
               lambda: total(m.samples(), "marquee_catalog_applied_total") >= CATALOG, 60)
    facts["genre_reply"] = subprocess.run(
        ["curl", "-s", f"{m.url}/v1/users/u1/recommendations?k=5&genres=Comedy,Drama"],
        capture_output=True, text=True, timeout=30).stdout
    # Idempotence guard: a second replay must not send anything.
    again = run_script("deploy/producer/replay.sh", replay_env)
    facts["second_replay_log"] = again.stderr
    kcat_produce(m.bootstrap, "marquee.events", ['bad\t{"type":'])
    wait_until("the malformed event to be counted",
               lambda: total(m.samples(), "marquee_events_invalid_total", reason="malformed_json") >= 1, 30)
    traffic = run_script("deploy/producer/traffic.sh", {
        "MARQUEE_URL": m.url, "BROKERS": m.bootstrap, "ITERATIONS": "20", "TRAFFIC_RPS": "50",
        "CLICK_PERCENT": "100", "USERS": "50"})
    done = re.search(r"done: (\d+) requests, (\d+) served, (\d+) failed, (\d+) clicks", traffic.stderr)
    if not done:
        raise Failure(f"traffic.sh printed no summary: {traffic.stderr}")
    facts["requests"], facts["served"], facts["failed"], facts["clicks"] = map(int, done.groups())
    wait_until(f"{facts['clicks']} rewards", lambda: total(
        m.samples(), "marquee_rewards_total") >= facts["clicks"] > 0, 30)
    http_get(m.url + "/no/such/route")
    return m, facts


def kill_started() -> None:
    for p in STARTED:
        if p.poll() is None:
            p.kill()
            p.wait()


def _terminated(signum, frame):
    raise SystemExit(128 + signum)


def with_workdir(fn):
    """Runs fn(workdir) in a temporary directory; turns Failure into exit 1
    with the message; kills every process the test started, even on SIGTERM
    (a ctest timeout) or an unexpected exception."""
    signal.signal(signal.SIGTERM, _terminated)
    signal.signal(signal.SIGINT, _terminated)
    with tempfile.TemporaryDirectory(prefix="marquee-deploy.") as d:
        try:
            return fn(Path(d))
        except Failure as e:
            print(f"FAIL: {e}", file=sys.stderr, flush=True)
            return 1
        finally:
            kill_started()
