"""zonitel-call's job written the way a user would in Python 3 + boto3, for
`make bench`'s comparison: parse the incoming-call JSON, normalize the
numbers, and record the delivery in one DynamoDB transaction (the retry
guard, the event, the call summary), then answer 200. Run by AWS's Python
runtime interface client (awslambdaric), as the managed Python runtime does.
"""

import json
import os
import re
from datetime import datetime, timezone

import boto3
from botocore.config import Config

TABLE = os.environ["TABLE_NAME"]
RETENTION_DAYS = int(os.environ.get("RETENTION_DAYS", "400"))
RETRY_WINDOW_MS = 60_000
DYNAMODB = boto3.client(
    "dynamodb",
    config=Config(
        connect_timeout=0.5, read_timeout=1.0, retries={"max_attempts": 3, "mode": "standard"}
    ),
)


def e164(number):
    digits = re.sub(r"[^\d]", "", number or "")
    if len(digits) == 10:
        digits = "1" + digits
    if not 8 <= len(digits) <= 15:
        raise ValueError(f"not a phone number: {number!r}")
    return "+" + digits


def answer(status, body):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body),
    }


def handler(event, context):
    try:
        call = json.loads(event.get("body") or "")
        caller = e164(call["caller_id_number"]) if call.get("caller_id_number") else None
        destination = e164(call["destination_number"])
    except (ValueError, KeyError, TypeError) as error:
        return answer(400, {"error": {"code": "invalid_request", "message": str(error)}})
    name = (call.get("caller_id_name") or "").strip()
    now = datetime.now(timezone.utc)
    now_ms = int(now.timestamp() * 1000)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    call_id = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z-" + (
        caller[1:] if caller else "anonymous"
    )
    pk = f"CALL#zonitel#{call_id}"
    expires = str(int(now.timestamp()) + RETENTION_DAYS * 86_400)
    event_item = {
        "PK": {"S": pk},
        "SK": {"S": f"EVENT#{stamp}#incoming_call#1"},
        "item_type": {"S": "call_event"},
        "provider": {"S": "zonitel"},
        "call_id": {"S": call_id},
        "kind": {"S": "incoming_call"},
        "occurred_at": {"S": stamp},
        "received_at": {"S": stamp},
        "is_test": {"BOOL": False},
        "expires_at": {"N": expires},
        "direction": {"S": "inbound"},
        "to": {"S": destination},
        "raw": {"S": event["body"]},
    }
    if caller:
        event_item["from"] = {"S": caller}
    if name:
        event_item["caller_name"] = {"S": name}
    guard = {
        "PK": {"S": f"GUARD#zonitel-call#{caller or 'anonymous'}#{destination}#{name}"},
        "SK": {"S": "GUARD"},
        "item_type": {"S": "retry_guard"},
        "call_id": {"S": call_id},
        "received_ms": {"N": str(now_ms)},
        "expires_at": {"N": str(int(now.timestamp()) + 86_400)},
    }
    try:
        DYNAMODB.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": guard,
                        "ConditionExpression": "attribute_not_exists(#pk) OR #received < :cutoff",
                        "ExpressionAttributeNames": {"#pk": "PK", "#received": "received_ms"},
                        "ExpressionAttributeValues": {":cutoff": {"N": str(now_ms - RETRY_WINDOW_MS)}},
                    }
                },
                {
                    "Put": {
                        "TableName": TABLE,
                        "Item": event_item,
                        "ConditionExpression": "attribute_not_exists(PK)",
                    }
                },
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"PK": {"S": pk}, "SK": {"S": "SUMMARY"}},
                        "UpdateExpression": "SET item_type = :t, provider = :p, call_id = :c, "
                        "direction = :d, #to = :to, first_seen_at = if_not_exists(first_seen_at, :now), "
                        "ringing_at = if_not_exists(ringing_at, :now), is_test = :f "
                        "ADD event_count :one",
                        "ExpressionAttributeNames": {"#to": "to"},
                        "ExpressionAttributeValues": {
                            ":t": {"S": "call"},
                            ":p": {"S": "zonitel"},
                            ":c": {"S": call_id},
                            ":d": {"S": "inbound"},
                            ":to": {"S": destination},
                            ":now": {"S": stamp},
                            ":f": {"BOOL": False},
                            ":one": {"N": "1"},
                        },
                    }
                },
            ]
        )
    except DYNAMODB.exceptions.TransactionCanceledException:
        return answer(200, {"status": "duplicate"})
    return answer(200, {"status": "recorded", "call_id": call_id})
