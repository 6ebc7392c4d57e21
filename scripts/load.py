#!/usr/bin/env python3
"""`make load`: many deliveries to every webhook of `make dev` on 127.0.0.1,
a quarter of them duplicates, sent concurrently and in random order; then the
table and the alerts topic are counted: every distinct event stored exactly
once, no 5xx, every duplicate answered 2xx, every summary in its final state,
every expected alert published exactly once and no other. A third of the way
in, the functions' DynamoDB goes down for LOAD_OUTAGE_SECONDS (default 10;
0: none) through `make dev`'s outage proxy: what comes meanwhile must be
spilled, answered 2xx and written by the spillway once. Exits non-zero on
any loss, duplicate or 5xx.

    LOAD_EVENTS=600 LOAD_WORKERS=16 LOAD_URL=http://127.0.0.1:9000 make load

Lifecycles (docs/lifecycles.md): when `make dev` runs with
LIFECYCLE_WAIT_SECONDS set (pass the same value here, and its
SWEEP_INTERVAL_SECONDS), abandoned conversations join the mix (a Salpre call
without call_ended, a Voxtelesys call without its status, an outbound SMS
stuck at sent), and after the wait no completed conversation may be flagged
incomplete while every abandoned one is, with exactly one call_incomplete or
sms_stuck alert. Without LIFECYCLE_WAIT_SECONDS the waits are hours and this
part is left out.

Zonitel and Retell send no call id: a delivery of the same caller to the same
number within their retry windows (30 s, 60 s) is the same call. Their
duplicates are therefore sent a few deliveries after the original, as a
provider's retry comes, not minutes later, when it would be a new call.
Every other duplicate goes anywhere in the shuffled order.
"""

import base64
import functools
import hashlib
import hmac
import json
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, urlencode, urlparse

import boto3
from sign_retell import saved_secret, sign

BASE = os.environ.get("LOAD_URL", "http://127.0.0.1:9000").rstrip("/")
ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
TABLE = os.environ.get("TABLE_NAME", "callhooks-local")
TOPIC = os.environ.get("LOAD_TOPIC", "callhooks-alerts")
EVENTS = int(os.environ.get("LOAD_EVENTS", "600"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "16"))
DEADLINE_S = float(os.environ.get("LOAD_SECONDS", "600"))
ALERT_WAIT_S = float(os.environ.get("LOAD_ALERT_WAIT", "120"))
SEED = int(os.environ.get("LOAD_SEED", str(int(time.time()))))
# A DynamoDB outage of OUTAGE_S seconds a third of the way in (0: none).
OUTAGE_S = float(os.environ.get("LOAD_OUTAGE_SECONDS", "10"))
OUTAGE_URL = os.environ.get("LOAD_OUTAGE_URL", "http://127.0.0.1:4567").rstrip("/")
# make dev's one wait for every expected event, and its sweeper's rhythm:
# abandoned conversations are checked only when the wait is short.
LIFECYCLE_WAIT_S = float(os.environ.get("LIFECYCLE_WAIT_SECONDS") or 0)
SWEEP_INTERVAL_S = float(os.environ.get("SWEEP_INTERVAL_SECONDS") or 60)
REGION = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
for url in (BASE, ENDPOINT, OUTAGE_URL):
    if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"load runs against this machine only, not {url}")

rng = random.Random(SEED)
RUN = f"{SEED % 100000:05d}"
OURS = "+18339664835"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def say(text):
    print(text, flush=True)


def number(i):
    """A caller of this run: distinct per conversation (Zonitel and Retell
    calls are told apart by caller only)."""
    return f"+1415{int(RUN) % 1000:03d}{i % 10000:04d}"


class Conversation:
    """What one conversation must leave behind.

    key: the summary's PK, or ("from", provider) for providers without ids.
    events: distinct events stored under it; checks: summary attributes that
    must be set (or, prefixed with "!", must not be); alert: (type, provider,
    call or message id) expected once on the topic, or None.
    """

    def __init__(self, key, events, checks=(), alert=None, retry_window=False, abandoned=False):
        self.key, self.events, self.checks = key, events, checks
        self.alert, self.retry_window = alert, retry_window
        # Its lifecycle never closes: flagged incomplete once (its alert).
        self.abandoned = abandoned


def abandoned(i):
    """A conversation whose closing event never comes, in turn: a Salpre
    call without call_ended, a Voxtelesys call without its status, an
    outbound SMS stuck at sent. One call_incomplete or sms_stuck alert."""
    kind = (i // len(GENERATORS)) % 3
    if kind == 0:
        call_id = f"load-{RUN}-open-{i}"
        payload = {"call_id": call_id, "from": number(i), "to": OURS, "direction": "outbound"}
        out = [("/salpre/events", JSON, json.dumps(
            {"event_type": "call_initiated", "timestamp_utc": int(time.time()), "payload": payload}))]
        return Conversation("CALL#salpre#" + call_id, 1, ("incomplete_at",),
                            ("call_incomplete", "salpre", call_id), abandoned=True), out
    if kind == 1:
        sid = f"CA-load-{RUN}-open-{i}"
        common = {"CallSid": sid, "From": number(i), "To": OURS, "Direction": "inbound"}
        return Conversation("CALL#voxtelesys#" + sid, 1, ("incomplete_at",),
                            ("call_incomplete", "voxtelesys", sid), abandoned=True), [
            ("/voxtelesys/voice", FORM, urlencode(common))]
    msg_id = f"load-{RUN}-stuck-{i}"
    body = {"status": "sent", "message": "ok", "data": {
        "id": msg_id, "segments": 1, "direction": "outbound", "messageText": "hi",
        "from": OURS, "to": number(i), "medias": []}}
    return Conversation("SMS#zonitel#" + msg_id, 1, ("incomplete_at",),
                        ("sms_stuck", "zonitel", msg_id), abandoned=True), [
        ("/zonitel/sms", JSON, json.dumps(body))]


def salpre(i, missed):
    """An inbound call: answered (4 events) or missed (3 events, one
    missed_call alert). The answered call's transcript has a customer turn,
    so a call_ended that overtakes its call_answered is not a missed call."""
    call_id = f"load-{RUN}-{i}"
    t = int(time.time()) - 600 + i
    kinds = ["call_initiated", "call_ringing", "call_ended"] if missed else [
        "call_initiated", "call_ringing", "call_answered", "call_ended"]
    out = []
    for n, kind in enumerate(kinds):
        payload = {"call_id": call_id, "from": number(i), "to": OURS, "direction": "inbound"}
        if kind == "call_ended":
            payload["transcript"] = [{"type": "ai", "message": "Hello"}] + (
                [] if missed else [{"type": "customer", "message": "Hi, it's me"}])
        out.append(("/salpre/events", JSON,
                    json.dumps({"event_type": kind, "timestamp_utc": t + n, "payload": payload})))
    pk = "CALL#salpre#" + call_id
    if missed:
        return Conversation(pk, 3, ("ended_at", "unanswered_at", "!answered_at"),
                            ("missed_call", "salpre", call_id)), out
    return Conversation(pk, 4, ("ended_at", "answered_at")), out


def zonitel_sms(i, failed):
    """An outbound message: sent, then delivered or failed (one sms_failed
    alert)."""
    msg_id = f"load-{RUN}-sms-{i}"
    last = "failed" if failed else "delivered"
    out = []
    for status in ["sent", last]:
        body = {"status": status, "message": "failed: carrier rejected" if status == "failed" else "ok",
                "data": {"id": msg_id, "segments": 1, "direction": "outbound", "messageText": "hi",
                         "from": OURS, "to": number(i), "medias": []}}
        out.append(("/zonitel/sms", JSON, json.dumps(body)))
    alert = ("sms_failed", "zonitel", msg_id) if failed else None
    return Conversation("SMS#zonitel#" + msg_id, 2, (f"{last}_at",), alert), out


def voxtelesys(i, no_answer):
    """The voice callback, then the call's final status: completed (2 events)
    or no-answer (2 events, one missed_call alert)."""
    sid = f"CA-load-{RUN}-{i}"
    common = {"CallSid": sid, "From": number(i), "To": OURS, "Direction": "inbound"}
    status = "no-answer" if no_answer else "completed"
    out = [("/voxtelesys/voice", FORM, urlencode(common)),
           ("/voxtelesys/status", FORM, urlencode({**common, "CallStatus": status}))]
    alert = ("missed_call", "voxtelesys", sid) if no_answer else None
    checks = ("ended_at", "unanswered_at") if no_answer else ("ended_at", "!unanswered_at")
    return Conversation("CALL#voxtelesys#" + sid, 2, checks, alert), out


def twilio_call(i, no_answer):
    """A Twilio call: the voice URL, the <Dial> action (nobody answered:
    one missed_call alert; or answered, its dial leg joined) and the final
    call status (3 events)."""
    sid = f"CA-load-{RUN}-tw-{i}"
    common = {"AccountSid": "AC-load", "CallSid": sid, "From": number(i), "To": OURS,
              "Direction": "inbound", "ApiVersion": "2010-04-01"}
    dial = {**common, "CallStatus": "in-progress", "DialCallSid": sid + "-leg",
            "DialCallStatus": "no-answer" if no_answer else "completed",
            "DialCallDuration": "0" if no_answer else "42"}
    out = [("/twilio/voice", FORM, urlencode({**common, "CallStatus": "ringing"})),
           ("/twilio/dial", FORM, urlencode(dial)),
           ("/twilio/call-status", FORM, urlencode({**common, "CallStatus": "completed", "CallDuration": "60"}))]
    alert = ("missed_call", "twilio", sid) if no_answer else None
    checks = ("ended_at", "unanswered_at", "!answered_at") if no_answer else (
        "ended_at", "answered_at", "dial_call_sid", "!unanswered_at")
    return Conversation("CALL#twilio#" + sid, 3, checks, alert), out


def twilio_sms(i, failed):
    """An outbound Twilio message's status callbacks: sent, then delivered
    or undelivered with its ErrorCode (one sms_failed alert)."""
    sid = f"SM-load-{RUN}-tw-{i}"
    common = {"AccountSid": "AC-load", "MessageSid": sid, "SmsSid": sid, "From": OURS,
              "To": number(i), "ApiVersion": "2010-04-01"}
    last = {"MessageStatus": "undelivered", "ErrorCode": "30003"} if failed else {"MessageStatus": "delivered"}
    out = [("/twilio/message-status", FORM, urlencode({**common, "MessageStatus": "sent"})),
           ("/twilio/message-status", FORM, urlencode({**common, **last}))]
    alert = ("sms_failed", "twilio", sid) if failed else None
    return Conversation("SMS#twilio#" + sid, 2, ("failed_at" if failed else "delivered_at",), alert), out


def zonitel_call(i):
    body = {"caller_id_name": f"Load {RUN} {i}", "caller_id_number": number(i),
            "destination_number": OURS}
    return Conversation(("zonitel", number(i)), 1, retry_window=True), [
        ("/zonitel/calls", JSON, json.dumps(body))]


def retell(i):
    body = {"event": "call_inbound", "call_inbound": {
        "agent_id": "agent_load", "from_number": number(i), "to_number": "+12137771299"}}
    return Conversation(("retell", number(i)), 1, retry_window=True), [
        ("/retell/inbound", JSON, json.dumps(body))]


def retell_call(i, error):
    """A Retell call's events on /retell/events: call_started then
    call_ended, ended normally or on an error reason (one call_error alert).
    Outbound, so there is no inbound record to join and the events may come
    in any order."""
    call_id = f"load-{RUN}-retell-{i}"
    t = int(time.time() * 1000) - 600_000 + i
    call = {"call_id": call_id, "call_type": "phone_call", "direction": "outbound",
            "from_number": OURS, "to_number": number(i), "agent_id": "agent_load",
            "call_status": "ongoing", "start_timestamp": t}
    ended = dict(call, call_status="ended", end_timestamp=t + 30_000, duration_ms=30_000,
                 disconnection_reason="error_llm_websocket_open" if error else "agent_hangup",
                 transcript="Agent: Hello")
    out = [("/retell/events", JSON, json.dumps({"event": "call_started", "call": call})),
           ("/retell/events", JSON, json.dumps({"event": "call_ended", "call": ended})),
           ("/retell/events", JSON, json.dumps({"event": "call_analyzed", "call": ended}))]
    alert = ("call_error", "retell", call_id) if error else None
    checks = ("answered_at", "ended_at", "failed_at" if error else "!failed_at")
    return Conversation("CALL#retell#" + call_id, 3, checks, alert), out


# Each conversation kind in turn: every webhook, and an alert now and then.
GENERATORS = [
    lambda i: salpre(i, missed=False),
    lambda i: zonitel_sms(i, failed=False),
    lambda i: voxtelesys(i, no_answer=False),
    zonitel_call,
    retell,
    lambda i: salpre(i, missed=True),
    lambda i: zonitel_sms(i, failed=True),
    lambda i: voxtelesys(i, no_answer=True),
    lambda i: twilio_call(i, no_answer=False),
    lambda i: twilio_call(i, no_answer=True),
    lambda i: twilio_sms(i, failed=False),
    lambda i: twilio_sms(i, failed=True),
    lambda i: retell_call(i, error=False),
    lambda i: retell_call(i, error=True),
]
# LOAD_RETELL_EVENTS=0 leaves Retell's call events out (the other routes
# only, e.g. to compare runs with an older tree).
if os.environ.get("LOAD_RETELL_EVENTS", "1") == "0":
    GENERATORS = GENERATORS[:-2]

SECRETS = {"/zonitel/": "ZONITEL_WEBHOOK_TOKEN", "/salpre/": "SALPRE_WEBHOOK_TOKEN",
           "/voxtelesys/": "VOXTELESYS_WEBHOOK_TOKEN"}


@functools.cache
def local_secret(variable):
    """The environment's, else the one `make dev` made (.local/dev-secrets.env);
    read once, not for every delivery."""
    return os.environ.get(variable) or saved_secret(variable)


def twilio_signature(token, url, body):
    """X-Twilio-Signature as Twilio computes it: base64 HMAC-SHA1 of the URL
    it requested, then each form parameter's name and value sorted by name."""
    signed = url + "".join(name + value for name, value in sorted(parse_qsl(body, keep_blank_values=True)))
    return base64.b64encode(hmac.new(token.encode(), signed.encode(), hashlib.sha1).digest()).decode()


def send(delivery, method="POST"):
    path, content_type, body = delivery
    request = urllib.request.Request(BASE + path, data=body.encode(), method=method,
                                     headers={"content-type": content_type})
    # Credentials as the providers send them (`make dev` fails closed too).
    for prefix, variable in SECRETS.items():
        if path.startswith(prefix) and local_secret(variable):
            request.add_header("authorization", f"Bearer {local_secret(variable)}")
    if path.startswith("/retell/") and local_secret("RETELL_API_KEY"):
        signature = sign(local_secret("RETELL_API_KEY"), body.encode(), int(time.time() * 1000))
        request.add_header("x-retell-signature", signature)
    if path.startswith("/twilio/") and local_secret("TWILIO_AUTH_TOKEN"):
        # `make dev` verifies against the URL it serves, as Twilio requests it.
        request.add_header("x-twilio-signature", twilio_signature(local_secret("TWILIO_AUTH_TOKEN"), BASE + path, body))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except Exception as error:  # a refused or dropped connection is a loss
        return f"error: {error}"


def warm_up():
    """cargo lambda watch compiles each function on first use: one refused
    request per route first (a PUT: 405, which writes nothing)."""
    for path, content_type in [("/salpre/events", JSON), ("/zonitel/sms", JSON),
                               ("/zonitel/calls", JSON), ("/retell/inbound", JSON),
                               ("/voxtelesys/voice", FORM), ("/twilio/voice", FORM)]:
        for _ in range(120):
            status = send((path, content_type, ""), method="PUT")
            if isinstance(status, int) and 400 <= status < 500:
                break
            time.sleep(5)
        else:
            sys.exit(f"{path} is not up: is `make dev` running on {BASE}?")
    say("  every route answers")


def start_outage():
    """Switches the functions' DynamoDB off for OUTAGE_S seconds, through
    `make dev`'s outage proxy (scripts/outage_proxy.py)."""
    request = urllib.request.Request(f"{OUTAGE_URL}/__outage?seconds={OUTAGE_S:g}", data=b"", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            json.load(answer)
        say(f"  DynamoDB outage for the functions: {OUTAGE_S:g} s (the spillway keeps what comes)")
        return True
    except Exception as error:
        say(f"  no outage: the outage proxy at {OUTAGE_URL} did not answer ({error})")
        return False


def wait_for_spillway():
    """Until the spillway queue is empty (its messages written to the table)."""
    sqs = client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=f"{TABLE}-spillway")["QueueUrl"]
    except Exception:
        return 0
    waited = time.monotonic()
    while time.monotonic() - waited < ALERT_WAIT_S:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        if int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 0:
            return time.monotonic() - waited
        time.sleep(1)
    return None


def client(service):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION)


def subscribe_queue():
    """A queue of our own on the alerts topic, so this run counts what was
    published while it ran."""
    sns, sqs = client("sns"), client("sqs")
    topic = next((t["TopicArn"] for t in sns.list_topics()["Topics"]
                  if t["TopicArn"].endswith(":" + TOPIC)), None)
    if topic is None:
        sys.exit(f"no topic {TOPIC} at {ENDPOINT}: is `make dev` running?")
    url = sqs.create_queue(QueueName=f"callhooks-load-{RUN}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return url


def drain(queue_url, into):
    sqs = client("sqs")
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return
        for message in batch:
            into.append(json.loads(json.loads(message["Body"])["Message"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def alert_key(alert):
    """An alert as a Conversation names it: (type, provider, id)."""
    return alert.get("alert_type"), alert.get("provider"), alert.get("call_id") or alert.get("message_id")


def scan():
    dynamodb = client("dynamodb")
    items, start = [], None
    while True:
        kwargs = {"TableName": TABLE}
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = dynamodb.scan(**kwargs)
        items.extend(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return items


def plan_sends():
    """(conversations, sends): sends are (delivery, is_duplicate) in the order
    they go out."""
    conversations, deliveries = [], []
    i = 0
    while len(deliveries) < EVENTS * 3 // 4:
        conversation, out = GENERATORS[i % len(GENERATORS)](i)
        conversations.append(conversation)
        deliveries.extend((d, conversation.retry_window) for d in out)
        if LIFECYCLE_WAIT_S and i % len(GENERATORS) == 0:
            conversation, out = abandoned(i)
            conversations.append(conversation)
            deliveries.extend((d, False) for d in out)
        i += 1
    duplicates = [rng.choice(deliveries) for _ in range(len(deliveries) // 3)]  # a quarter of all
    sends = [(d, False) for d, _ in deliveries]
    sends += [(d, True) for d, windowed in duplicates if not windowed]
    rng.shuffle(sends)
    for delivery, _ in (d for d in duplicates if d[1]):
        # A retry of an id-less call comes soon after the original.
        original = next(n for n, (d, dup) in enumerate(sends) if d == delivery and not dup)
        sends.insert(min(len(sends), original + rng.randint(1, 8)), (delivery, True))
    return conversations, sends, len(deliveries)


def main():
    say(f"load run {RUN} (seed {SEED}) against {BASE}, table {TABLE}")
    warm_up()
    queue_url = subscribe_queue()
    conversations, sends, distinct = plan_sends()
    duplicates = len(sends) - distinct
    say(f"  sending {len(sends)} deliveries ({distinct} distinct, {duplicates} duplicates) "
        f"with {WORKERS} workers")

    done = Counter()
    lock = threading.Lock()

    def send_counted(item):
        status = send(item[0])
        with lock:
            done["n"] += 1
            if done["n"] % 100 == 0:
                say(f"  {done['n']}/{len(sends)} answered")
            outage_now = OUTAGE_S > 0 and done["n"] == len(sends) // 3
        if outage_now:
            done["outage"] = start_outage()
        return status

    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        statuses = list(pool.map(send_counted, sends, timeout=DEADLINE_S))
    elapsed = time.monotonic() - started

    # A delivery answered 503 is retried, as providers do, until it is 2xx.
    retried = 0
    for index, status in enumerate(statuses):
        while isinstance(status, int) and status == 503 and retried < 1000:
            retried += 1
            time.sleep(0.2)
            status = send(sends[index][0])
            statuses[index] = ("retried", status)

    drained = wait_for_spillway()
    if drained is None:
        say("  the spillway queue did not empty in time")
    first_5xx = [s for s in statuses if not isinstance(s, int) or s >= 500]
    answers = Counter(str(s) for s in statuses)  # before retries
    final = [s[1] if isinstance(s, tuple) else s for s in statuses]
    server_errors = [s for s in final if not isinstance(s, int) or s >= 500]
    refused = [s for s in final if isinstance(s, int) and 400 <= s < 500]
    duplicate_not_2xx = [s for s, (_, dup) in zip(final, sends) if dup and not (isinstance(s, int) and s < 300)]

    if LIFECYCLE_WAIT_S:
        # The abandoned ones go incomplete after the wait and the next sweep.
        settle = LIFECYCLE_WAIT_S + 2 * SWEEP_INTERVAL_S + 10
        say(f"  waiting {settle:.0f} s for the sweeper (wait {LIFECYCLE_WAIT_S:g} s, every {SWEEP_INTERVAL_S:g} s)")
        time.sleep(settle)

    items = scan()
    events, summaries, by_caller = defaultdict(int), {}, defaultdict(list)
    for item in items:
        pk, sk = item["PK"]["S"], item["SK"]["S"]
        if sk.startswith("EVENT#") and "#PART#" not in sk:
            events[pk] += 1
        elif sk == "SUMMARY":
            summaries[pk] = item
            if "from" in item and "S" in item["from"]:
                by_caller[(item["provider"]["S"], item["from"]["S"])].append(pk)

    lost, doubled, wrong_state = [], [], []
    stored_total = 0
    for conversation in conversations:
        if isinstance(conversation.key, tuple):
            pks = by_caller.get(conversation.key, [])
            if len(pks) > 1:
                doubled.append((conversation.key, f"{len(pks)} calls"))
            pk = pks[0] if pks else None
        else:
            pk = conversation.key
        stored = events.get(pk, 0)
        stored_total += min(stored, conversation.events)
        if stored < conversation.events:
            lost.append((pk or conversation.key, stored, conversation.events))
        if stored > conversation.events:
            doubled.append((pk, stored, conversation.events))
        summary = summaries.get(pk)
        if summary is None:
            lost.append((conversation.key, "no summary"))
            continue
        if int(summary["event_count"]["N"]) != conversation.events:
            wrong_state.append((pk, "event_count", summary["event_count"]["N"]))
        if LIFECYCLE_WAIT_S and not conversation.abandoned and "incomplete_at" in summary \
                and not isinstance(conversation.key, tuple):
            wrong_state.append((pk, "completed, yet flagged incomplete", summary.get("missing")))
        for check in conversation.checks:
            if check.startswith("!") and check[1:] in summary:
                wrong_state.append((pk, check))
            if not check.startswith("!") and check not in summary:
                wrong_state.append((pk, "no " + check))

    # Alerts come through the stream, the alerts function and the topic.
    expected = Counter(c.alert for c in conversations if c.alert)
    alerts = []
    waited = time.monotonic()
    while time.monotonic() - waited < ALERT_WAIT_S:
        drain(queue_url, alerts)
        if all(Counter(map(alert_key, alerts))[k] >= n for k, n in expected.items()):
            time.sleep(5)  # anything published twice would come now
            drain(queue_url, alerts)
            break
        time.sleep(1)
    ours = Counter(map(alert_key, alerts))
    alerts_missing = [k for k, n in expected.items() if ours[k] < n]
    alerts_doubled = [k for k, n in ours.items() if n > 1]
    alerts_unexpected = [k for k in ours if k not in expected and f"load-{RUN}-" in str(k[2])]

    say(f"  deliveries sent:      {len(sends)} ({distinct} distinct events, "
        f"{duplicates} duplicates) over {len(conversations)} conversations")
    say(f"  concurrency:          {WORKERS} workers, {elapsed:.1f} s, "
        f"{len(sends) / elapsed:.1f} deliveries/s")
    say(f"  outage:               {f'{OUTAGE_S:g} s of DynamoDB down' if done.get('outage') else 'none'}; "
        f"spillway empty {'after %.1f s' % drained if drained is not None else 'NOT in time'}")
    say(f"  answers:              {dict(answers)}")
    say(f"  5xx on first answer:  {len(first_5xx)} (retried {retried} times)")
    say(f"  5xx after retries:    {len(server_errors)}")
    say(f"  refused (4xx):        {len(refused)}")
    say(f"  duplicates not 2xx:   {len(duplicate_not_2xx)}")
    say(f"  events stored:        {stored_total} of {distinct}")
    say(f"  lost:                 {len(lost)} {lost[:5]}")
    say(f"  duplicated:           {len(doubled)} {doubled[:5]}")
    say(f"  summaries wrong:      {len(wrong_state)} {wrong_state[:5]}")
    if LIFECYCLE_WAIT_S:
        flagged = sum(1 for c in conversations if c.abandoned)
        say(f"  lifecycles:           {flagged} abandoned, each expected flagged once; "
            f"{len(conversations) - flagged} completed, none may be")
    say(f"  alerts on the topic:  {sum(ours.values())} of {sum(expected.values())} expected; "
        f"missing {len(alerts_missing)} {alerts_missing[:3]}, doubled {len(alerts_doubled)} "
        f"{alerts_doubled[:3]}, unexpected {len(alerts_unexpected)} {alerts_unexpected[:3]}")
    ok = drained is not None and not (first_5xx or server_errors or refused or duplicate_not_2xx or lost or doubled
              or wrong_state or alerts_missing or alerts_doubled or alerts_unexpected)
    say("  result:               " + ("OK" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
