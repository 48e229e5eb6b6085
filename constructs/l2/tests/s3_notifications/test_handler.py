"""cairn's Custom::S3BucketNotifications handler (constructs/l2/src/s3/notifications_handler.py)
against a fake S3 client and a recorded ResponseURL, so it runs without AWS, moto or boto3."""

import json
import os
import sys
import types
import unittest

SOURCE = os.environ.get(
    "CAIRN_S3_NOTIFICATIONS_HANDLER",
    os.path.join(os.path.dirname(__file__), "..", "..", "src", "s3", "notifications_handler.py"),
)


class NoSuchBucket(Exception):
    pass


class FakeS3:
    """One bucket's notification configuration, as S3 keeps it (entries get an Id, filter
    rule names come back capitalized)."""

    def __init__(self, config=None, exists=True):
        self.config = config or {}
        self.exists = exists
        self.puts = []
        self.exceptions = types.SimpleNamespace(NoSuchBucket=NoSuchBucket)

    def get_bucket_notification_configuration(self, Bucket):
        if not self.exists:
            raise NoSuchBucket(Bucket)
        return dict(json.loads(json.dumps(self.config)), ResponseMetadata={"HTTPStatusCode": 200})

    def put_bucket_notification_configuration(self, **kwargs):
        self.puts.append(kwargs)
        stored = json.loads(json.dumps(kwargs["NotificationConfiguration"]))
        for kind, items in stored.items():
            if isinstance(items, list):
                for i, c in enumerate(items):
                    c.setdefault("Id", f"gen-{i}")
                    for r in (c.get("Filter") or {}).get("Key", {}).get("FilterRules", []):
                        r["Name"] = r["Name"].capitalize()
        self.config = stored


def load(s3):
    boto3 = types.ModuleType("boto3")
    boto3.client = lambda service, **kwargs: s3
    sys.modules["boto3"] = boto3
    module = types.ModuleType("notifications_handler")
    with open(SOURCE) as f:
        exec(compile(f.read(), SOURCE, "exec"), module.__dict__)
    answers = []

    class Response:
        status = 200

        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

    def urlopen(request, timeout=None):
        answers.append(json.loads(request.data))
        return Response()

    module.urllib = types.SimpleNamespace(
        request=types.SimpleNamespace(Request=module.urllib.request.Request, urlopen=urlopen)
    )
    return module, answers


LAMBDA = {"Events": ["s3:ObjectCreated:*"], "LambdaFunctionArn": "arn:aws:lambda:eu-west-1:1:function:f",
          "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".csv"}]}}}
QUEUE = {"Events": ["s3:ObjectRemoved:*"], "QueueArn": "arn:aws:sqs:eu-west-1:1:q"}
EXTERNAL = {"Id": "by-hand", "Events": ["s3:ObjectCreated:Put"], "TopicArn": "arn:aws:sns:eu-west-1:1:t",
            "Filter": {"Key": {"FilterRules": [{"Name": "Prefix", "Value": "x/"}]}}}


def event(request, config, old=None, physical=None, bucket="b", old_bucket=None):
    e = {"RequestType": request, "ResponseURL": "https://cfn/response", "StackId": "stack", "RequestId": "r1",
         "LogicalResourceId": "UploadsNotifications", "ResourceType": "Custom::S3BucketNotifications",
         "ResourceProperties": {"ServiceToken": "arn", "BucketName": bucket, "NotificationConfiguration": config,
                                "Managed": "true", "SkipDestinationValidation": "false"}}
    if physical:
        e["PhysicalResourceId"] = physical
    if old is not None:
        e["OldResourceProperties"] = dict(e["ResourceProperties"], NotificationConfiguration=old,
                                          BucketName=old_bucket or bucket)
    return e


class Handler(unittest.TestCase):
    def test_create_keeps_what_the_bucket_has(self):
        s3 = FakeS3({"TopicConfigurations": [EXTERNAL]})
        handler, answers = load(s3)
        handler.handler(event("Create", {"LambdaFunctionConfigurations": [LAMBDA], "EventBridgeConfiguration": {}}),
                        None)
        put = s3.puts[-1]
        self.assertEqual(put["Bucket"], "b")
        self.assertIs(put["SkipDestinationValidation"], False)
        self.assertEqual(put["NotificationConfiguration"]["TopicConfigurations"], [EXTERNAL])
        self.assertEqual(put["NotificationConfiguration"]["LambdaFunctionConfigurations"], [LAMBDA])
        self.assertEqual(put["NotificationConfiguration"]["EventBridgeConfiguration"], {})
        self.assertEqual(answers[-1]["Status"], "SUCCESS")
        self.assertEqual(answers[-1]["PhysicalResourceId"], "UploadsNotifications")

    def test_update_replaces_its_own_entries_only(self):
        s3 = FakeS3()
        handler, _ = load(s3)
        handler.handler(event("Create", {"LambdaFunctionConfigurations": [LAMBDA]}), None)
        s3.config.setdefault("TopicConfigurations", []).append(EXTERNAL)
        handler.handler(event("Update", {"QueueConfigurations": [QUEUE]}, old={"LambdaFunctionConfigurations": [LAMBDA]},
                              physical="UploadsNotifications"), None)
        config = s3.puts[-1]["NotificationConfiguration"]
        self.assertNotIn("LambdaFunctionConfigurations", config)
        self.assertEqual(config["QueueConfigurations"], [QUEUE])
        self.assertEqual(config["TopicConfigurations"], [EXTERNAL])

    def test_an_unchanged_update_does_not_repeat_entries(self):
        s3 = FakeS3()
        handler, answers = load(s3)
        mine = {"LambdaFunctionConfigurations": [LAMBDA]}
        handler.handler(event("Create", mine), None)
        handler.handler(event("Update", mine, old=mine, physical="UploadsNotifications"), None)
        self.assertEqual(len(s3.config["LambdaFunctionConfigurations"]), 1)
        self.assertEqual(answers[-1]["PhysicalResourceId"], "UploadsNotifications")

    def test_delete_takes_off_only_its_own(self):
        s3 = FakeS3()
        handler, answers = load(s3)
        mine = {"LambdaFunctionConfigurations": [LAMBDA], "EventBridgeConfiguration": {}}
        handler.handler(event("Create", mine), None)
        s3.config.setdefault("TopicConfigurations", []).append(EXTERNAL)
        handler.handler(event("Delete", mine, physical="UploadsNotifications"), None)
        self.assertEqual(s3.puts[-1]["NotificationConfiguration"], {"TopicConfigurations": [EXTERNAL]})
        self.assertNotIn("SkipDestinationValidation", s3.puts[-1])
        self.assertEqual(answers[-1]["Status"], "SUCCESS")

    def test_delete_of_a_gone_bucket_succeeds(self):
        s3 = FakeS3(exists=False)
        handler, answers = load(s3)
        handler.handler(event("Delete", {"QueueConfigurations": [QUEUE]}, physical="UploadsNotifications"), None)
        self.assertEqual(s3.puts, [])
        self.assertEqual(answers[-1]["Status"], "SUCCESS")

    def test_another_bucket_gets_a_new_physical_id(self):
        s3 = FakeS3()
        handler, answers = load(s3)
        mine = {"QueueConfigurations": [QUEUE]}
        handler.handler(event("Update", mine, old=mine, physical="UploadsNotifications", bucket="c", old_bucket="b"),
                        None)
        self.assertEqual(s3.puts[-1]["NotificationConfiguration"], mine)
        self.assertEqual(answers[-1]["PhysicalResourceId"], "UploadsNotifications-c")

    def test_a_failure_is_answered_with_its_reason(self):
        s3 = FakeS3(exists=False)
        handler, answers = load(s3)
        handler.handler(event("Create", {"QueueConfigurations": [QUEUE]}), None)
        self.assertEqual(answers[-1]["Status"], "FAILED")
        self.assertIn("NoSuchBucket", answers[-1]["Reason"])
        self.assertEqual(answers[-1]["RequestId"], "r1")


if __name__ == "__main__":
    unittest.main()
