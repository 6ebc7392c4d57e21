#!/usr/bin/env python3
"""`make bench`, last step: one table from the parts' results in
bench-results/ (coldstart.json, per-event.json, sizes.json; a missing part
leaves its columns empty), followed by the cost table (cost.md). Prints it and writes bench-results/bench.md."""

import json
import os
import statistics
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "bench-results"
FLOOR, NOOP = "floor (one PutItem)", "no-op function"
PYTHON = "Python 3 + boto3 (zonitel-call's job)"
SIZE_NAMES = {FLOOR: "bench-floor", NOOP: "bench-noop"}
TARGETS = "targets: first response ≤ 1.25 × floor and ≤ 0.1 × Python; peak < 25 MB; per event < 50 µs; arm64 binary < 8 MB"


def load(name):
    path = OUT / name
    return json.loads(path.read_text()) if path.exists() else {}


def main():
    cold, per_event, sizes = load("coldstart.json"), load("per-event.json"), load("sizes.json")

    def med(name, key):
        return statistics.median(s[key] for s in cold[name]["samples"])

    floor = med(FLOOR, "first_ms") if FLOOR in cold else None
    floor_own = med(FLOOR, "own_ms") if FLOOR in cold else None
    python = med(PYTHON, "first_ms") if PYTHON in cold else None
    names = list(cold) or [n for n in sizes]
    for name in sizes:
        if name not in names and name not in SIZE_NAMES.values():
            names.append(name)
    rows = []
    for name in names:
        row = [name]
        if name in cold:
            first = med(name, "first_ms")
            peak = max(s["peak_mb"] for s in cold[name]["samples"])
            requests = operations(cold[name]["requests"])
            warm_requests = operations(cold[name].get("warm_requests", cold[name]["requests"]))
            if warm_requests != requests:
                requests = f"cold: {requests}; warm: {warm_requests}"
            own = med(name, "own_ms")
            warm = "warm_ms" in cold[name]["samples"][0]
            row += [
                f"{med(name, 'init_ms'):.1f}",
                f"{first:.1f}",
                f"{med(name, 'aws_wait_ms'):.1f}",
                f"{own:.1f}",
                f"{first / floor:.2f}" if floor else "",
                f"{own / floor_own:.2f}" if floor_own else "",
                f"{first / python:.3f}" if python else "",
                f"{med(name, 'warm_ms'):.1f}" if warm else "",
                f"{med(name, 'warm_own_ms'):.2f}" if warm else "",
                f"{peak:.1f}",
                requests,
            ]
        else:
            row += [""] * 11
        events = [v for k, v in per_event.items() if k.startswith(name.split("-")[0] + "-") and _same(name, k)]
        if events:
            row.append(f"{max(e['median_us'] for e in events):.1f} / {max(e['p99_us'] for e in events):.1f}")
        else:
            row.append("")
        size = sizes.get(SIZE_NAMES.get(name, name))
        row += [f"{size['binary'] / 2**20:.2f}", f"{size['zip'] / 2**20:.2f}"] if size else ["", ""]
        rows.append(row)
    head = [
        "function",
        "start → next (ms)",
        "start → response (ms)",
        "of which moto (ms)",
        "own (ms)",
        "× floor",
        "own × floor",
        "× Python",
        "warm: event → response (ms)",
        "warm own (ms)",
        "peak RSS (MB)",
        "AWS requests per webhook",
        "per event, worst median / p99 (µs)",
        "arm64 binary (MiB)",
        "zip (MiB)",
    ]
    starts = len(next(iter(cold.values()))["samples"]) if cold else 0
    lines = [
        f"callhooks `make bench`: medians of {starts} cold starts each on {os.cpu_count()} cores against moto on 127.0.0.1.",
        "own = start → response less the time spent waiting on moto (a Python server, far slower than DynamoDB).",
        "warm = a second delivery handed to the same process; AWS requests are the cold invocation's, and the warm one's where they differ.",
        TARGETS + ".",
        "",
        "| " + " | ".join(head) + " |",
        "|---|" + "---:|" * 10 + "---|" + "---:|" * 3,
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    cost = OUT / "cost.md"
    if cost.exists():
        lines += ["", "Cost per delivery (make bench-cost):", "", cost.read_text().rstrip("\n")]
    text = "\n".join(lines) + "\n"
    OUT.mkdir(exist_ok=True)
    (OUT / "bench.md").write_text(text)
    print(text)


def operations(counts):
    return ", ".join(f"{k.split(':')[1]} {v}" for k, v in sorted(counts.items())) or "none"


def _same(function, event):
    """Whether a per-event bench case (an events/ file name) is this function's."""
    prefixes = {
        "zonitel-call": "zonitel-call",
        "zonitel-sms": "zonitel-sms",
        "salpre-events": "salpre-",
        "voxtelesys-voice": "voxtelesys-",
        "retell-inbound": "retell-",
        "twilio": "twilio-",
    }
    prefix = prefixes.get(function)
    return prefix is not None and event.startswith(prefix)


if __name__ == "__main__":
    main()
