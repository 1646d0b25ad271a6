#!/usr/bin/env python3
"""Validates every valid control vector against protocol/schemas and checks that the
schemas reject the invalid ones that are well-formed JSON objects. Exit 1 on any mismatch."""
import json
import os
import sys

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCHEMAS = os.path.join(ROOT, "schemas")

resources = []
for name in os.listdir(SCHEMAS):
    with open(os.path.join(SCHEMAS, name)) as f:
        schema = json.load(f)
    resources.append((schema["$id"], Resource.from_contents(schema)))
registry = Registry().with_resources(resources)
with open(os.path.join(SCHEMAS, "control-message.schema.json")) as f:
    validator = Draft202012Validator(json.load(f), registry=registry)

with open(os.path.join(ROOT, "vectors", "control.json"), encoding="utf-8") as f:
    vectors = json.load(f)

passed = failed = 0
for vector in vectors["valid"]:
    errors = list(validator.iter_errors(json.loads(vector["json"])))
    if errors:
        failed += 1
        print(f"FAIL valid vector {vector['name']!r} does not match the schema: {errors[0].message}")
    else:
        passed += 1
for vector in vectors["invalid"]:
    try:
        message = json.loads(vector["json"])
    except ValueError:
        passed += 1  # not JSON at all: nothing for a schema to say
        continue
    if validator.is_valid(message):
        failed += 1
        print(f"FAIL invalid vector {vector['name']!r} is accepted by the schema")
    else:
        passed += 1
print(f"schemas: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
