#!/usr/bin/env python3
"""`make bench-cost`, second step: prices what tests/examples/cost.rs
measured (bench-results/cost-units.json) with bench/prices.py, beside the
floor (one PutItem of the same raw body, with the same API Gateway and
Lambda charges). Prints the table and writes bench-results/cost.md and
cost.json."""

import json
import math
from pathlib import Path

import prices

OUT = Path(__file__).resolve().parent.parent / "bench-results"

# Billed Lambda duration, per started millisecond: the functions' own work
# (make bench: well under a millisecond warm, counted as 2) plus a typical
# in-region DynamoDB round trip per request, as if none ran side by side
# (an upper bound). moto is far slower than DynamoDB, so its times are not
# used.
OWN_MS = 2
DYNAMODB_ROUND_TRIP_MS = 8
SQS_ROUND_TRIP_MS = 10

# The targets, × floor.
TARGETS = {
    "zonitel call": 1.5,
    "zonitel sms": 1.5,
    "salpre events": 1.5,
    "voxtelesys": 2.0,
    # The same call-control work as Voxtelesys's.
    "twilio": 2.0,
    "retell inbound": 2.0,
    "retell events": 2.0,
}


def lambda_cost(invocations, ms):
    per_invocation = prices.LAMBDA_REQUESTS_PER_MILLION / 1e6 + math.ceil(ms) / 1000 * prices.LAMBDA_MEMORY_GB * prices.LAMBDA_ARM_GB_SECOND
    return invocations * per_invocation


def per_million(row):
    """Dollars per million deliveries of this row, and of its floor."""
    ms = OWN_MS + DYNAMODB_ROUND_TRIP_MS * max(row["dynamodb_requests"], 1)
    if row["sqs_requests"]:
        ms += SQS_ROUND_TRIP_MS
    api = row["api_requests"] * prices.HTTP_API_PER_MILLION / 1e6
    lam = lambda_cost(row["lambda_invocations"], ms)
    ddb = (row["write_units"] * prices.DYNAMODB_WRU_PER_MILLION + row["read_units"] * prices.DYNAMODB_RRU_PER_MILLION) / 1e6
    sqs = row["sqs_requests"] * prices.SQS_REQUESTS_PER_MILLION / 1e6
    alerts = row.get("alerts", {})
    alert = 0.0
    if alerts:
        alert_ms = OWN_MS + DYNAMODB_ROUND_TRIP_MS * alerts.get("dynamodb_requests", 0)
        alert = (
            lambda_cost(alerts.get("invocations", 0), alert_ms)
            + alerts.get("write_units", 0) * prices.DYNAMODB_WRU_PER_MILLION / 1e6
            + alerts.get("read_units", 0) * prices.DYNAMODB_RRU_PER_MILLION / 1e6
            + alerts.get("sns_publishes", 0) * prices.SNS_PUBLISHES_PER_MILLION / 1e6
        )
    floor = api + lambda_cost(1, OWN_MS + DYNAMODB_ROUND_TRIP_MS) + row["floor"]["write_units"] * prices.DYNAMODB_WRU_PER_MILLION / 1e6
    total = api + lam + ddb + sqs + alert
    return {
        "api": api * 1e6,
        "lambda": lam * 1e6,
        "dynamodb": ddb * 1e6,
        "sqs": sqs * 1e6,
        "alerts": alert * 1e6,
        "total": total * 1e6,
        "floor": floor * 1e6,
        "times_floor": total / floor,
    }


def without(row, units):
    """The row as if `units` write units were not spent."""
    return {**row, "write_units": row["write_units"] - units}


def main():
    measured = json.loads((OUT / "cost-units.json").read_text())
    rows = []
    for row in measured["rows"]:
        priced = per_million(row)
        target = TARGETS.get(row["route"])
        of = row["write_units_of"]
        what_if = {
            "no_transaction": per_million(without(row, of["transaction"]))["times_floor"],
            "no_index_copies": per_million(without(row, of["indexes"]))["times_floor"],
            "no_guard": per_million(without(row, of["guards"]))["times_floor"],
        }
        rows.append({**row, "cost": priced, "target": target, "what_if": what_if})
    head = [
        "route", "event", "raw B", "DynamoDB req", "WRU", "of which: 2nd transaction unit / index copies / guard",
        "RRU", "item B", "other", "$ / M", "floor WRU", "floor $ / M", "× floor", "target",
        "× floor without: doubling / index copies / guard",
    ]
    lines = [
        f"callhooks `make bench-cost`: AWS list prices ({prices.REGION}, read {prices.DATE}: bench/prices.py) per million deliveries, "
        "from the units each delivery used against moto, sized by DynamoDB's documented rules (callhooks::store::units).",
        "floor = the same HTTP API request and Lambda invocation, and one PutItem of the raw body (bench/floor). "
        f"Lambda: 128 MB arm64, {OWN_MS} ms + {DYNAMODB_ROUND_TRIP_MS} ms per DynamoDB request. Alerts: the alerts function, its ledger and SNS publish, where the delivery raises one.",
        "",
        "| " + " | ".join(head) + " |",
        "|---|---|" + "---:|" * 6 + "---|" + "---:|" * 6,
    ]
    for r in rows:
        c = r["cost"]
        other = []
        if r["sqs_requests"]:
            other.append(f"SQS {r['sqs_requests']:g}")
        a = r.get("alerts") or {}
        if a.get("invocations"):
            other.append(
                f"alerts function {a['invocations']}: {a.get('write_units', 0)} WRU, {a.get('read_units', 0):g} RRU, "
                f"{a.get('sns_publishes', 0)} SNS publish"
            )
        if r["lambda_invocations"] != 1:
            other.append(f"Lambda {r['lambda_invocations']:g}")
        flag = "" if r["target"] is None or c["times_floor"] <= r["target"] else " (over)"
        lines.append(
            "| "
            + " | ".join(
                [
                    r["route"],
                    r["kind"],
                    str(r["raw_bytes"]),
                    str(r["dynamodb_requests"]),
                    str(r["write_units"]),
                    " / ".join(str(r["write_units_of"][k]) for k in ("transaction", "indexes", "guards")),
                    f"{r['read_units']:g}",
                    str(r["item_bytes"]),
                    "; ".join(other),
                    f"{c['total']:.2f}",
                    str(r["floor"]["write_units"]),
                    f"{c['floor']:.2f}",
                    f"{c['times_floor']:.2f}",
                    (f"{r['target']:g}{flag}" if r["target"] else ""),
                    " / ".join(f"{r['what_if'][k]:.2f}" for k in ("no_transaction", "no_index_copies", "no_guard")),
                ]
            )
            + " |"
        )
    text = "\n".join(lines) + "\n"
    (OUT / "cost.md").write_text(text)
    (OUT / "cost.json").write_text(json.dumps(rows, indent=2))
    print(text)


if __name__ == "__main__":
    main()
