#!/usr/bin/env python3
"""Prints the x-retell-signature header value Retell would send for BODY,
signed now with RETELL_API_KEY (from the environment, else the key
`make dev` made in .local/dev-secrets.env): `v=<unix ms>,d=<hex HMAC-SHA256
of the body followed by the milliseconds>`. For local requests only.

    curl ... -H "x-retell-signature: $(scripts/retell_sign.py "$body")" -d "$body"
"""

import hashlib
import hmac
import os
import sys
import time
from pathlib import Path


def key():
    if os.environ.get("RETELL_API_KEY"):
        return os.environ["RETELL_API_KEY"]
    saved = Path(__file__).resolve().parent.parent / ".local" / "dev-secrets.env"
    if saved.exists():
        for line in saved.read_text().splitlines():
            name, _, value = line.partition("=")
            if name == "RETELL_API_KEY" and value:
                return value
    sys.exit("no RETELL_API_KEY in the environment or .local/dev-secrets.env (run `make dev`)")


def sign(secret, body, signed_ms):
    digest = hmac.new(secret.encode(), body.encode() + str(signed_ms).encode(), hashlib.sha256)
    return f"v={signed_ms},d={digest.hexdigest()}"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(sign(key(), sys.argv[1], int(time.time() * 1000)))
