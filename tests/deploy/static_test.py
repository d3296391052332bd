#!/usr/bin/python3
"""Static checks of the docker compose deployment (Docker does not run on the
build machines): docker-compose.yml, the Dockerfile and .dockerignore, the
Prometheus config and the Grafana provisioning + dashboard. Also runs
`docker-compose config -q` and `promtool check config` when those exist.

Usage: static_test.py   (exit 0 pass, 1 fail)"""
from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml  # Debian: python3-yaml

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from live import ROOT  # noqa: E402

problems: list[str] = []


def check(cond: bool, msg: str) -> bool:
    if not cond:
        problems.append(msg)
    return cond


def load_yaml(rel: str):
    with open(ROOT / rel) as f:
        return yaml.safe_load(f)


# ---- docker-compose.yml ------------------------------------------------------

compose = load_yaml("docker-compose.yml")
services = compose.get("services", {})
REQUIRED = ["kafka", "kafka-init", "marquee", "replay", "traffic", "prometheus", "grafana"]
for s in REQUIRED:
    check(s in services, f"compose: service {s!r} missing")
named_volumes = set((compose.get("volumes") or {}).keys())


def env_of(svc: dict) -> dict:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: str(v) for k, v in env.items()}


def mounts(svc: dict) -> list[tuple[str, str]]:
    out = []
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            out.append((str(v.get("source", "")), str(v["target"])))
        else:
            parts = v.split(":")
            out.append((parts[0], parts[1]) if len(parts) > 1 else ("", parts[0]))
    return out


# Dockerfile stages, for build targets and image health checks.
dockerfile_text = (ROOT / "Dockerfile").read_text() if check((ROOT / "Dockerfile").is_file(), "Dockerfile missing") else ""
stages: dict[str, dict] = {}
current = None
for line in re.sub(r"\\\n", " ", dockerfile_text).splitlines():
    m = re.match(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line.strip(), re.I)
    if m:
        current = m.group(2) or f"#{len(stages)}"
        stages[current] = {"base": m.group(1), "lines": []}
    elif current and line.strip() and not line.lstrip().startswith("#"):
        stages[current]["lines"].append(line.strip())

host_ports: dict[str, str] = {}
for name, svc in services.items():
    # Image or build, and build targets that exist.
    build = svc.get("build")
    check("image" in svc or build, f"compose: {name}: neither image nor build")
    if build:
        b = build if isinstance(build, dict) else {"context": build}
        ctx = ROOT / b.get("context", ".")
        check(ctx.is_dir(), f"compose: {name}: build context {ctx} missing")
        check((ctx / b.get("dockerfile", "Dockerfile")).is_file(), f"compose: {name}: Dockerfile missing")
        if "target" in b:
            check(b["target"] in stages, f"compose: {name}: build target {b['target']!r} is not a Dockerfile stage")
    else:
        check(":" in svc["image"] and not svc["image"].endswith(":latest"),
              f"compose: {name}: pin the image version ({svc['image']})")
    # Ports: "host:container", host ports unique.
    for p in svc.get("ports") or []:
        m = re.fullmatch(r"(?:[\d.]+:)?(\d+):(\d+)(?:/tcp|/udp)?", str(p))
        if check(m is not None, f"compose: {name}: port {p!r} is not HOST:CONTAINER"):
            check(m.group(1) not in host_ports,
                  f"compose: host port {m.group(1)} used by {name} and {host_ports.get(m.group(1))}")
            host_ports[m.group(1)] = name
    # Volumes: bind sources exist, named volumes declared.
    for src, dst in mounts(svc):
        check(dst.startswith("/"), f"compose: {name}: mount target {dst!r} not absolute")
        if src.startswith(("./", "../", "/")):
            check((ROOT / src).exists(), f"compose: {name}: bind mount source {src} does not exist")
        elif src:
            check(src in named_volumes, f"compose: {name}: volume {src!r} not declared under volumes:")
    # depends_on: known services, valid conditions, health checks where needed.
    deps = svc.get("depends_on") or {}
    if isinstance(deps, list):
        deps = {d: {"condition": "service_started"} for d in deps}
    for dep, spec in deps.items():
        if not check(dep in services, f"compose: {name} depends on unknown service {dep!r}"):
            continue
        cond = (spec or {}).get("condition", "service_started")
        check(cond in ("service_started", "service_healthy", "service_completed_successfully"),
              f"compose: {name}: unknown depends_on condition {cond!r}")
        if cond == "service_healthy":
            target = services[dep]
            tgt_stage = (target.get("build") or {}).get("target") if isinstance(target.get("build"), dict) else None
            image_hc = tgt_stage and any(l.upper().startswith("HEALTHCHECK") for l in stages.get(tgt_stage, {}).get("lines", []))
            check("healthcheck" in target or image_hc,
                  f"compose: {name} waits for {dep} to be healthy but {dep} has no health check")
        if cond == "service_completed_successfully":
            check(services[dep].get("restart", "no") == "no",
                  f"compose: {dep} must not restart: {name} waits for it to complete")

# Kafka: official image, single node KRaft, listener the others use.
kafka = services.get("kafka", {})
kenv = env_of(kafka)
check(kafka.get("image") == "apache/kafka:3.9.1", "compose: kafka image must be apache/kafka:3.9.1")
check(set(kenv.get("KAFKA_PROCESS_ROLES", "").split(",")) == {"broker", "controller"},
      "compose: kafka must run broker and controller (KRaft single node)")
check(not any("ZOOKEEPER" in k for k in kenv), "compose: kafka must not use ZooKeeper")
check("kafka:9092" in kenv.get("KAFKA_ADVERTISED_LISTENERS", ""), "compose: kafka must advertise kafka:9092")
check(any(dst == kenv.get("KAFKA_LOG_DIRS") for _, dst in mounts(kafka)), "compose: kafka log dir must be a volume")
check("healthcheck" in kafka, "compose: kafka needs a health check")

# Topic creation with the image's own CLI.
init = services.get("kafka-init", {})
check(init.get("image") == kafka.get("image"), "compose: kafka-init must use the kafka image (its CLI)")
script_mounts = [src for src, dst in mounts(init) if src.endswith(".sh")]
if check(len(script_mounts) == 1, "compose: kafka-init must mount its topic script"):
    topics_sh = (ROOT / script_mounts[0]).read_text()
    check("/opt/kafka/bin/kafka-topics.sh" in topics_sh, "create-topics.sh must use /opt/kafka/bin/kafka-topics.sh")
    created = {m.group(1): (int(m.group(2)), m.group(3) or "")
               for m in re.finditer(r"^create (\S+) (\d+)([^#\n]*)", topics_sh, re.M)}
    check(created.get("marquee.events", (0,))[0] == 4, "create-topics.sh: marquee.events needs 4 partitions")
    check("cleanup.policy=compact" in created.get("marquee.items", (0, ""))[1], "create-topics.sh: marquee.items must be compacted")
    for t in ("marquee.decisions", "marquee.events.dlq"):
        check(t in created, f"create-topics.sh: topic {t} not created")

# Marquee: the runtime image, real brokers, all interfaces, state on a volume.
mq = services.get("marquee", {})
cmd = mq.get("command") or []
cmd = cmd.split() if isinstance(cmd, str) else cmd
expected = ["run", "--brokers", "kafka:9092", "--listen", "0.0.0.0", "--data-dir", "/var/lib/marquee"]
check(cmd == expected, f"compose: marquee command must be {expected}, is {cmd}")
check((mq.get("build") or {}).get("target") == "runtime", "compose: marquee must build the runtime stage")
# The image has no .git: the commit behind marquee_build_info must come in as a build argument.
check("GIT_COMMIT" in ((mq.get("build") or {}).get("args") or {}), "compose: marquee's build must pass GIT_COMMIT")
check(any(dst == "/var/lib/marquee" for _, dst in mounts(mq)), "compose: /var/lib/marquee must be a volume")
check(any(str(p).endswith(":8080") for p in mq.get("ports") or []), "compose: marquee must publish container port 8080")
hc = " ".join(mq.get("healthcheck", {}).get("test", []))
check("marquee-healthcheck" in hc, "compose: marquee health check must use the image's marquee-healthcheck")
check((mq.get("depends_on") or {}).get("kafka-init", {}).get("condition") == "service_completed_successfully",
      "compose: marquee must wait for the topics (kafka-init completed)")

# Demo producers: the producer stage and its scripts.
for name, script in (("replay", "replay.sh"), ("traffic", "traffic.sh")):
    svc = services.get(name, {})
    check((svc.get("build") or {}).get("target") == "producer", f"compose: {name} must build the producer stage")
    check(script in " ".join(svc.get("command") or []), f"compose: {name} must run {script}")
    check((ROOT / "deploy/producer" / script).is_file(), f"deploy/producer/{script} missing")

# Prometheus scrapes marquee on its container port; Grafana reads Prometheus.
prom = services.get("prometheus", {})
check(str(prom.get("image", "")).startswith("prom/prometheus:"), "compose: prometheus image must be prom/prometheus")
prom_cfg_src = [src for src, dst in mounts(prom) if dst == "/etc/prometheus/prometheus.yml"]
check(prom_cfg_src == ["./deploy/prometheus/prometheus.yml"], "compose: prometheus must mount deploy/prometheus/prometheus.yml")
prom_cfg = load_yaml("deploy/prometheus/prometheus.yml")
targets = [t for job in prom_cfg.get("scrape_configs", []) for sc in job.get("static_configs", []) for t in sc.get("targets", [])]
check("marquee:8080" in targets, f"prometheus.yml must scrape marquee:8080 (targets: {targets})")
for t in targets:
    host = t.split(":")[0]
    check(host in services or host == "localhost", f"prometheus.yml: target host {host!r} is not a compose service")
mq_job = [j for j in prom_cfg.get("scrape_configs", []) if j.get("job_name") == "marquee"]
check(bool(mq_job) and mq_job[0].get("metrics_path", "/metrics") == "/metrics", "prometheus.yml: marquee job must scrape /metrics")

graf = services.get("grafana", {})
check(str(graf.get("image", "")).startswith("grafana/grafana:"), "compose: grafana image must be grafana/grafana")
gm = dict((dst, src) for src, dst in mounts(graf))
check(gm.get("/etc/grafana/provisioning") == "./deploy/grafana/provisioning", "compose: grafana must mount deploy/grafana/provisioning")
dash_mount = [dst for src, dst in mounts(graf) if src == "./deploy/grafana/dashboards"]
check(len(dash_mount) == 1, "compose: grafana must mount deploy/grafana/dashboards")
home = env_of(graf).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH", "")
if dash_mount and home:
    check(home.startswith(dash_mount[0] + "/") and (ROOT / "deploy/grafana/dashboards" / home[len(dash_mount[0]) + 1:]).is_file(),
          f"compose: GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH {home} is not a mounted dashboard")

# ---- Grafana provisioning ----------------------------------------------------

ds_files = sorted((ROOT / "deploy/grafana/provisioning/datasources").glob("*.yaml"))
check(bool(ds_files), "no datasource provisioning under deploy/grafana/provisioning/datasources")
ds = [d for f in ds_files for d in (yaml.safe_load(f.read_text()) or {}).get("datasources", [])]
prom_ds = [d for d in ds if d.get("uid") == "prometheus"]
if check(len(prom_ds) == 1, "exactly one provisioned datasource must have uid 'prometheus'"):
    check(prom_ds[0].get("type") == "prometheus", "datasource 'prometheus' must be of type prometheus")
    check(prom_ds[0].get("url") == "http://prometheus:9090", "datasource must point at http://prometheus:9090")
for f in ds_files:
    check((yaml.safe_load(f.read_text()) or {}).get("apiVersion") == 1, f"{f.name}: apiVersion must be 1")

prov_files = sorted((ROOT / "deploy/grafana/provisioning/dashboards").glob("*.yaml"))
providers = [p for f in prov_files for p in (yaml.safe_load(f.read_text()) or {}).get("providers", [])]
if check(len(providers) >= 1, "no dashboard provider under deploy/grafana/provisioning/dashboards"):
    check(all(p.get("type") == "file" for p in providers), "dashboard providers must be file providers")
    check(any(p.get("options", {}).get("path") in dash_mount for p in providers),
          f"no dashboard provider reads the mounted dashboards folder {dash_mount}")

DS = {"type": "prometheus", "uid": "prometheus"}
for f in sorted((ROOT / "deploy/grafana/dashboards").glob("*.json")):
    raw = f.read_text()
    dash = json.loads(raw)
    check(dash.get("id", "missing") is None, f"{f.name}: \"id\" must be null")
    check(isinstance(dash.get("uid"), str) and 0 < len(dash["uid"]) <= 40, f"{f.name}: needs a fixed uid (<= 40 chars)")
    check("__inputs" not in dash and "${DS_" not in raw, f"{f.name}: no __inputs/${{DS_...}} (those are for manual import)")
    ids, cells = set(), []

    def walk(panels):
        for p in panels:
            yield p
            yield from walk(p.get("panels", []))

    for p in walk(dash.get("panels", [])):
        where = f"{f.name}: panel {p.get('title')!r}"
        check(p.get("id") not in ids, f"{where}: duplicate id {p.get('id')}")
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        if check(all(k in g for k in "hwxy") and g["x"] + g["w"] <= 24, f"{where}: bad gridPos {g}"):
            for other, og in cells:
                overlap = g["x"] < og["x"] + og["w"] and og["x"] < g["x"] + g["w"] and g["y"] < og["y"] + og["h"] and og["y"] < g["y"] + g["h"]
                check(not overlap, f"{where}: overlaps panel {other!r}")
            cells.append((p.get("title"), g))
        if p.get("type") == "row":
            continue
        check(p.get("datasource") == DS, f"{where}: datasource must be {DS}")
        targets = p.get("targets", [])
        check(bool(targets), f"{where}: no queries")
        refs = [t.get("refId") for t in targets]
        check(len(set(refs)) == len(refs) and None not in refs, f"{where}: refIds must be unique")
        for t in targets:
            check(t.get("datasource", DS) == DS, f"{where}: target datasource must be {DS}")
            check(bool(t.get("expr", "").strip()), f"{where}: empty expr")
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            check(v.get("datasource") == DS, f"{f.name}: variable {v.get('name')}: datasource must be {DS}")

# ---- Dockerfile ---------------------------------------------------------------

check(stages.get("build", {}).get("base") == "debian:12", "Dockerfile: stage 'build' must be FROM debian:12")
check(stages.get("runtime", {}).get("base") == "debian:12-slim", "Dockerfile: stage 'runtime' must be FROM debian:12-slim")
check(stages.get("producer", {}).get("base") == "debian:12-slim", "Dockerfile: stage 'producer' must be FROM debian:12-slim")
check(list(stages)[-1:] == ["runtime"], "Dockerfile: runtime must be the last stage (plain `docker build` = the engine)")
build_lines = " ".join(stages.get("build", {}).get("lines", []))
check("cmake" in build_lines and "Ninja" in build_lines, "Dockerfile: build stage must build with cmake + Ninja")
check("ARG GIT_COMMIT" in build_lines and '-DMARQUEE_COMMIT="$GIT_COMMIT"' in build_lines,
      "Dockerfile: the build stage must hand the GIT_COMMIT build argument to cmake (.git is not in the context)")
rt = stages.get("runtime", {}).get("lines", [])
check(any(l.startswith("HEALTHCHECK") for l in rt), "Dockerfile: runtime needs a HEALTHCHECK")
check(any(l.startswith("USER") and "root" not in l for l in rt), "Dockerfile: runtime must not run as root")
check(any(l.startswith("ENTRYPOINT") and "marquee" in l for l in rt), "Dockerfile: runtime ENTRYPOINT must be marquee")
check(not re.search(r"\b\S+-dev\b", " ".join(rt)), "Dockerfile: runtime must not install -dev packages")

# The build stage installs scripts/dev.sh's PACKAGES, read from dev.sh itself:
# run the Dockerfile's extraction here and compare with bash sourcing the array.
SED = 'sed -n "/^PACKAGES=(/,/^)/p"'
check(SED in build_lines, "Dockerfile: build stage must read PACKAGES from scripts/dev.sh")
extract = subprocess.run(["bash", "-c", f'eval "$({SED} {ROOT}/scripts/dev.sh)"; printf "%s\\n" "${{PACKAGES[@]}}"'],
                         capture_output=True, text=True)
dev_sh = (ROOT / "scripts/dev.sh").read_text()
block = re.search(r"^PACKAGES=\((.*?)^\)", dev_sh, re.S | re.M)
expected_pkgs = re.sub(r"#[^\n]*", "", block.group(1)).split() if block else []
check(extract.returncode == 0 and extract.stdout.split() == expected_pkgs and len(expected_pkgs) > 5,
      f"Dockerfile's PACKAGES extraction gives {extract.stdout.split()} (expected {expected_pkgs}) {extract.stderr}")

# COPY sources exist and are not excluded by .dockerignore.
ignore = [l.strip().rstrip("/") for l in (ROOT / ".dockerignore").read_text().splitlines()
          if l.strip() and not l.startswith("#")] if check((ROOT / ".dockerignore").is_file(), ".dockerignore missing") else []


def ignored(rel: str) -> bool:
    parts = rel.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pat in ignore:
        pat = pat.lstrip("/")
        if pat.startswith("**/"):
            if any(fnmatch.fnmatch(p, pat[3:]) for p in parts):
                return True
        elif any(fnmatch.fnmatch(p, pat) for p in prefixes):
            return True
    return False


for name, st in stages.items():
    for l in st["lines"]:
        m = re.match(r"^COPY\s+(.*)", l)
        if not m or "--from=" in l:
            continue
        srcs = m.group(1).split()[:-1]
        for s in srcs:
            if s == ".":
                continue
            check((ROOT / s).exists(), f"Dockerfile ({name}): COPY source {s} does not exist")
            check(not ignored(s), f"Dockerfile ({name}): COPY source {s} is excluded by .dockerignore")
for must in (".git", "build"):
    check(ignored(must), f".dockerignore must exclude {must}")
check(not ignored("data/ml-latest-small/ratings.csv"), ".dockerignore must keep the MovieLens ratings (producer stage)")

# ---- Scripts, and the real validators when present ---------------------------

for sh in sorted((ROOT / "deploy").rglob("*.sh")):
    r = subprocess.run(["bash", "-n", str(sh)], capture_output=True, text=True)
    check(r.returncode == 0, f"bash -n {sh.relative_to(ROOT)}: {r.stderr.strip()}")
    check(sh.stat().st_mode & 0o111 != 0, f"{sh.relative_to(ROOT)} must be executable")

if shutil.which("docker-compose"):
    r = subprocess.run(["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                       capture_output=True, text=True, cwd=ROOT)
    check(r.returncode == 0, f"docker-compose config -q failed: {r.stderr.strip()}")
    print("docker-compose config -q: ok")
else:
    print("docker-compose not installed: skipped `docker-compose config -q` (the checks above still ran)")

if shutil.which("promtool"):
    r = subprocess.run(["promtool", "check", "config", str(ROOT / "deploy/prometheus/prometheus.yml")],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"promtool check config failed: {r.stdout}{r.stderr}")
    print("promtool check config: ok")
else:
    print("promtool not installed: skipped `promtool check config` (scripts/dev.sh installs prometheus)")

if problems:
    print(f"FAIL: {len(problems)} problem(s):", file=sys.stderr)
    for p in problems:
        print("  - " + p, file=sys.stderr)
    sys.exit(1)
print(f"deploy static checks passed ({len(services)} services, {len(stages)} Dockerfile stages)")
