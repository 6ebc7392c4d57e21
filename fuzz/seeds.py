#!/usr/bin/env python3
"""Writes the starting corpus of each fuzz target into fuzz/corpus/<target>/:
the request bodies (and query strings) of the sample events in events/,
in each target's input format. Run by `make fuzz`; the corpus libFuzzer
grows there is not committed."""

import base64
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
# Hook::ALL's order in shared/model/src/providers/voxtelesys/mod.rs.
HOOKS = ["voice", "status", "dial", "recording"]
# Hook::ALL's order in shared/model/src/providers/twilio/mod.rs.
TWILIO_HOOKS = ["voice", "dial", "call-status", "recording", "messages", "message-status"]


def seed(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data)


def body(event):
    raw = event.get("body") or ""
    return base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode()


for path in sorted((ROOT / "events").glob("*.json")):
    event = json.loads(path.read_text())
    route = event.get("rawPath", "")
    name = path.stem
    if route == "/zonitel/calls":
        seed("zonitel_call", name, body(event))
    elif route == "/zonitel/sms":
        seed("zonitel_sms", name, body(event))
    elif route == "/salpre/events":
        seed("salpre", name, body(event))
    elif route == "/retell/inbound":
        seed("retell", f"{name}-signed", b"\x00" + body(event))
        seed("retell", f"{name}-unsigned", b"\x01" + body(event))
        header = b"v=1795449081000,d=" + b"0" * 64
        seed("retell", f"{name}-forged", b"\x02" + header + b"\n" + body(event))
    elif route.startswith("/voxtelesys/"):
        hook = HOOKS.index(route.rsplit("/", 1)[1])
        if event["requestContext"]["http"]["method"] == "GET":
            data = event.get("rawQueryString", "").encode()
            seed("voxtelesys", name, bytes([hook | 4]) + data)
        else:
            seed("voxtelesys", name, bytes([hook]) + body(event))
    elif route.startswith("/twilio/"):
        # The first byte: the hook, 8 for a GET, 16 with a public base URL.
        hook = TWILIO_HOOKS.index(route.rsplit("/", 1)[1])
        if event["requestContext"]["http"]["method"] == "GET":
            hook, data = hook | 8, event.get("rawQueryString", "").encode()
        else:
            data = body(event)
        seed("twilio", name, bytes([hook]) + data)
        seed("twilio", f"{name}-public-base", bytes([hook | 16]) + data)

for i, number in enumerate(
    [
        "+14155552671",
        "+1 (415) 555-2671",
        "0014155552671",
        "415.555.2671",
        "14155552671",
        "+44 20 7946 0958",
        "anonymous",
        " ",
        "+",
    ]
):
    seed("phone", str(i), number.encode())
