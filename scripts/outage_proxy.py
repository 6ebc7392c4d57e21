#!/usr/bin/env python3
"""A switchable DynamoDB outage in front of the local AWS endpoint, for
`make dev` and `make load` (127.0.0.1 only).

Forwards every request to the upstream endpoint (moto), except that while an
outage is on, DynamoDB requests (`X-Amz-Target: DynamoDB_...`) get their
connection closed without an answer, as a stopped DynamoDB endpoint would;
SQS, SNS and the rest pass, so the spillway queue still works.

    outage_proxy.py serve --port 4567 --upstream http://127.0.0.1:4566
    curl -X POST 'http://127.0.0.1:4567/__outage?seconds=10'   # start one
    curl 'http://127.0.0.1:4567/__outage'                        # is one on?

Run it with the project's virtualenv (.venv/bin/python).
"""

import argparse
import http.client
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

OUTAGE_UNTIL = [0.0]
LOCAL = threading.local()


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None

    def log_message(self, *args):  # quiet: the functions log their own view
        pass

    def _control(self):
        query = parse_qs(urlparse(self.path).query)
        if self.command == "POST":
            seconds = float(query.get("seconds", ["10"])[0])
            OUTAGE_UNTIL[0] = time.monotonic() + seconds
            print(f"outage_proxy: DynamoDB down for {seconds:g} s", file=sys.stderr, flush=True)
        left = max(0.0, OUTAGE_UNTIL[0] - time.monotonic())
        body = json.dumps({"outage": left > 0, "seconds_left": round(left, 1)}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self):
        if self.path.startswith("/__outage"):
            return self._control()
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        target = self.headers.get("x-amz-target") or ""
        if target.startswith("DynamoDB_") and time.monotonic() < OUTAGE_UNTIL[0]:
            self.close_connection = True
            self.connection.close()
            return
        connection = getattr(LOCAL, "connection", None)
        if connection is None:
            parsed = urlparse(self.upstream)
            connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
            LOCAL.connection = connection
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException):
            LOCAL.connection = None
            self.close_connection = True
            self.connection.close()
            return
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve")
    serve.add_argument("--port", type=int, default=4567)
    serve.add_argument("--upstream", default="http://127.0.0.1:4566")
    args = parser.parse_args()
    if urlparse(args.upstream).hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("the upstream must be on this machine")
    Proxy.upstream = args.upstream
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Proxy)
    server.daemon_threads = True
    print(f"outage_proxy: 127.0.0.1:{args.port} -> {args.upstream}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
