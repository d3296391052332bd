#!/usr/bin/env python3
"""The `marquee` binary's command line: what it refuses, and that it says so.

Usage: cli_test.py path/to/marquee
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

MARQUEE = sys.argv[1]
failures = []


def run(*args, timeout=90):
    try:
        return subprocess.run([MARQUEE, *args], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:  # a hang is a failure with a message, not a traceback
        return subprocess.CompletedProcess(e.cmd, None, e.stdout or "", f"timed out after {timeout} s")


def check(name, ok, detail):
    print(("ok   " if ok else "FAIL ") + name)
    if not ok:
        failures.append(name)
        print("     " + detail.replace("\n", "\n     "))


# A port out of range is refused like --set http.port, not wrapped to 4464.
r = run("config", "print", "--port", "70000")
check("--port 70000 is refused naming http.port", r.returncode == 2 and "http.port" in r.stderr,
      f"rc={r.returncode} stdout={r.stdout[-300:]} stderr={r.stderr[-300:]}")
# -1 too (it once meant "not given", and the port stayed 8080).
r = run("config", "print", "--port", "-1")
check("--port -1 is refused naming http.port", r.returncode == 2 and "http.port" in r.stderr,
      f"rc={r.returncode} stdout={r.stdout[-300:]} stderr={r.stderr[-300:]}")
# Any bad command line is exit 2, as a bad setting is (not CLI11's own 1xx codes).
for args in (["config", "print", "--port", "abc"], ["-c", "/nonexistent.toml", "config", "print"], [],
             ["state", "replay", "--limit", "-5"], ["demo", "--limit", "-5"]):
    r = run(*args)
    check(f"{' '.join(args) or '(no command)'} exits 2", r.returncode == 2,
          f"rc={r.returncode} stderr={r.stderr[-300:]}")
# The simulation's knobs keep the ranges of the settings they stand for.
data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "ml-latest-small", "ratings.csv")
r = run("evaluate", "new-releases", "--data", data, "--weight", "-5")
check("evaluate new-releases --weight -5 is refused", r.returncode == 2 and "weight" in r.stderr,
      f"rc={r.returncode} stderr={r.stderr[-300:]}")
# A setting spelt with one underscore is not silently ignored.
r = subprocess.run([MARQUEE, "config", "print"], capture_output=True, text=True, timeout=60,
                   env={**os.environ, "MARQUEE_HTTP_PORT": "9191"})
check("MARQUEE_HTTP_PORT (one underscore) is warned about by name",
      r.returncode == 0 and "MARQUEE_HTTP_PORT is not a Marquee setting" in r.stdout + r.stderr
      and "http.port = 8080" in r.stdout,
      f"rc={r.returncode} stdout={r.stdout[-300:]} stderr={r.stderr[-300:]}")
r = run("config", "print", "--port", "9090")
check("--port 9090 is taken", r.returncode == 0 and "http.port = 9090" in r.stdout,
      f"rc={r.returncode} stdout={r.stdout[-300:]} stderr={r.stderr[-300:]}")

with tempfile.TemporaryDirectory() as tmp:
    # A checksum of a path that holds no state is an error, and creates nothing.
    missing = os.path.join(tmp, "typo")
    r = run("state", "checksum", "--data-dir", missing)
    check("state checksum of a missing data dir fails and creates nothing",
          r.returncode == 2 and not os.path.exists(missing),
          f"rc={r.returncode} exists={os.path.exists(missing)} stdout={r.stdout} stderr={r.stderr[-300:]}")

    # The demo's replay cannot reach the broker: it says so and exits 1,
    # rather than reporting "replay done" or aborting.
    r = run("demo", "--brokers", "127.0.0.1:1", "--data-dir", os.path.join(tmp, "demo"), "--port", "0",
            "--limit", "10", "--set", "kafka.message.timeout.ms=1000", "--set", "log.level=error")
    check("a demo whose replay is not delivered exits 1 and says why",
          r.returncode == 1 and "not delivered" in r.stderr,
          f"rc={r.returncode} stderr={r.stderr[-600:]}")

    # Stopped while its replay waits for unreachable brokers (up to 60 s), the
    # demo still ends within seconds of SIGTERM (it used to wait the minute out).
    p = subprocess.Popen([MARQUEE, "demo", "--brokers", "127.0.0.1:1", "--data-dir", os.path.join(tmp, "demo-term"),
                          "--port", "0", "--limit", "100", "--set", "log.level=error"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    sent = time.monotonic()
    p.send_signal(signal.SIGTERM)
    try:
        _, err = p.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    took = time.monotonic() - sent
    check("a demo stopped while its replay waits for the brokers exits within 15 s",
          p.returncode is not None and took < 15, f"rc={p.returncode} took={took:.1f} s stderr={err[-400:]}")

    # A port already taken: the error names the address, the port and the keys.
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run("run", "--brokers", "127.0.0.1:1", "--port", str(port), "--data-dir", os.path.join(tmp, "bind"),
                "--set", "log.level=error")
        check("a port in use is an error naming address, port and http.port",
              r.returncode == 2 and f"127.0.0.1 port {port}" in r.stderr and "http.port" in r.stderr,
              f"rc={r.returncode} stderr={r.stderr[-400:]}")

    # SIGTERM: new connections are refused at once, and with the brokers
    # unreachable the process still ends in seconds (it waited out a 10 s
    # cluster-id lookup, accepting connections all the while).
    import urllib.request
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    p = subprocess.Popen([MARQUEE, "run", "--brokers", "127.0.0.1:1", "--port", str(port), "--data-dir",
                          os.path.join(tmp, "term"), "--set", "log.level=error"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    up = False
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            up = True
            break
        except OSError:
            time.sleep(0.1)
    sent = time.monotonic()
    p.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        refused = False
    except OSError:
        refused = True
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    took = time.monotonic() - sent
    check("after SIGTERM new connections are refused and the process exits within 8 s",
          up and refused and p.returncode == 0 and took < 8,
          f"up={up} refused={refused} rc={p.returncode} took={took:.1f} s")

    # librdkafka's own lines follow log.format too: the producers' as well as
    # the consumers', as JSON on stdout, none raw on stderr.
    p = subprocess.Popen([MARQUEE, "run", "--brokers", "127.0.0.1:1", "--port", "0", "--data-dir",
                          os.path.join(tmp, "logs"), "--set", "log.format=json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.terminate()
        out, err = p.communicate(timeout=30)
    lines = [line for line in out.splitlines() if line.strip()]
    json_lines = [line for line in lines if line.startswith("{") and line.endswith("}")]
    check("librdkafka's producer and consumer logs are JSON lines on stdout, none raw on stderr",
          "|FAIL|" not in err and any("kafka producer" in line for line in json_lines)
          and len(json_lines) == len(lines),
          f"stderr={err[-400:]} stdout={out[-400:]}")

    # A data dir a running engine holds: a second engine says so, and
    # `demo --fresh` does not delete it (it did: the running engine's state
    # was lost, and at its exit it removed the new engine's files too).
    held = os.path.join(tmp, "held")
    p = subprocess.Popen([MARQUEE, "run", "--brokers", "127.0.0.1:1", "--port", "0", "--data-dir", held,
                          "--set", "log.level=error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        if os.path.exists(os.path.join(held, "CURRENT")):
            break
        time.sleep(0.1)
    time.sleep(0.5)
    try:
        second = run("run", "--brokers", "127.0.0.1:1", "--port", "0", "--data-dir", held, "--set", "log.level=error")
        fresh = run("demo", "--fresh", "--brokers", "127.0.0.1:1", "--port", "0", "--data-dir", held,
                    "--set", "log.level=error")
        still_there = os.path.exists(os.path.join(held, "CURRENT"))
    finally:
        p.terminate()
        p.wait(timeout=30)
    check("a second engine on a held data dir exits 2 saying it is in use",
          second.returncode == 2 and "in use by another process" in second.stderr,
          f"rc={second.returncode} stderr={second.stderr[-400:]}")
    check("demo --fresh leaves a data dir a running engine holds",
          fresh.returncode == 2 and "in use by another process" in fresh.stderr and still_there,
          f"rc={fresh.returncode} kept={still_there} stderr={fresh.stderr[-400:]}")

sys.exit(1 if failures else 0)
