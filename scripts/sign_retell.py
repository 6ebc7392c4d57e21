#!/usr/bin/env python3
"""Signs as Retell does, for local requests: `x-retell-signature:
v=<unix ms>,d=<hex HMAC-SHA256(key, body bytes + decimal ms)>`, signed now.

    # a sample event, for `cargo lambda invoke` or `sam local invoke`
    python3 scripts/sign_retell.py events/retell-call-ended.json > /tmp/signed.json
    cargo lambda invoke retell-inbound --data-file /tmp/signed.json

    # the header alone, for a body sent with curl to `make dev`
    curl ... -H "x-retell-signature: $(scripts/sign_retell.py --header "$body")" -d "$body"

The key: --key, else RETELL_API_KEY from the environment, else the one
`make dev` made in .local/dev-secrets.env. A signature is refused once it is
more than 5 minutes old, and a second delivery of the same signed inbound
request is answered as a replay (nothing new is recorded)."""

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
from pathlib import Path


def saved_secret(variable):
    """A secret `make dev` made for this machine (.local/dev-secrets.env)."""
    saved = Path(__file__).resolve().parent.parent / ".local" / "dev-secrets.env"
    if saved.exists():
        for line in saved.read_text().splitlines():
            name, _, value = line.partition("=")
            if name == variable and value:
                return value
    return None


def sign(key, body, signed_ms):
    digest = hmac.new(key.encode(), body + str(signed_ms).encode(), hashlib.sha256)
    return f"v={signed_ms},d={digest.hexdigest()}"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("event", help="an API Gateway HTTP API event file (with --header: the body itself)")
    parser.add_argument("--header", action="store_true", help="print only the header value for the body given")
    parser.add_argument("--key", default=os.environ.get("RETELL_API_KEY") or None)
    parser.add_argument("--ms", type=int, help="signed time (default: now)")
    args = parser.parse_args()
    key = args.key or saved_secret("RETELL_API_KEY")
    if not key:
        sys.exit("set RETELL_API_KEY, pass --key, or run `make dev` (it writes .local/dev-secrets.env)")
    signed_ms = args.ms if args.ms is not None else int(time.time() * 1000)
    if args.header:
        print(sign(key, args.event.encode(), signed_ms))
        return
    with open(args.event) as f:
        event = json.load(f)
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    event.setdefault("headers", {})["x-retell-signature"] = sign(key, raw, signed_ms)
    json.dump(event, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
