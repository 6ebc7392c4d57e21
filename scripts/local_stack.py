#!/usr/bin/env python3
"""The local AWS stack for `make dev` and the integration tests.

  serve   run moto's server (DynamoDB, DynamoDB Streams, SNS, SQS) on a port
  create  create the table, topic and spillway queue on an endpoint, from
          template.yaml

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


def print_template(args):
    """The whole template as JSON, for the tests that check it."""
    with open(args.template, encoding="utf-8") as handle:
        print(json.dumps(yaml.load(handle, Loader=CfnLoader)))


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


def create_spillway(sqs, name, resources):
    """The spillway queue as template.yaml's SpillwayQueue defines it (its
    retention and visibility; moto has no server-side encryption to set)."""
    props = resources["SpillwayQueue"]["Properties"]
    attributes = {
        "MessageRetentionPeriod": str(props["MessageRetentionPeriod"]),
        "VisibilityTimeout": str(props["VisibilityTimeout"]),
    }
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def create_spillway_dead_letters(sqs, name, resources):
    """The spillway's dead-letter queue (SpillwayDeadLetterQueue): where the
    spillway moves a message that fails its integrity check."""
    props = resources["SpillwayDeadLetterQueue"]["Properties"]
    attributes = {"MessageRetentionPeriod": str(props["MessageRetentionPeriod"])}
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def create(args):
    resources = template_resources(args.template)
    table_props = one_resource(resources, "AWS::DynamoDB::Table")
    # The alerts topic (the template also has AlarmsTopic, for CloudWatch).
    if resources.get("AlertsTopic", {}).get("Type") != "AWS::SNS::Topic":
        sys.exit("template.yaml must define the AWS::SNS::Topic AlertsTopic")
    table = create_table(client("dynamodb", args.endpoint), args.table, table_props)
    topic_arn = client("sns", args.endpoint).create_topic(Name=args.topic)["TopicArn"]
    spillway_url = create_spillway(client("sqs", args.endpoint), f"{args.table}-spillway", resources)
    spillway_dlq_url = create_spillway_dead_letters(
        client("sqs", args.endpoint), f"{args.table}-spillway-dlq", resources
    )
    print(
        json.dumps(
            {
                "table_name": args.table,
                "stream_arn": table.get("LatestStreamArn"),
                "topic_arn": topic_arn,
                "spillway_queue_url": spillway_url,
                "spillway_dead_letter_queue_url": spillway_dlq_url,
            }
        )
    )


def undo_log_transactions():
    """Makes moto's TransactWriteItems cost what its items cost.

    moto 5.2 backs up a transaction by deep-copying every table it touches,
    once per item, before it runs: a three-item transaction on a table of N
    items copies 3N items, so `make dev`, `make load` and the benchmarks slow
    down as the table grows (a few ms on an empty table, hundreds of ms after
    a load run). Instead this snapshots only the items the transaction names,
    and the tables' stream lengths, and on any failure puts those items back
    and drops the stream records the failed transaction added: the same
    all-or-nothing result, in time proportional to the transaction.
    Requests are serialized (SerializedApp), so nothing else runs meanwhile.
    """
    import copy

    import moto.dynamodb.models as models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items

    class TablesByReference:
        """moto's own backup: tables are kept by reference (the undo log
        restores them), every other object is still deep-copied."""

        @staticmethod
        def deepcopy(value, memo=None):
            return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def item_key(table, op_type, op):
        attrs = op.get("Item", {}) if op_type == "Put" else op.get("Key", {})
        if table.hash_key_attr not in attrs:
            return None
        hash_value = DynamoType(attrs[table.hash_key_attr])
        range_value = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in attrs:
                return None
            range_value = DynamoType(attrs[table.range_key_attr])
        return hash_value, range_value

    def snapshot(backend, transact_items):
        items, streams = [], {}
        for entry in transact_items:
            if not isinstance(entry, dict) or len(entry) != 1:
                continue
            op_type, op = next(iter(entry.items()))
            table = backend.tables.get(op.get("TableName")) if isinstance(op, dict) else None
            if table is None:
                continue
            if table.stream_shard is not None and id(table) not in streams:
                streams[id(table)] = (table.stream_shard, len(table.stream_shard.items))
            key = item_key(table, op_type, op)
            if key is not None:
                before = table.get_item(*key)
                items.append((table, key, copy.deepcopy(before)))
        return items, list(streams.values())

    def restore(items, streams):
        for table, (hash_value, range_value), before in reversed(items):
            if range_value is not None:
                bucket = table.items[hash_value]
                if before is None:
                    bucket.pop(range_value, None)
                else:
                    bucket[range_value] = before
            elif before is None:
                table.items.pop(hash_value, None)
            else:
                table.items[hash_value] = before
        for shard, length in streams:
            del shard.items[length:]

    def transact_write_items(self, transact_items):
        items, streams = snapshot(self, transact_items)
        try:
            return original(self, transact_items)
        except BaseException:
            restore(items, streams)
            raise

    DynamoDBBackend.transact_write_items = transact_write_items
    models.copy = TablesByReference  # the `copy` module moto's backend calls


def faster_update_expressions():
    """Halves what moto spends on an UpdateExpression, with the same result.

    Every webhook's summary update names 10-20 attributes, each with
    `if_not_exists`. moto 5.2 parses the expression twice per request and
    walks the tree with ten validators, twice for a new item; profiled, a
    three-item transaction took 21 ms where a PutItem takes 1.3 ms. Three
    costs are pure overhead and go:
    - ActionCountValidator counts the SET/ADD/REMOVE clauses below every
      nested UpdateExpression node, O(n^2); the root's count covers them all.
    - every traverser rebuilds its tuple of node types at every node.
    - the same expression string is parsed again on every request; parses
      are kept (moto only reads the parsed tree, and the validators work on
      their own deep copy of it).
    Measured in-process: 21.8 -> 11.4 ms per transaction.
    """
    from moto.dynamodb.parsing import expressions, validators
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser

    count_clauses = validators.ActionCountValidator.verify_action_counts

    def verify_action_counts_at_root(self, node):
        return node if node.parent is not None else count_clauses(self, node)

    def nodes_to_be_processed(self):
        types = self.__dict__.get("_node_types")
        if types is None:
            types = self.__dict__["_node_types"] = tuple(self._processing_map().keys())
        return types

    parse = expressions.UpdateExpressionParser.make.__func__
    parsed = {}

    def make(cls, expression_str):
        tree = parsed.get(expression_str)
        if tree is None:
            tree = parse(cls, expression_str)  # an invalid one raises, kept nowhere
            if len(parsed) < 10_000:
                parsed[expression_str] = tree
        return tree

    validators.ActionCountValidator.verify_action_counts = verify_action_counts_at_root
    DepthFirstTraverser.nodes_to_be_processed = nodes_to_be_processed
    expressions.UpdateExpressionParser.make = classmethod(make)


class SerializedApp:
    """Handles one DynamoDB request at a time. moto's DynamoDB is not safe
    under concurrent requests: a cancelled transaction restores a copy of
    the table taken before it ran, wiping writes that landed meanwhile.
    DynamoDB itself applies each request atomically; serializing gives the
    same guarantee (a racing duplicate then fails its condition instead of
    conflicting).

    Only DynamoDB and DynamoDB Streams requests take the lock: an SQS
    receive long-polls for up to 20 s (the spillway pump waits 1 s on each),
    and holding the lock through it stalled every table request behind it,
    which made a query look a second slow."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))


def serve(args):
    import logging

    from moto.moto_server.threaded_moto_server import MotoRequestHandler
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    undo_log_transactions()
    faster_update_expressions()
    app = SerializedApp(DomainDispatcherApplication(create_backend_app))
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # --port 0: the system picks a free port, named here for the caller.
    print(f"moto listening on http://{args.host}:{server.server_port}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    if args.until_stdin_closes:
        # The test harness holds our stdin; when its process ends, for any
        # reason, stdin closes and this server goes with it.
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    stop.wait()
    server.shutdown()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    serve_cmd = sub.add_parser("serve", help="run the moto server")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=4566)
    serve_cmd.add_argument("--until-stdin-closes", action="store_true")
    serve_cmd.set_defaults(run=serve)
    template_cmd = sub.add_parser("template", help="print template.yaml as JSON (short-form tags as {Tag: value})")
    template_cmd.add_argument("--template", default=str(ROOT / "template.yaml"))
    template_cmd.set_defaults(run=print_template)
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
