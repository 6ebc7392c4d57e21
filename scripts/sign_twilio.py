#!/usr/bin/env python3
"""Signs as Twilio does, for local requests: `X-Twilio-Signature: base64(
HMAC-SHA1(auth token, URL + each POST parameter's name and value, sorted by
name))`. A GET is signed over its URL alone (its parameters are in it).

    # a sample event, for `cargo lambda invoke` or `sam local invoke`: signed
    # for http://<its host header><its rawPath>?<its rawQueryString>
    python3 scripts/sign_twilio.py events/twilio-voice-post.json > /tmp/signed.json

    # the header alone, for a form body sent with curl to `make dev`
    curl ... -H "x-twilio-signature: $(scripts/sign_twilio.py --header \\
        --url http://127.0.0.1:9000/twilio/voice "$body")" -d "$body"

The token: --token, else TWILIO_AUTH_TOKEN from the environment, else the
one `make dev` made in .local/dev-secrets.env. A loopback or `localhost`
host is signed as http (as the function computes it), any other as https."""

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
from pathlib import Path
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sign_retell import saved_secret  # noqa: E402


def sign(token, url, params):
    """The signature of `url` and the form `params` ([(name, value)])."""
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def form(body):
    return parse_qsl(body, keep_blank_values=True)


def event_url(event):
    """The URL the function computes for an API Gateway event."""
    host = event.get("headers", {}).get("host", "localhost")
    local = host.split(":")[0] in ("localhost", "127.0.0.1", "[::1]")
    url = f"{'http' if local else 'https'}://{host}{event.get('rawPath', '/')}"
    query = event.get("rawQueryString") or ""
    return f"{url}?{query}" if query else url


def sign_event(token, event):
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    post = event.get("requestContext", {}).get("http", {}).get("method", "POST") == "POST"
    params = form(body) if post else []
    event.setdefault("headers", {})["x-twilio-signature"] = sign(token, event_url(event), params)
    return event


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("event", help="an API Gateway HTTP API event file (with --header: the form body itself)")
    parser.add_argument("--header", action="store_true", help="print only the header value for the body given")
    parser.add_argument("--url", help="with --header: the URL requested")
    parser.add_argument("--token", default=os.environ.get("TWILIO_AUTH_TOKEN") or None)
    args = parser.parse_args()
    token = args.token or saved_secret("TWILIO_AUTH_TOKEN")
    if not token:
        sys.exit("set TWILIO_AUTH_TOKEN, pass --token, or run `make dev` (it writes .local/dev-secrets.env)")
    if args.header:
        if not args.url:
            sys.exit("--header needs --url")
        print(sign(token, args.url, form(args.event)))
        return
    with open(args.event) as f:
        event = json.load(f)
    json.dump(sign_event(token, event), sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
