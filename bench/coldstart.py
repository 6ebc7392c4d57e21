#!/usr/bin/env python3
"""`make bench`, part 1: cold starts and round trips, measured with a Lambda
Runtime API emulator of our own.

For each candidate (every webhook function's release binary, the floor, a
function that does nothing, and a Python + boto3 handler doing zonitel-call's
job under awslambdaric) it starts a fresh process with Lambda's environment
against a local moto, hands it one real API Gateway event of its provider
(events/*.json, with its ids made unique per start), and measures:

  init    process start -> its first GET /runtime/invocation/next
  first   process start -> its first response POST
  warm    a second event (another delivery), handed to the now warm
          process: event handed over -> its response POST
  peak    the process's peak resident memory (VmHWM), after both

Every start goes through a counting HTTP proxy in front of moto, which
counts the requests of each invocation per service and operation (the cold
one's and the warm one's round trips) and times the waits on moto. One
extra start per candidate warms the page cache and moto, and is not counted.

Writes a Markdown table to bench-results/coldstart.md and JSON beside it.
"""

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
API = "/2018-06-01/runtime"

# (name, binary or None for the Python handler, event file, substitutions
# that make each start a new delivery: regex -> template with {n})
FUNCTIONS = [
    ("zonitel-call", "zonitel-call", "zonitel-call.json", [(r"John Doe", "John Doe {n}")]),
    (
        "zonitel-sms",
        "zonitel-sms",
        "zonitel-sms-inbound.json",
        [(r"11111111-aaaa-2222-bbbb-333333333333", "11111111-aaaa-2222-bbbb-{n:012d}")],
    ),
    ("salpre-events", "salpre-events", "salpre-call_initiated.json", [(r"48213", "{n}")]),
    ("voxtelesys-voice", "voxtelesys-voice", "voxtelesys-voice-post.json", [(r"CA5f2c1e", "CA5f2c1e{n}")]),
    ("retell-inbound", "retell-inbound", "retell-inbound.json", []),
    # Opened by ALLOW_UNAUTHENTICATED (no TWILIO_AUTH_TOKEN): a new CallSid
    # each start would not match the sample's signature anyway.
    ("twilio", "twilio", "twilio-voice-post.json", [(r"CA5f2c1e", "CA5f2c1e{n}")]),
]
# The functions that answer no HTTP request (stream, queue and schedule
# consumers).
NOT_WEBHOOKS = {"alerts", "spillway", "sweeper"}
FLOOR = "floor (one PutItem)"
NOOP = "no-op function"
PYTHON = "Python 3 + boto3 (zonitel-call's job)"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A killed function drops its held connection: expected, not news.
        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


class Run:
    """One start of one candidate, as the emulator sees it."""

    def __init__(self, events, request_id):
        self.events = events  # the cold invocation's, then the warm one's
        self.request_id = request_id
        self.t0 = None
        self.t_next = None
        self.t_first = None
        self.t_warm_sent = None
        self.t_warm = None
        self.nexts = 0
        self.answers = []
        self.seen = []  # every request line, for the report of a start that hangs
        self.answered = threading.Event()
        self.finished = threading.Event()


class RuntimeApi(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; on a kept-alive connection
    # Nagle's algorithm then holds the body until the peer's delayed ACK,
    # 40 ms (seen as 44 ms warm invocations of every candidate).
    disable_nagle_algorithm = True
    run = None  # the Run being measured

    def log_message(self, *args):
        pass

    def _reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        now = time.perf_counter_ns()
        run = RuntimeApi.run
        if run is not None:
            run.seen.append(f"GET {self.path}")
        if self.path != f"{API}/invocation/next" or run is None:
            return self._reply(404)
        run.nexts += 1
        if run.nexts > len(run.events):
            # Both events handled; the function waits for a third: hold it
            # until the run is over and the process is gone.
            run.finished.wait(60)
            self.close_connection = True
            return
        if run.nexts == 1:
            run.t_next = now
        deadline_ms = int(time.time() * 1000) + 30_000
        if run.nexts == 2:
            run.t_warm_sent = time.perf_counter_ns()
        self._reply(
            200,
            run.events[run.nexts - 1],
            [
                ("Content-Type", "application/json"),
                ("Lambda-Runtime-Aws-Request-Id", f"{run.request_id}-{run.nexts}"),
                ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench"),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
            ],
        )

    def do_POST(self):
        now = time.perf_counter_ns()
        run = RuntimeApi.run
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if run is not None:
            run.seen.append(f"POST {self.path} {len(body)} bytes")
        if run is not None and self.path.startswith(API) and len(run.answers) < len(run.events):
            if run.t_first is None:
                run.t_first = now
            else:
                run.t_warm = now
            run.answers.append((self.path.rsplit("/", 1)[-1], body))
            if len(run.answers) == len(run.events):
                run.answered.set()
        self._reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])


class Counter(BaseHTTPRequestHandler):
    """A counting HTTP proxy in front of moto: one line per AWS request."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as RuntimeApi
    upstream = None
    requests = []  # (start, operation) of each request
    waits = []  # (start, end) of each wait on moto (its answers are slow, ours are not)

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target")
        if target:  # DynamoDB's JSON protocol: DynamoDB_20120810.PutItem
            key = "dynamodb:" + target.split(".")[-1]
        else:  # SNS/SQS's query protocol: Action=Publish
            action = re.search(rb"Action=(\w+)", body)
            key = "query:" + (action.group(1).decode() if action else "?")
        started = time.perf_counter_ns()
        Counter.requests.append((started, key))
        conn = http.client.HTTPConnection("127.0.0.1", Counter.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
        conn.request("POST", self.path, body, headers)
        reply = conn.getresponse()
        data = reply.read()
        Counter.waits.append((started, time.perf_counter_ns()))
        self.send_response(reply.status)
        for name, value in reply.getheaders():
            if name.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()


def event_bytes(path, substitutions, n):
    event = json.loads(path.read_text())
    body = event.get("body") or ""
    for pattern, template in substitutions:
        body = re.sub(pattern, template.format(n=n), body)
    event["body"] = body
    context = event.setdefault("requestContext", {})
    context["requestId"] = f"bench-{n}"
    context["timeEpoch"] = int(time.time() * 1000)
    return json.dumps(event).encode()


def start_once(argv, env, cwd, events, n):
    run = Run(events, f"bench-request-{n}")
    Counter.requests, Counter.waits = [], []
    RuntimeApi.run = run
    run.t0 = time.perf_counter_ns()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    ok = run.answered.wait(15)
    # Peak memory of the function itself: VmHWM starts afresh at exec (the
    # child's ru_maxrss would include the forked Python emulator's pages).
    with open(f"/proc/{proc.pid}/status") as status:
        peak_kb = int(re.search(r"VmHWM:\s+(\d+)", status.read()).group(1))
    os.kill(proc.pid, signal.SIGKILL)
    os.waitpid(proc.pid, 0)
    proc.returncode = -9
    stderr = proc.stdout.read().decode(errors="replace")
    proc.stdout.close()
    run.finished.set()
    RuntimeApi.run = None
    if not ok or run.t_next is None:
        stage = "never asked for an event" if run.t_next is None else "took the event, never answered"
        raise TimeoutError(
            f"{argv[0]} {stage} within 15 s ({run.nexts} next, {len(run.answers)} answers; "
            f"requests: {run.seen}): {stderr[-2000:]}"
        )
    for kind, body in run.answers:
        if kind != "response":
            sys.exit(f"{argv[0]} reported an error: {body[:500]!r} {stderr[-2000:]}")
        answer = json.loads(body)
        status = answer.get("statusCode")
        if status != 200 or "duplicate" in str(answer.get("body")):
            sys.exit(f"{argv[0]} answered {status}: {body[:500]!r}")
    # A request belongs to the invocation that was running when it began.
    cold_waits = [w for w in Counter.waits if w[0] < run.t_first]
    warm_waits = [w for w in Counter.waits if w[0] >= run.t_warm_sent]
    return {
        "init_ms": (run.t_next - run.t0) / 1e6,
        "first_ms": (run.t_first - run.t0) / 1e6,
        "aws_wait_ms": waited_ns(cold_waits) / 1e6,
        "own_ms": (run.t_first - run.t0 - waited_ns(cold_waits)) / 1e6,
        "warm_ms": (run.t_warm - run.t_warm_sent) / 1e6,
        "warm_own_ms": (run.t_warm - run.t_warm_sent - waited_ns(warm_waits)) / 1e6,
        "peak_mb": peak_kb / 1024,
        "requests": operations(r for r in Counter.requests if r[0] < run.t_first),
        "warm_requests": operations(r for r in Counter.requests if r[0] >= run.t_warm_sent),
    }


def operations(requests):
    counts = {}
    for _, key in requests:
        counts[key] = counts.get(key, 0) + 1
    return counts


def waited_ns(waits):
    """How long at least one request was waiting on moto (concurrent
    requests overlap: their union, not their sum)."""
    total, reached = 0, 0
    for begin, end in sorted(waits):
        begin = max(begin, reached)
        if end > begin:
            total += end - begin
            reached = end
    return total


def start(argv, env, cwd, event_path, subs, n):
    """One start; a start that hangs is reported and tried once more."""

    def events(n):
        # The warm event is another delivery of the same kind.
        return [event_bytes(event_path, subs, n), event_bytes(event_path, subs, n + 5 * 10**5)]

    try:
        return start_once(argv, env, cwd, events(n), n)
    except TimeoutError as error:
        print(f"  retrying: {error}", file=sys.stderr)
        return start_once(argv, env, cwd, events(n + 10**6), n + 10**6)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", required=True, help="the release build's directory")
    parser.add_argument("--python", default=str(ROOT / ".venv-bench/bin/python"))
    parser.add_argument("--starts", type=int, default=15)
    parser.add_argument("--out", default=str(ROOT / "bench-results"))
    parser.add_argument("--only", action="append", help="measure only candidates whose name contains this")
    args = parser.parse_args()
    bin_dir = Path(args.bin_dir)

    api_port, proxy_port = free_port(), free_port()
    # Port 0: moto binds a port the system picks and names it on its first
    # line, so nothing can take it between a choice and the bind.
    moto = subprocess.Popen(
        [str(ROOT / ".venv/bin/python"), "scripts/local_stack.py", "serve", "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        first = moto.stdout.readline().strip()
        if not first.startswith("moto listening on "):
            sys.exit(f"moto did not start: {first!r}")
        moto_url = first.removeprefix("moto listening on ")
        moto_port = int(moto_url.rsplit(":", 1)[1])
        # Whatever else it prints is read, so a full pipe never stalls it.
        threading.Thread(target=moto.stdout.read, daemon=True).start()
        table = "callhooks-bench"
        subprocess.run(
            [str(ROOT / ".venv/bin/python"), "scripts/local_stack.py", "create", "--endpoint", moto_url, "--table", table],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for server, handler in ((api_port, RuntimeApi), (proxy_port, Counter)):
            httpd = Server(("127.0.0.1", server), handler)
            threading.Thread(target=httpd.serve_forever, daemon=True).start()
        Counter.upstream = moto_port

        base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api_port}",
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
            "AWS_ACCESS_KEY_ID": "dummy",
            "AWS_SECRET_ACCESS_KEY": "dummy",
            "AWS_SESSION_TOKEN": "dummy",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "TABLE_NAME": table,
            "RUST_LOG": "info",
            # The events carry the documented local token (docs/security.md),
            # so each start checks it like a deployed function; Retell's
            # samples are opened explicitly (functions fail closed).
            "ZONITEL_WEBHOOK_TOKEN": "callhooks-local-token-not-a-secret",
            "SALPRE_WEBHOOK_TOKEN": "callhooks-local-token-not-a-secret",
            "VOXTELESYS_WEBHOOK_TOKEN": "callhooks-local-token-not-a-secret",
            "ALLOW_UNAUTHENTICATED": "true",
        }
        webhooks = {d.name for d in (ROOT / "functions").iterdir() if d.is_dir()} - NOT_WEBHOOKS
        unlisted = webhooks - {name for name, *_ in FUNCTIONS}
        if unlisted:
            sys.exit(f"bench/coldstart.py: no sample event for {sorted(unlisted)}: add to FUNCTIONS")
        zonitel_event = ROOT / "events/zonitel-call.json"
        candidates = [(FLOOR, [str(bin_dir / "bench-floor")], None, zonitel_event, [])]
        candidates.append((NOOP, [str(bin_dir / "bench-noop")], None, zonitel_event, []))
        for name, binary, event, subs in FUNCTIONS:
            candidates.append((name, [str(bin_dir / binary)], None, ROOT / "events" / event, subs))
        candidates.append(
            (
                PYTHON,
                [args.python, "-m", "awslambdaric", "zonitel_call.handler"],
                str(ROOT / "bench/python"),
                zonitel_event,
                FUNCTIONS[0][3],
            )
        )

        if args.only:
            candidates = [c for c in candidates if any(o in c[0] for o in args.only)]
        n = int(time.time())  # unique ids across runs against the same table
        results = {}
        for name, argv, cwd, event_path, subs in candidates:
            # Every start goes through the counting proxy, which also times
            # the waits on moto. The first start only warms the page cache
            # and moto; it is not counted.
            env = dict(base_env, AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy_port}")
            n += 1
            start(argv, env, cwd, event_path, subs, n)
            samples = []
            for _ in range(args.starts):
                n += 1
                samples.append(start(argv, env, cwd, event_path, subs, n))
            counts, warm_counts = samples[0]["requests"], samples[0]["warm_requests"]
            if any(s["requests"] != counts or s["warm_requests"] != warm_counts for s in samples):
                print(f"  {name}: requests differ between starts", file=sys.stderr)
            results[name] = {"samples": samples, "requests": counts, "warm_requests": warm_counts}
            print(f"  {name}: {statistics.median(s['first_ms'] for s in samples):.1f} ms", file=sys.stderr)
    finally:
        moto.terminate()
        moto.wait()

    write(results, args, Path(args.out))


def write(results, args, out):
    out.mkdir(parents=True, exist_ok=True)
    if args.only and (out / "coldstart.json").exists():
        # A partial run replaces its candidates' rows and keeps the others.
        results = dict(json.loads((out / "coldstart.json").read_text()), **results)
    (out / "coldstart.json").write_text(json.dumps(results, indent=1))
    sys.path.insert(0, str(ROOT / "bench"))
    import report

    report.OUT = out
    report.main()


if __name__ == "__main__":
    main()
