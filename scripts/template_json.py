#!/usr/bin/env python3
"""Prints template.yaml as JSON, CloudFormation's short-form tags as their
long form ({"Ref": ...}, {"Fn::Sub": ...}), for tests that read the
template (tests/tests/it/operations.rs). Run it with .venv/bin/python."""

import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


class CfnLoader(yaml.SafeLoader):
    pass


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {suffix if suffix == "Ref" else f"Fn::{suffix}": value}


CfnLoader.add_multi_constructor("!", _tag)

path = sys.argv[1] if len(sys.argv) > 1 else ROOT / "template.yaml"
with open(path, encoding="utf-8") as handle:
    json.dump(yaml.load(handle, Loader=CfnLoader), sys.stdout)
