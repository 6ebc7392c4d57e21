#!/usr/bin/env python3
"""Lambda's DynamoDB event source mapping, locally, for `make dev` and the tests.

  run        follow the table's stream, invoke the alerts function (cargo lambda
             watch's invoke API) with Lambda's DynamoDB event, and print every
             message published on the topic (through an SQS queue subscribed to it)
  records    print one Lambda DynamoDB event holding every record of the stream
  subscribe  subscribe a new SQS queue to the topic; print its URL
  receive    print (and delete) the SNS messages waiting in a queue, as JSON
  spillway   Lambda's SQS event source mapping for the spillway queue: waiting
             messages into the spillway function (watch's invoke API)
  schedule   the sweeper's schedule: invoke the sweeper function every
             --interval seconds (SWEEP_INTERVAL_SECONDS, default 60)

Run it with the project's virtualenv (.venv/bin/python).
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

import boto3

# Only the records the event source mapping's FilterCriteria in
# template.yaml lets through: every call and SMS summary change (alerts and
# the per-day counters) and new alert ledger entries (counted).
SUMMARY_TYPES = ("call", "sms")


def template_retry_attempts():
    """MaximumRetryAttempts of the alerts function's stream event source in
    template.yaml, so a record is retried locally as often as deployed."""
    from local_stack import ROOT, template_resources

    events = template_resources(ROOT / "template.yaml")["AlertsFunction"]["Properties"]["Events"]
    return events["TableStream"]["Properties"]["MaximumRetryAttempts"]


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "dummy"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "dummy"),
    )


def lambda_record(record, stream_arn):
    """A stream record as Lambda hands it to a function."""
    change = dict(record["dynamodb"])
    created = change.get("ApproximateCreationDateTime")
    if hasattr(created, "timestamp"):
        change["ApproximateCreationDateTime"] = created.timestamp()
    change.setdefault("SizeBytes", 0)
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", "us-east-1"),
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    }


def passes_filter(record):
    new = record["dynamodb"].get("NewImage") or {}
    item_type = new.get("item_type", {}).get("S")
    if record["eventName"] == "INSERT" and item_type == "alert":
        return True
    return (
        record["eventName"] in ("INSERT", "MODIFY")
        and item_type in SUMMARY_TYPES
        and new.get("SK", {}).get("S") == "SUMMARY"
    )


def stream_arn_of(endpoint, table):
    return client("dynamodb", endpoint).describe_table(TableName=table)["Table"]["LatestStreamArn"]


class Follower:
    """Reads new records of every shard, remembering where each shard is."""

    def __init__(self, endpoint, stream_arn, start):
        self.streams = client("dynamodbstreams", endpoint)
        self.arn = stream_arn
        self.start = start
        self.iterators = {}

    def poll(self):
        shards = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        records = []
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in self.iterators:
                self.iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=self.arn, ShardId=shard_id, ShardIteratorType=self.start
                )["ShardIterator"]
            iterator = self.iterators[shard_id]
            if iterator is None:
                continue
            page = self.streams.get_records(ShardIterator=iterator)
            self.iterators[shard_id] = page.get("NextShardIterator")
            records.extend(page["Records"])
        return [lambda_record(r, self.arn) for r in records]


def invoke(url, records):
    body = json.dumps({"Records": records}).encode()
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    # The first invocation compiles the function: be patient.
    with urllib.request.urlopen(request, timeout=900) as answer:
        return json.loads(answer.read() or b"{}")


def subscribe(endpoint, topic_arn, name):
    sqs = client("sqs", endpoint)
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client("sns", endpoint).subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return queue_url


def receive(endpoint, queue_url):
    """Every SNS envelope waiting in the queue (Subject, Message, MessageAttributes)."""
    sqs = client("sqs", endpoint)
    messages = []
    while True:
        page = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        batch = page.get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def run(args):
    arn = stream_arn_of(args.endpoint, args.table)
    queue_url = subscribe(args.endpoint, args.topic_arn, args.queue)
    follower = Follower(args.endpoint, arn, "LATEST")
    follower.poll()  # start at the stream's end, like StartingPosition LATEST
    print(f"alerts: following {args.table}'s stream; alerts on the topic show here", flush=True)
    pending = []
    attempts = 0
    while True:
        pending.extend(r for r in follower.poll() if passes_filter(r))
        if pending:
            try:
                failures = invoke(args.invoke_url, pending).get("batchItemFailures") or []
            except urllib.error.URLError as error:
                if isinstance(error.reason, ConnectionRefusedError):
                    # cargo lambda watch is not up yet: not the function's failure.
                    time.sleep(args.interval)
                    continue
                failures = [{"itemIdentifier": pending[0]["dynamodb"]["SequenceNumber"]}]
                print(f"alerts: invocation failed: {error}", file=sys.stderr, flush=True)
            except Exception as error:  # the function failed as a whole
                failures = [{"itemIdentifier": pending[0]["dynamodb"]["SequenceNumber"]}]
                print(f"alerts: invocation failed: {error}", file=sys.stderr, flush=True)
            if failures:
                failed = failures[0].get("itemIdentifier")
                index = next(
                    (i for i, r in enumerate(pending) if r["dynamodb"]["SequenceNumber"] == failed), 0
                )
                attempts += 1
                # Back off before the batch comes again, so a short outage
                # of the table (make load's) ends within the retries.
                time.sleep(min(args.interval * 2 ** (attempts - 1), 8.0))
                if attempts > args.max_retries:
                    dropped = pending[index]
                    print(
                        f"alerts: record {failed} failed {attempts} times: deployed, it would go to the "
                        f"dead-letter queue: {json.dumps(dropped['dynamodb'].get('Keys'))}",
                        file=sys.stderr,
                        flush=True,
                    )
                    pending = pending[index + 1 :]
                    attempts = 0
                else:
                    pending = pending[index:]
            else:
                pending = []
                attempts = 0
        for message in receive(args.endpoint, queue_url):
            attributes = {k: v.get("Value") for k, v in message.get("MessageAttributes", {}).items()}
            print(f"\nALERT  {message.get('Subject')}\n  attributes {json.dumps(attributes)}\n  {message['Message']}", flush=True)
        time.sleep(args.interval)


def spillway(args):
    """Lambda's SQS event source mapping for the spillway queue, locally:
    waiting messages into the spillway function (with partial batch
    responses: a failed message stays on the queue and comes back)."""
    sqs = client("sqs", args.endpoint)
    print("spillway: draining the spillway queue into the table", flush=True)
    while True:
        page = sqs.receive_message(
            QueueUrl=args.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=30
        )
        batch = page.get("Messages", [])
        if not batch:
            continue
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:local:000000000000:spillway",
                "awsRegion": os.environ.get("AWS_REGION", "us-east-1"),
            }
            for m in batch
        ]
        try:
            failed = {f["itemIdentifier"] for f in invoke(args.invoke_url, records).get("batchItemFailures") or []}
        except Exception as error:  # not up yet, or failed whole: all come back
            print(f"spillway: invocation failed: {error}", file=sys.stderr, flush=True)
            time.sleep(args.interval)
            continue
        for message in batch:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=args.queue_url, ReceiptHandle=message["ReceiptHandle"])
        print(f"spillway: {len(batch) - len(failed)} kept, {len(failed)} left on the queue", flush=True)


def schedule(args):
    """The sweeper's schedule, locally: an empty scheduled event into the
    sweeper function every interval (its own log says what it flagged)."""
    print(f"sweeper: every {args.interval:g} s", flush=True)
    while True:
        time.sleep(args.interval)
        try:
            summary = invoke(args.invoke_url, [])
        except Exception as error:  # not up yet, or the sweep failed: next time
            print(f"sweeper: invocation failed: {error}", file=sys.stderr, flush=True)
            continue
        if summary.get("flagged"):
            print(f"sweeper: flagged {summary['flagged']} incomplete", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    sub = parser.add_subparsers(dest="command", required=True)

    run_cmd = sub.add_parser("run")
    run_cmd.add_argument("--table", default=os.environ.get("TABLE_NAME", "callhooks-local"))
    run_cmd.add_argument("--topic-arn", default=os.environ.get("ALERTS_TOPIC_ARN"))
    run_cmd.add_argument("--queue", default="callhooks-local-alerts")
    run_cmd.add_argument(
        "--invoke-url", default="http://127.0.0.1:9000/2015-03-31/functions/alerts/invocations"
    )
    run_cmd.add_argument("--interval", type=float, default=1.0)
    run_cmd.add_argument(
        "--max-retries", type=int, default=template_retry_attempts(),
        help="retries of a failing record before it is dropped (default: the alerts "
        "function's MaximumRetryAttempts in template.yaml)",
    )

    records_cmd = sub.add_parser("records")
    records_cmd.add_argument("--stream-arn", required=True)

    subscribe_cmd = sub.add_parser("subscribe")
    subscribe_cmd.add_argument("--topic-arn", required=True)
    subscribe_cmd.add_argument("--queue", required=True)

    receive_cmd = sub.add_parser("receive")
    receive_cmd.add_argument("--queue-url", required=True)

    spillway_cmd = sub.add_parser("spillway")
    spillway_cmd.add_argument("--queue-url", default=os.environ.get("SPILLWAY_QUEUE_URL"))
    spillway_cmd.add_argument(
        "--invoke-url", default="http://127.0.0.1:9000/2015-03-31/functions/spillway/invocations"
    )
    spillway_cmd.add_argument("--interval", type=float, default=1.0)

    schedule_cmd = sub.add_parser("schedule")
    schedule_cmd.add_argument(
        "--invoke-url", default="http://127.0.0.1:9000/2015-03-31/functions/sweeper/invocations"
    )
    schedule_cmd.add_argument(
        "--interval", type=float, default=float(os.environ.get("SWEEP_INTERVAL_SECONDS") or 60)
    )

    args = parser.parse_args()
    if args.command == "run":
        run(args)
    elif args.command == "records":
        records = Follower(args.endpoint, args.stream_arn, "TRIM_HORIZON").poll()
        print(json.dumps({"Records": records}))
    elif args.command == "spillway":
        spillway(args)
    elif args.command == "schedule":
        schedule(args)
    elif args.command == "subscribe":
        print(subscribe(args.endpoint, args.topic_arn, args.queue))
    elif args.command == "receive":
        print(json.dumps(receive(args.endpoint, args.queue_url)))


if __name__ == "__main__":
    main()
