#!/usr/bin/env python3
"""`make load`: many deliveries, a quarter of them duplicates, sent
concurrently and in random order to `make dev` on 127.0.0.1, then the table
is counted: every distinct event stored exactly once, no 5xx, every duplicate
answered 2xx, every summary in its final state. Exits non-zero on any loss,
duplicate or 5xx.

    LOAD_EVENTS=600 LOAD_WORKERS=16 LOAD_URL=http://127.0.0.1:9000 make load
"""

import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode, urlparse

import boto3

BASE = os.environ.get("LOAD_URL", "http://127.0.0.1:9000").rstrip("/")
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
TABLE = os.environ.get("TABLE_NAME", "callhooks-local")
EVENTS = int(os.environ.get("LOAD_EVENTS", "600"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "16"))
DEADLINE_S = float(os.environ.get("LOAD_SECONDS", "600"))
SEED = int(os.environ.get("LOAD_SEED", str(int(time.time()))))
for url in (BASE, ENDPOINT):
    if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"load runs against this machine only, not {url}")

rng = random.Random(SEED)
RUN = f"{SEED % 100000:05d}"


def number(i):
    return f"+1415{int(RUN) % 1000:03d}{i % 10000:04d}"


OURS = "+18339664835"


def salpre_call(i):
    """A whole inbound answered call: 4 distinct events, final state ended."""
    call_id = f"load-{RUN}-{i}"
    t = int(time.time()) - 600 + i
    caller = number(i)
    out = []
    for n, kind in enumerate(["call_initiated", "call_ringing", "call_answered", "call_ended"]):
        payload = {"call_id": call_id, "from": caller, "to": OURS, "direction": "inbound"}
        if kind == "call_ended":
            payload["transcript"] = [{"type": "ai", "message": "Hello"}]
        out.append(("POST", "/salpre/events", "application/json",
                    json.dumps({"event_type": kind, "timestamp_utc": t + n, "payload": payload})))
    return ("CALL#salpre#" + call_id, 4, "ended"), out


def sms(i):
    """An outbound message: sent then delivered, final state delivered."""
    msg_id = f"load-{RUN}-sms-{i}"
    out = []
    for status in ["sent", "delivered"]:
        body = {"status": status, "message": "ok", "data": {
            "id": msg_id, "segments": 1, "direction": "outbound", "messageText": "hi",
            "from": OURS, "to": number(i), "medias": []}}
        out.append(("POST", "/zonitel/sms", "application/json", json.dumps(body)))
    return ("SMS#zonitel#" + msg_id, 2, "delivered"), out


def voxtelesys(i):
    """A voice callback then its completed status: 2 events, final ended."""
    sid = f"CA-load-{RUN}-{i}"
    common = {"CallSid": sid, "From": number(i), "To": OURS, "Direction": "inbound"}
    out = [("POST", "/voxtelesys/voice", "application/x-www-form-urlencoded", urlencode(common)),
           ("POST", "/voxtelesys/status", "application/x-www-form-urlencoded",
            urlencode({**common, "CallStatus": "completed"}))]
    return ("CALL#voxtelesys#" + sid, 2, None), out


GENERATORS = [salpre_call, sms, voxtelesys]


def send(delivery):
    method, path, content_type, body = delivery
    request = urllib.request.Request(BASE + path, data=body.encode(), method=method,
                                     headers={"content-type": content_type})
    token = os.environ.get("LOAD_TOKEN")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except Exception as error:  # a refused or dropped connection is a loss
        return f"error: {error}"


def warm_up():
    """cargo lambda watch compiles each function on first use: one refused
    (empty) request per route first, which writes nothing."""
    for path, content_type in [("/salpre/events", "application/json"),
                               ("/zonitel/sms", "application/json"),
                               ("/voxtelesys/voice", "application/x-www-form-urlencoded")]:
        for _ in range(60):
            status = send(("POST", path, content_type, ""))
            if isinstance(status, int) and 400 <= status < 500:
                break
            time.sleep(5)
        else:
            sys.exit(f"{path} is not up: is `make dev` running on {BASE}?")


def scan():
    client = boto3.client(
        "dynamodb",
        endpoint_url=ENDPOINT,
        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
    items, start = [], None
    while True:
        kwargs = {"TableName": TABLE}
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = client.scan(**kwargs)
        items.extend(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def main():
    warm_up()
    conversations, deliveries = [], []
    i = 0
    while len(deliveries) < EVENTS * 3 // 4 or not conversations:
        expected, out = GENERATORS[i % len(GENERATORS)](i)
        conversations.append(expected)
        deliveries.extend(out)
        i += 1
    distinct = len(deliveries)
    duplicates = [rng.choice(deliveries) for _ in range(distinct // 3)]  # a quarter of all
    all_sends = [(d, False) for d in deliveries] + [(d, True) for d in duplicates]
    rng.shuffle(all_sends)

    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        statuses = list(pool.map(lambda s: send(s[0]), all_sends, timeout=DEADLINE_S))
    elapsed = time.monotonic() - started

    # A delivery answered 503 is retried, as providers do, until it is 2xx.
    retried = 0
    for index, status in enumerate(statuses):
        while isinstance(status, int) and status == 503 and retried < 1000:
            retried += 1
            time.sleep(0.2)
            status = send(all_sends[index][0])
            statuses[index] = ("retried", status)

    first_5xx = [s for s in statuses if not isinstance(s, int) or s >= 500]
    answers = Counter(str(s) for s in statuses)  # before retries
    final = [s[1] if isinstance(s, tuple) else s for s in statuses]
    server_errors = [s for s in final if not isinstance(s, int) or s >= 500]
    refused = [s for s in final if isinstance(s, int) and 400 <= s < 500]

    items = scan()
    events = defaultdict(int)
    summaries = {}
    for item in items:
        pk, sk = item["PK"]["S"], item["SK"]["S"]
        if sk.startswith("EVENT#") and "#PART#" not in sk:
            events[pk] += 1
        elif sk == "SUMMARY":
            summaries[pk] = item
    lost, doubled, wrong_state = [], [], []
    for pk, count, final_state in conversations:
        stored = events.get(pk, 0)
        if stored < count:
            lost.append((pk, stored, count))
        if stored > count:
            doubled.append((pk, stored, count))
        summary = summaries.get(pk)
        if summary is None:
            lost.append((pk, "no summary", count))
            continue
        if int(summary["event_count"]["N"]) != count:
            wrong_state.append((pk, "event_count", summary["event_count"]["N"]))
        if final_state == "ended" and "ended_at" not in summary:
            wrong_state.append((pk, "not ended"))
        if final_state == "ended" and "answered_at" not in summary:
            wrong_state.append((pk, "not answered"))
        if final_state == "delivered" and "delivered_at" not in summary:
            wrong_state.append((pk, "not delivered"))

    print(f"load run {RUN} (seed {SEED}) against {BASE}, table {TABLE}")
    print(f"  deliveries sent:      {len(all_sends)} ({distinct} distinct events, "
          f"{len(duplicates)} duplicates) over {len(conversations)} conversations")
    print(f"  concurrency:          {WORKERS} workers, {elapsed:.1f} s, "
          f"{len(all_sends) / elapsed:.1f} deliveries/s")
    print(f"  answers:              {dict(answers)}")
    print(f"  5xx on first answer:  {len(first_5xx)} (retried {retried} times)")
    print(f"  5xx after retries:    {len(server_errors)}")
    print(f"  refused (4xx):        {len(refused)}")
    print(f"  events stored:        {sum(events[pk] for pk, _, _ in conversations)} of {distinct}")
    print(f"  lost:                 {len(lost)} {lost[:5]}")
    print(f"  duplicated:           {len(doubled)} {doubled[:5]}")
    print(f"  summaries wrong:      {len(wrong_state)} {wrong_state[:5]}")
    ok = not (first_5xx or server_errors or refused or lost or doubled or wrong_state)
    print("  result:               " + ("OK" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
