#!/usr/bin/env python3
"""API Gateway's HTTP API, locally: the front of `make dev`.

cargo lambda watch builds the API Gateway event itself, and its router
reads every body whose Content-Type is text/* or application/json (or that
has none) as UTF-8 text: a gzip body or a Latin-1 one is answered 500
before the function runs. API Gateway hands such a body to Lambda
base64-encoded instead. So `make dev` serves the routes with this proxy: it
builds the HTTP API's payload 2.0 event as API Gateway does (the body as
text when it is UTF-8, else base64 with isBase64Encoded), invokes the
route's function through watch's invoke API, and answers what the function
answered. Requests for watch's own invoke API (`cargo lambda invoke`, the
event source pumps) are passed through unchanged.

  serve  --port 9000 --watch http://127.0.0.1:9001
  event  METHOD PATH [--header NAME:VALUE]... [--body-file FILE]
         print the event a request becomes (for a look, and the tests)
  routes [--port 9000]
         print the routes served, one a line (make dev prints them)

The routes are the route table's (shared/model/src/route_table.rs, read
through `cargo run -p callhooks-model --example route_table`). Run it with
the project's virtualenv (.venv/bin/python).
"""

import argparse
import base64
import json
import re
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INVOKE_PREFIX = "/2015-03-31/functions/"
# API Gateway's HTTP API takes request payloads up to 10 MB, and Lambda a
# synchronous invocation's payload (the whole event) up to 6 MB.
MAX_REQUEST_BYTES = 10 * 1024 * 1024
MAX_INVOCATION_BYTES = 6 * 1024 * 1024
# A function's first invocation compiles it.
INVOKE_TIMEOUT_SECONDS = 900


def route_table():
    """The route table as JSON (shared/model/src/route_table.rs), printed by
    the model crate's example: the one list of routes, here too."""
    out = subprocess.run(
        ["cargo", "run", "-q", "--locked", "-p", "callhooks-model", "--example", "route_table"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout
    return json.loads(out)


def routes(table=None):
    """[(method, path template, compiled pattern, function)] from the route table."""
    table = table or route_table()
    found, seen = [], set()
    for route in table["routes"]:
        template = route["api_path"]
        pattern = re.compile(
            "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "/?$"
        )
        for method in route["methods"]:
            if (method, template) not in seen:
                seen.add((method, template))
                found.append((method.upper(), template, pattern, route["function"]))
    return found


def match(table, method, path):
    """(function, route template, path parameters), or None."""
    for route_method, template, pattern, function in table:
        found = pattern.match(path)
        if found and route_method in (method, "ANY"):
            return function, template, found.groupdict()
    return None


def event(method, target, headers, body, template, path_parameters, source_ip="127.0.0.1"):
    """The HTTP API payload 2.0 event of a request, as API Gateway builds it.

    `target` is the request target (path and query string), `headers` a list
    of (name, value), `body` bytes."""
    path, _, query = target.partition("?")
    joined = {}
    for name, value in headers:
        name = name.lower()
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    parameters = {}
    for pair in filter(None, query.split("&")):
        name, _, value = pair.partition("=")
        name = urllib.parse.unquote_plus(name)
        value = urllib.parse.unquote_plus(value)
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    now = datetime.now(timezone.utc)
    route_key = f"{method} {template}"
    result = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": joined,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "127",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if parameters:
        result["queryStringParameters"] = parameters
    if path_parameters:
        result["pathParameters"] = path_parameters
    if "cookie" in joined:
        result["cookies"] = [c.strip() for c in joined["cookie"].split(";")]
    if body:
        try:
            result["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            result["body"] = base64.b64encode(body).decode("ascii")
            result["isBase64Encoded"] = True
    return result


def answer_of(invocation):
    """(status, [(header, value)], body bytes) of a function's HTTP answer."""
    status = int(invocation.get("statusCode", 200))
    headers = list((invocation.get("headers") or {}).items())
    for name, values in (invocation.get("multiValueHeaders") or {}).items():
        headers.extend((name, value) for value in values)
    headers.extend(("set-cookie", cookie) for cookie in invocation.get("cookies") or [])
    body = invocation.get("body") or ""
    data = base64.b64decode(body) if invocation.get("isBase64Encoded") else body.encode("utf-8")
    return status, headers, data


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "callhooks-local-api"

    def log_message(self, fmt, *args):
        sys.stderr.write("api: " + fmt % args + "\n")

    def reply(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def message(self, status, text):
        body = json.dumps({"message": text}).encode()
        self.reply(status, [("content-type", "application/json")], body)

    def handle_any(self):
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            return self.message(413, "Request Entity Too Large")
        body = self.rfile.read(length) if length else b""
        if self.path.startswith(INVOKE_PREFIX):
            return self.forward(body)
        path = self.path.partition("?")[0]
        found = match(self.server.routes, self.command, path)
        if found is None:
            return self.message(404, "Not Found")
        function, template, path_parameters = found
        request_event = event(
            self.command,
            self.path,
            list(self.headers.items()),
            body,
            template,
            path_parameters,
            self.client_address[0],
        )
        payload = json.dumps(request_event).encode()
        if len(payload) > MAX_INVOCATION_BYTES:
            return self.message(413, "Request Entity Too Large")
        url = f"{self.server.watch}{INVOKE_PREFIX}{function}/invocations"
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, data=payload, method="POST"),
                timeout=INVOKE_TIMEOUT_SECONDS,
            ) as response:
                invocation = json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError) as error:
            # What API Gateway answers when the function fails.
            sys.stderr.write(f"api: {function} failed: {error}\n")
            return self.message(500, "Internal Server Error")
        self.reply(*answer_of(invocation))

    def forward(self, body):
        url = f"{self.server.watch}{self.path}"
        request = urllib.request.Request(url, data=body, method=self.command)
        for name, value in self.headers.items():
            if name.lower() not in ("host", "content-length", "connection"):
                request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=INVOKE_TIMEOUT_SECONDS) as response:
                self.reply(response.status, list(response.headers.items()), response.read())
        except urllib.error.HTTPError as error:
            self.reply(error.code, list(error.headers.items()), error.read())
        except (urllib.error.URLError, OSError) as error:
            self.message(502, f"cargo lambda watch: {error}")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = handle_any


def serve(port, watch):
    server = ThreadingHTTPServer(("127.0.0.1", port), Proxy)
    server.routes = routes()
    server.watch = watch.rstrip("/")
    server.daemon_threads = True
    print(f"api listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve")
    serve_parser.add_argument("--port", type=int, default=9000)
    serve_parser.add_argument("--watch", default="http://127.0.0.1:9001")
    event_parser = commands.add_parser("event")
    event_parser.add_argument("method")
    event_parser.add_argument("target")
    event_parser.add_argument("--header", action="append", default=[])
    event_parser.add_argument("--body-file")
    routes_parser = commands.add_parser("routes", help="print the routes served, one a line")
    routes_parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.port, args.watch)
    elif args.command == "routes":
        for route in route_table()["routes"]:
            methods = "|".join(route["methods"])
            print(f"  {methods} http://127.0.0.1:{args.port}{route['path']}  ({route['function']})")
    else:
        found = match(routes(), args.method.upper(), args.target.partition("?")[0])
        if found is None:
            sys.exit(f"no route for {args.method} {args.target}")
        function, template, path_parameters = found
        body = Path(args.body_file).read_bytes() if args.body_file else b""
        headers = [tuple(h.split(":", 1)) for h in args.header]
        headers = [(name.strip(), value.strip()) for name, value in headers]
        built = event(args.method.upper(), args.target, headers, body, template, path_parameters)
        print(json.dumps({"function": function, "event": built}))


if __name__ == "__main__":
    main()
