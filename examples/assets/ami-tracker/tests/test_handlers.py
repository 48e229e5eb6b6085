"""Tests of the ami-tracker Lambda handlers, with boto3 replaced by recording fakes.

Run: python3 -m unittest discover -s examples/assets/ami-tracker/tests
(synth-tests/tests/ami_tracker.rs runs it too).
"""

import importlib.util
import json
import os
import sys
import types
import unittest

# No __pycache__ next to the handlers: those directories are the Lambda code assets.
sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))


class FakeClient:
    def __init__(self, service, calls):
        self.service, self.calls = service, calls

    def __getattr__(self, name):
        def call(**kwargs):
            self.calls.append((self.service, name, kwargs))
            return {}

        return call


def load(name, calls):
    fake = types.ModuleType("boto3")
    fake.client = lambda service: FakeClient(service, calls)
    sys.modules["boto3"] = fake
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, "..", name, "index.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image_message(status="AVAILABLE", region="us-east-1", ami="ami-0123456789abcdef0"):
    # The shape of the "SNS message format" example in the Image Builder user guide.
    return {
        "versionlessArn": "arn:aws:imagebuilder:us-east-1:123456789012:image/tracked",
        "arn": "arn:aws:imagebuilder:us-east-1:123456789012:image/tracked/1.0.0/3",
        "name": "tracked",
        "version": "1.0.0",
        "type": "AMI",
        "buildVersion": 3,
        "state": {"status": status},
        "platform": "Linux",
        "sourcePipelineArn": "arn:aws:imagebuilder:us-east-1:123456789012:image-pipeline/tracked",
        "outputResources": {"amis": [{"region": region, "image": ami, "name": "tracked 2024", "accountId": "123456789012"}]},
    }


def sns_event(*messages):
    return {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": m if isinstance(m, str) else json.dumps(m)}} for m in messages]}


class TrackerTest(unittest.TestCase):
    def setUp(self):
        os.environ["PARAMETER_NAME"] = "/ec2-imagebuilder/latest"
        os.environ["AWS_REGION"] = "us-east-1"
        self.calls = []
        self.tracker = load("lambda", self.calls)

    def test_available_image_updates_the_parameter_and_tags_the_parameter(self):
        result = self.tracker.handler(sns_event(image_message()), None)
        self.assertEqual(result, {"tracked": ["ami-0123456789abcdef0"]})
        self.assertEqual(self.calls[0], ("ssm", "put_parameter", {
            "Name": "/ec2-imagebuilder/latest", "Value": "ami-0123456789abcdef0", "Type": "String", "Overwrite": True}))
        service, op, args = self.calls[1]
        self.assertEqual(
            (service, op, args["ResourceType"], args["ResourceId"]),
            ("ssm", "add_tags_to_resource", "Parameter", "/ec2-imagebuilder/latest"),
        )
        tags = {t["Key"]: t["Value"] for t in args["Tags"]}
        self.assertEqual(tags["cairn:image-arn"], "arn:aws:imagebuilder:us-east-1:123456789012:image/tracked/1.0.0/3")
        self.assertEqual(tags["cairn:pipeline-arn"], "arn:aws:imagebuilder:us-east-1:123456789012:image-pipeline/tracked")
        self.assertEqual(tags["cairn:ssm-parameter"], "/ec2-imagebuilder/latest")

    def test_failed_builds_other_regions_and_junk_are_skipped(self):
        result = self.tracker.handler(sns_event(
            image_message(status="FAILED"),
            image_message(region="eu-west-1"),
            image_message(ami="not-an-ami"),
            "not json",
            {"hello": "world"},
            [1, 2],
        ), None)
        self.assertEqual(result, {"tracked": []})
        self.assertEqual(self.calls, [])

    def test_the_last_available_image_of_a_batch_wins(self):
        result = self.tracker.handler(sns_event(image_message(ami="ami-11111111"), image_message(ami="ami-22222222")), None)
        self.assertEqual(result["tracked"], ["ami-11111111", "ami-22222222"])
        puts = [c[2]["Value"] for c in self.calls if c[1] == "put_parameter"]
        self.assertEqual(puts, ["ami-11111111", "ami-22222222"])


class EventsTest(unittest.TestCase):
    def setUp(self):
        self.events = load("events", [])

    def test_valid_events_pass_and_invalid_ones_are_batch_item_failures(self):
        records = [
            {"messageId": "a", "body": json.dumps({"type": "order.created", "id": 1}), "attributes": {"SentTimestamp": "1"}},
            {"messageId": "b", "body": "not json"},
            {"messageId": "c", "body": json.dumps({"id": 2})},
            {"messageId": "d", "body": json.dumps(["type"])},
        ]
        with self.assertLogs(level="INFO") as logs:
            result = self.events.handler({"Records": records}, None)
        self.assertEqual(result, {"batchItemFailures": [{"itemIdentifier": i} for i in "bcd"]})
        self.assertTrue(any('"type": "order.created"' in line for line in logs.output))


if __name__ == "__main__":
    unittest.main()
