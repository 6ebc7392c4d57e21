#!/usr/bin/env python3
"""`sam local invoke` as docs/local.md shows it, without Docker.

    sam_local.py check --endpoint URL --bin-dir target/debug

For every invocation docs/local.md documents (its commands, and every
sample its "Functions and their events" table lists), this builds the
environment `sam local invoke` would give the function: the variables
template.yaml declares for it (Globals and its own), resolved as SAM
resolves them locally (a parameter's default, a resource's logical id),
then overridden by events/env.json where the template declares the
variable (SAM ignores the others). It points `host.docker.internal:4566`
at URL (the docs' Linux variant: 127.0.0.1 on the host's network), creates
the local table, topic and queues env.json names, runs the function's
binary under an emulated Lambda Runtime API (what Lambda's image and SAM's
emulator serve), hands it each sample (Retell's signed first, as the docs'
command does) and fails on any answer that is not a 2xx, any batch item
failure, and any variable the function reads that the template does not
declare or that would reach it as a logical id. Run it with
.venv/bin/python (tests/tests/it/sam_local.rs does)."""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
import local_stack  # noqa: E402
from api_gateway import route_table  # noqa: E402
from sign_retell import sign  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
API = "/2018-06-01/runtime"
DOCKER_HOST = "http://host.docker.internal:4566"

# The variables each function's code reads (main.rs and the shared code it
# runs). tests/tests/it/sam_local.rs checks them against the sources, so a
# new variable cannot be forgotten here, in the template or in env.json. A
# webhook function reads WEBHOOK_READS and its provider's secret (the route
# table's), and what WEBHOOK_EXTRA_READS adds.
WEBHOOK_READS = ["TABLE_NAME", "RETENTION_DAYS", "SPILLWAY_QUEUE_URL", "SPILLWAY_SIGNING_KEY", "ALLOW_UNAUTHENTICATED"]
CALL_CONTROL_READS = [
    "VOXTELESYS_DEFAULT_MESSAGE",
    "VOXTELESYS_FALLBACK_FORWARD_NUMBER",
    "VOXTELESYS_FALLBACK_VOICEMAIL",
    "NUMBER_CONFIG_CACHE_SECONDS",
]
WEBHOOK_EXTRA_READS = {
    "voxtelesys-voice": CALL_CONTROL_READS,
    "twilio": ["PUBLIC_BASE_URL"] + CALL_CONTROL_READS,
    "retell-inbound": ["RETELL_FALLBACK_AGENT_ID", "RETELL_FALLBACK_CHAT_AGENT_ID", "NUMBER_CONFIG_CACHE_SECONDS"],
}
OTHER_READS = {
    "AlertsFunction": ["TABLE_NAME", "ALERTS_TOPIC_ARN", "ALERTS_DEAD_LETTER_QUEUE_URL"],
    "SpillwayFunction": [
        "TABLE_NAME",
        "RETENTION_DAYS",
        "SPILLWAY_SIGNING_KEY",
        "SPILLWAY_DEAD_LETTER_QUEUE_URL",
    ],
    "SweeperFunction": [
        "TABLE_NAME",
        "RETENTION_DAYS",
        "CALL_START_WAIT_SECONDS",
        "CALL_END_WAIT_SECONDS",
        "CALL_ANALYSIS_WAIT_SECONDS",
        "SMS_STATUS_WAIT_SECONDS",
        "LIFECYCLE_WAIT_SECONDS",
    ],
}


def logical_id(function):
    """`zonitel-call` -> `ZonitelCallFunction`: the template's name for it."""
    return "".join(part[:1].upper() + part[1:] for part in function.split("-")) + "Function"


def reads(table):
    """{logical id: [variables]} for every function."""
    secrets = {p["provider"]: p["secret_variable"] for p in table["providers"]}
    found = dict(OTHER_READS)
    for route in table["routes"]:
        found.setdefault(
            logical_id(route["function"]),
            WEBHOOK_READS + [secrets[route["provider"]]] + WEBHOOK_EXTRA_READS.get(route["function"], []),
        )
    return found


def webhook_samples(table):
    """(function, event file, None) for every sample event sent to a route:
    the function the route table names for its path."""
    found = []
    for path in sorted((ROOT / "events").glob("*.json")):
        event = json.loads(path.read_text())
        route_path = event.get("requestContext", {}).get("http", {}).get("path") if isinstance(event, dict) else None
        if not route_path:
            continue
        for route in table["routes"]:
            if route["path"] == route_path:
                found.append((logical_id(route["function"]), f"events/{path.name}", None))
                break
    return found


# Read by every function through the SDK (AWS_ENDPOINT_URL locally).
SDK_READS = ["AWS_ENDPOINT_URL"]


def load_template():
    import yaml

    with open(ROOT / "template.yaml", encoding="utf-8") as handle:
        return yaml.load(handle, Loader=local_stack.CfnLoader)


def holds(template, condition, params):
    (op, args), = condition.items()
    value = lambda v: params.get(v["Ref"], "") if isinstance(v, dict) else str(v)  # noqa: E731
    if op == "Equals":
        return value(args[0]) == value(args[1])
    if op == "Not":
        return not holds(template, args[0], params)
    if op == "And":
        return all(holds(template, c, params) for c in args)
    if op == "Or":
        return any(holds(template, c, params) for c in args)
    if op == "Condition":
        return holds(template, template["Conditions"][args], params)
    raise ValueError(f"condition {op}")


def resolve(template, value, params):
    """A template value as `sam local` hands it to the function: parameters
    by their default, resources by their logical id, pseudo parameters by
    the local account and region; what it cannot resolve, empty."""
    resources = template["Resources"]
    pseudo = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::StackName": "callhooks"}
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and len(value) == 1:
        (op, args), = value.items()
        if op == "Ref":
            if args in params:
                return params[args]
            if args in pseudo:
                return pseudo[args]
            return args if args in resources else ""
        if op == "If":
            name, yes, no = args
            branch = yes if holds(template, template["Conditions"][name], params) else no
            return resolve(template, branch, params)
        if op == "Sub" and isinstance(args, str):
            return re.sub(
                r"\$\{([^}]+)\}",
                lambda m: resolve(template, {"Ref": m.group(1).split(".")[0]}, params),
                args,
            )
    return ""


def parameter_defaults(template):
    found = {}
    for name, parameter in template.get("Parameters", {}).items():
        if "Default" in parameter:
            default = parameter["Default"]
            found[name] = ",".join(default) if isinstance(default, list) else str(default)
    return found


def declared(template, function):
    variables = dict(template["Globals"]["Function"].get("Environment", {}).get("Variables", {}))
    own = template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    variables.update(own)
    return variables


def environment(template, function, env_file, endpoint):
    """What `sam local invoke FUNCTION` sets: the template's variables,
    then env.json's where declared (docs/local.md's Linux variant maps
    host.docker.internal to the host)."""
    params = parameter_defaults(template)
    variables = declared(template, function)
    env = {name: resolve(template, value, params) for name, value in variables.items()}
    overrides = dict(env_file.get("Parameters", {}))
    overrides.update(env_file.get(function, {}))
    for name, value in overrides.items():
        if name in env:
            env[name] = str(value)
    return {k: v.replace(DOCKER_HOST, endpoint) for k, v in env.items()}


def documented_invocations(text):
    """(function, event file, signed) for every invocation docs/local.md
    documents: its `sam local invoke` commands and its table's samples.
    A Retell sample is signed first (the docs' `scripts/sign_retell.py`)."""
    found = []
    signed_from = {}
    for match in re.finditer(r"scripts/sign_retell\.py[^\n]*?(events/\S+\.json)\s*>\s*(\S+\.json)", text):
        signed_from[match.group(2)] = match.group(1)
    joined = text.replace("\\\n", " ")
    for match in re.finditer(r"sam local invoke (\w+)[^\n]*?--event (\S+)", joined):
        function, event = match.group(1), match.group(2)
        found.append((function, signed_from.get(event, event), event in signed_from))
    for match in re.finditer(r"^\| `(\w+)` \|[^|\n]*\|([^\n]*)\|\s*$", text, re.M):
        function = match.group(1)
        for sample in re.findall(r"`([^`]+\.json)`", match.group(2)):
            for name in expand_braces(sample):
                found.append((function, f"events/{name}", None))
    return found


def expand_braces(pattern):
    match = re.search(r"\{([^}]*)\}", pattern)
    if not match:
        return [pattern]
    out = []
    for choice in match.group(1).split(","):
        out.extend(expand_braces(pattern[: match.start()] + choice + pattern[match.end() :]))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RuntimeApi(BaseHTTPRequestHandler):
    """Lambda's Runtime API for one function: hands out `queue`'s events
    one by one and keeps each answer."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    queue = []
    answers = []
    done = threading.Event()

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
        if self.path != f"{API}/invocation/next":
            return self._reply(404)
        cls = type(self)
        if not cls.queue:
            cls.done.set()
            time.sleep(30)  # the process is killed meanwhile
            self.close_connection = True
            return
        request_id, event = cls.queue.pop(0)
        self._reply(
            200,
            event,
            [
                ("Content-Type", "application/json"),
                ("Lambda-Runtime-Aws-Request-Id", request_id),
                ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000)),
                ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:local"),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
            ],
        )

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        kind = self.path.rsplit("/", 1)[-1]
        type(self).answers.append((self.path.split("/")[-2], kind, body))
        self._reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)


def invoke_all(binary, env, events):
    """Runs `binary` once with `env`, hands it `events` in turn; returns
    (answers by request id, its log)."""
    port = free_port()
    handler = type("Api", (RuntimeApi,), {"queue": list(events), "answers": [], "done": threading.Event()})
    server = Server(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    lambda_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": "local",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_LAMBDA_LOG_LEVEL": "INFO",
        "AWS_ACCESS_KEY_ID": "dummy",
        "AWS_SECRET_ACCESS_KEY": "dummy",
        "AWS_SESSION_TOKEN": "dummy",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    lambda_env.update(env)
    proc = subprocess.Popen([str(binary)], env=lambda_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    finished = handler.done.wait(60)
    proc.kill()
    log = proc.communicate()[0].decode(errors="replace")
    server.shutdown()
    if not finished:
        raise SystemExit(f"{binary.name} did not take every event within 60 s: {log[-3000:]}")
    return {request_id: (kind, body) for request_id, kind, body in handler.answers}, log


def failure_of(function, kind, body):
    """Why an answer is not a success, or None."""
    if kind != "response":
        return f"the function reported an error: {body[:400]!r}"
    answer = json.loads(body or b"null")
    if isinstance(answer, dict) and "statusCode" in answer:
        status = answer["statusCode"]
        if not 200 <= status < 300:
            return f"answered {status}: {str(answer.get('body'))[:400]}"
        return None
    if isinstance(answer, dict) and answer.get("batchItemFailures"):
        return f"batch item failures: {answer['batchItemFailures']}"
    return None


def check(args):
    template = load_template()
    env_file = json.loads((ROOT / "events/env.json").read_text())
    docs = (ROOT / "docs/local.md").read_text()
    functions = {n for n, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
    problems = []
    table = route_table()
    reads_of = reads(table)
    if set(reads_of) != functions:
        problems.append(f"the functions read for are {sorted(reads_of)}, the template's are {sorted(functions)}")
    invocations = documented_invocations(docs) + webhook_samples(table)
    samples = {p.name for p in (ROOT / "events").glob("*.json") if p.name != "env.json"}
    covered = {Path(event).name for _, event, _ in invocations}
    for missing in sorted(samples - covered):
        problems.append(f"events/{missing} is in no invocation docs/local.md documents")
    for function in sorted(functions - {f for f, _, _ in invocations}):
        problems.append(f"docs/local.md documents no invocation of {function}")
    if any(f == "RetellInboundFunction" for f, _, s in invocations) and not re.search(
        r"scripts/sign_retell\.py", docs
    ):
        problems.append("docs/local.md invokes Retell samples without the command that signs them")

    # The local stack env.json names: table, topic, queues.
    env_of = {f: environment(template, f, env_file, args.endpoint) for f in functions}
    table = {e["TABLE_NAME"] for e in env_of.values()}
    if len(table) != 1:
        problems.append(f"events/env.json names several tables: {sorted(table)}")
    table = sorted(table)[0]
    subprocess.run(
        [sys.executable, str(ROOT / "scripts/local_stack.py"), "create", "--endpoint", args.endpoint,
         "--table", table, "--topic", env_of["AlertsFunction"]["ALERTS_TOPIC_ARN"].rsplit(":", 1)[-1]],
        check=True, stdout=subprocess.DEVNULL,
    )
    sqs = boto3.client("sqs", endpoint_url=args.endpoint, region_name="us-east-1")
    for env in env_of.values():
        for name, value in env.items():
            if name.endswith("_QUEUE_URL") and value.startswith(args.endpoint):
                sqs.create_queue(QueueName=value.rsplit("/", 1)[-1])

    for function in sorted(functions):
        env = env_of[function]
        resources = set(template["Resources"])
        for name in reads_of.get(function, []) + SDK_READS:
            if name not in env:
                problems.append(f"{function} reads {name}, which the template does not declare for it")
            elif env[name] in resources:
                problems.append(
                    f"{function}'s {name} would be {env[name]!r} (a logical id): set it in events/env.json"
                )
        for name in reads_of.get(function, []):
            if name.endswith(("_TOKEN", "_KEY")) and not env.get(name):
                problems.append(f"{function}'s {name} is empty under sam local: set it in events/env.json")
    if problems:
        raise SystemExit("\n".join(problems))

    binary_of = {
        name: r["Metadata"]["BuildProperties"]["Binary"]
        for name, r in template["Resources"].items()
        if name in functions
    }
    results = []
    for function in sorted(functions):
        env = env_of[function]
        events = []
        for index, (f, path, signed) in enumerate(invocations):
            if f != function:
                continue
            event = json.loads((ROOT / path).read_text())
            if "RETELL_API_KEY" in env and event.get("body") is not None:
                # As the docs' `scripts/sign_retell.py --key KEY FILE` does.
                body = event["body"].encode()
                event.setdefault("headers", {})["x-retell-signature"] = sign(
                    env["RETELL_API_KEY"], body, int(time.time() * 1000)
                )
            events.append((f"{function}-{index}", json.dumps(event).encode(), path))
        answers, log = invoke_all(
            Path(args.bin_dir) / binary_of[function], env, [(rid, event) for rid, event, _ in events]
        )
        if "integrity check" in log:
            problems.append(f"{function}: a sample failed the spillway's integrity check: {log[-2000:]}")
        for request_id, _, path in events:
            if request_id not in answers:
                problems.append(f"{function} {path}: no answer; log: {log[-2000:]}")
                continue
            kind, body = answers[request_id]
            failure = failure_of(function, kind, body)
            results.append((function, path, failure or "ok"))
            if failure:
                problems.append(f"sam local invoke {function} --event {path}: {failure}")
    for function, path, result in results:
        print(f"{function:26} {path:44} {result}")
    if problems:
        raise SystemExit("\n".join(problems))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    checking = sub.add_parser("check", help="run every documented invocation")
    checking.add_argument("--endpoint", required=True, help="the local AWS endpoint (moto)")
    checking.add_argument("--bin-dir", required=True, help="where the functions' binaries are")
    sub.add_parser("reads", help="print the variables each function reads, as JSON")
    args = parser.parse_args()
    if args.command == "reads":
        print(json.dumps(reads(route_table())))
        return
    check(args)


if __name__ == "__main__":
    main()
