#!/usr/bin/env python3
"""The local AWS stack for `make dev` and the integration tests.

  serve   run moto's server (DynamoDB, DynamoDB Streams, SNS, SQS) on a port
  create  create the table and topic on an endpoint, from template.yaml

template.yaml is the one definition of the table and topic: `create` reads
their properties from its Resources, so local and deployed shapes cannot
drift. Run it with the project's virtualenv (.venv/bin/python).
"""

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

import boto3
import yaml

ROOT = Path(__file__).resolve().parent.parent


class CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !GetAtt...) as plain data."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node)
    else:
        value = loader.construct_mapping(node)
    return {suffix: value}


CfnLoader.add_multi_constructor("!", _tag)


def template_resources(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=CfnLoader)["Resources"]


def one_resource(resources, kind):
    found = [r["Properties"] for r in resources.values() if r["Type"] == kind]
    if len(found) != 1:
        sys.exit(f"template.yaml must define exactly one {kind}, found {len(found)}")
    return found[0]


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "dummy"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "dummy"),
    )


def create_table(dynamodb, name, props):
    request = {
        "TableName": name,
        "BillingMode": props["BillingMode"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
    }
    if "GlobalSecondaryIndexes" in props:
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if "StreamSpecification" in props:
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "SSESpecification" in props:
        request["SSESpecification"] = {"Enabled": props["SSESpecification"]["SSEEnabled"]}
    try:
        table = dynamodb.create_table(**request)["TableDescription"]
    except dynamodb.exceptions.ResourceInUseException:
        table = dynamodb.describe_table(TableName=name)["Table"]
        return table
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    pitr = props.get("PointInTimeRecoverySpecification", {})
    if pitr.get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    return table


def create(args):
    resources = template_resources(args.template)
    table_props = one_resource(resources, "AWS::DynamoDB::Table")
    one_resource(resources, "AWS::SNS::Topic")
    table = create_table(client("dynamodb", args.endpoint), args.table, table_props)
    topic_arn = client("sns", args.endpoint).create_topic(Name=args.topic)["TopicArn"]
    print(
        json.dumps(
            {
                "table_name": args.table,
                "stream_arn": table.get("LatestStreamArn"),
                "topic_arn": topic_arn,
            }
        )
    )


def serialize_dynamodb_requests():
    """DynamoDB runs each transaction atomically. moto does not when requests
    arrive concurrently: a transaction snapshots the table, and a cancelled
    one restores that snapshot, dropping what other requests wrote in the
    meantime. A lock per table around moto's DynamoDB requests gives back
    DynamoDB's isolation (so concurrency tests test our code, not the
    emulator) while requests on different tables, such as two tests', still
    run side by side."""
    import re

    from moto.dynamodb.responses import DynamoHandler

    table_name = re.compile(rb'"TableName"\s*:\s*"((?:[^"\\]|\\.)*)"')
    guard = threading.Lock()
    locks = {}
    call_action = DynamoHandler.call_action

    def serialized(self):
        body = self.body if isinstance(self.body, bytes) else str(self.body or "").encode()
        held = []
        with guard:
            for name in sorted(set(table_name.findall(body))):
                held.append(locks.setdefault(name, threading.Lock()))
        for lock in held:  # sorted order: no deadlock between transactions
            lock.acquire()
        try:
            return call_action(self)
        finally:
            for lock in reversed(held):
                lock.release()

    DynamoHandler.call_action = serialized


def serve(args):
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    serialize_dynamodb_requests()

    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    print(f"moto listening on http://{args.host}:{args.port}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.until_stdin_closes:
        # The test harness holds our stdin; when its process ends, for any
        # reason, stdin closes and this server goes with it.
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_cmd = sub.add_parser("serve", help="run the moto server")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=4566)
    serve_cmd.add_argument("--until-stdin-closes", action="store_true")
    serve_cmd.set_defaults(run=serve)
    create_cmd = sub.add_parser("create", help="create the table and topic from template.yaml")
    create_cmd.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
    create_cmd.add_argument("--template", default=str(ROOT / "template.yaml"))
    create_cmd.add_argument("--table", default=os.environ.get("TABLE_NAME", "callhooks-local"))
    create_cmd.add_argument("--topic", default="callhooks-alerts")
    create_cmd.set_defaults(run=create)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
