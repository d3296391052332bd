#!/usr/bin/env python3
"""Renders the Grafana dashboard's panels as a Markdown table (panel, PromQL)
for the README's "Dashboards" section, between <!-- dashboards:begin --> and
<!-- dashboards:end -->.

  scripts/dashboard_table.py            print the table
  scripts/dashboard_table.py --write    rewrite the README block from the JSON
  scripts/dashboard_table.py --check    exit 1 (with a diff) if the README block differs
Options: --dashboard PATH (default deploy/grafana/dashboards/marquee.json), --readme PATH."""
import argparse
import difflib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- dashboards:begin -->", "<!-- dashboards:end -->"


def panels(dash):
    for p in dash.get("panels", []):
        yield p
        yield from panels({"panels": p.get("panels", [])})


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(dashboard: Path) -> str:
    dash = json.loads(dashboard.read_text())
    lines = ["| panel | PromQL |", "|---|---|"]
    section = ""
    for p in panels(dash):
        if p.get("type") == "row":
            section = p.get("title", "")
            continue
        targets = [t for t in p.get("targets", []) if t.get("expr")]
        for t in targets:
            title = p.get("title", "")
            legend = t.get("legendFormat", "")
            if len(targets) > 1 and legend:
                title += f" — {legend}"
            prefix = f"{section}: " if section else ""
            lines.append(f"| {cell(prefix + title)} | `{cell(t['expr'])}` |")
    return "\n".join(lines) + "\n"


def readme_block(text: str) -> tuple[int, int]:
    m = re.search(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END), text, re.S)
    if not m:
        raise SystemExit(f"README has no {BEGIN} ... {END} block")
    return m.start(1), m.end(1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dashboard", type=Path, default=ROOT / "deploy/grafana/dashboards/marquee.json")
    ap.add_argument("--readme", type=Path, default=ROOT / "README.md")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = ap.parse_args()

    table = render(args.dashboard)
    if not (args.write or args.check):
        sys.stdout.write(table)
        return 0
    text = args.readme.read_text()
    start, end = readme_block(text)
    if args.write:
        args.readme.write_text(text[:start] + table + text[end:])
        return 0
    current = text[start:end]
    if current != table:
        sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), table.splitlines(True),
                                                   "README.md (dashboards block)", "rendered from the dashboard JSON"))
        print("README dashboard table is stale: run scripts/dashboard_table.py --write", file=sys.stderr)
        return 1
    print(f"README dashboard table matches {args.dashboard.name} ({table.count(chr(10)) - 2} queries)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
