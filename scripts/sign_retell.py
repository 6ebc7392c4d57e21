#!/usr/bin/env python3
"""Signs a Retell sample event the way Retell does, for `cargo lambda invoke`
or `sam local invoke` against a function whose RETELL_API_KEY is set.

    python3 scripts/sign_retell.py events/retell-call-ended.json > /tmp/signed.json
    cargo lambda invoke retell-inbound --data-file /tmp/signed.json

The key is RETELL_API_KEY from the environment (or --key). The signature is
`v=<unix ms>,d=<hex HMAC-SHA256(key, body bytes + decimal ms)>` over the
event's body exactly as it is in the file, signed now: the function refuses
it once it is more than 5 minutes old, and a second invoke of the same
signed inbound request is answered as a replay (nothing new is recorded)."""

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("event", help="an API Gateway HTTP API event file")
    parser.add_argument("--key", default=os.environ.get("RETELL_API_KEY"))
    parser.add_argument("--ms", type=int, help="signed time (default: now)")
    args = parser.parse_args()
    if not args.key:
        sys.exit("set RETELL_API_KEY or pass --key")
    with open(args.event) as f:
        event = json.load(f)
    body = event.get("body") or ""
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    signed_ms = args.ms if args.ms is not None else int(time.time() * 1000)
    digest = hmac.new(args.key.encode(), raw + str(signed_ms).encode(), hashlib.sha256)
    event.setdefault("headers", {})["x-retell-signature"] = (
        f"v={signed_ms},d={digest.hexdigest()}"
    )
    json.dump(event, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
