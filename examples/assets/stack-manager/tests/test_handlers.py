"""Tests of the stack-manager Lambda handlers, with boto3 replaced by in-memory fakes.

The messages are those of aem-stack-manager-messenger (its templates/sns/*.json, with the
Jinja placeholders filled in): `{"externalId", "task", "stack_prefix", "details":
{"component": [...], "comment", "parameters": {...}}}`. The messenger then polls the task
table for the item whose `externalId` is the one it sent until `state` is Success or
Failed.

Run: python3 -m unittest discover -s examples/assets/stack-manager/tests
(synth-tests/tests/stack_manager.rs runs it too, with TASK_PARAMETERS_FILE pointing at the
document parameters the synthesized template gives the function).
"""

import copy
import importlib.util
import json
import os
import re
import sys
import types
import unittest

# No __pycache__ next to the handlers: those directories are the Lambda code assets.
sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
LAMBDA = os.path.join(HERE, "..", "lambda")


class ClientError(Exception):
    def __init__(self, code, operation="Operation"):
        super().__init__(f"An error occurred ({code}) when calling the {operation} operation")
        self.response = {"Error": {"Code": code, "Message": code}}


class FakeTable:
    """A DynamoDB table keyed by message_id, with global secondary indexes by attribute."""

    def __init__(self, indexes):
        self.items = {}
        self.indexes = indexes  # index name -> attribute

    def put_item(self, Item, ConditionExpression=None):
        if ConditionExpression == "attribute_not_exists(message_id)" and Item["message_id"] in self.items:
            raise ClientError("ConditionalCheckFailedException", "PutItem")
        self.items[Item["message_id"]] = copy.deepcopy(Item)

    def update_item(self, Key, UpdateExpression, ExpressionAttributeNames, ExpressionAttributeValues, **_):
        item = self.items.setdefault(Key["message_id"], dict(Key))
        assert UpdateExpression.startswith("SET "), UpdateExpression
        for assignment in UpdateExpression[4:].split(","):
            name, value = (part.strip() for part in assignment.split("="))
            item[ExpressionAttributeNames.get(name, name)] = copy.deepcopy(ExpressionAttributeValues[value])

    def get_item(self, Key, ConsistentRead=False):
        item = self.items.get(Key["message_id"])
        return {"Item": copy.deepcopy(item)} if item is not None else {}

    def query(self, IndexName, KeyConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues, **_):
        attribute = self.indexes[IndexName]
        name, value = (part.strip() for part in KeyConditionExpression.split("="))
        assert ExpressionAttributeNames[name] == attribute, (IndexName, ExpressionAttributeNames)
        wanted = ExpressionAttributeValues[value]
        items = [copy.deepcopy(i) for i in self.items.values() if i.get(attribute) == wanted]
        return {"Items": items, "Count": len(items)}


class FakeEc2:
    def __init__(self, instances):
        self.instances = instances  # (id, {tag: value}, state)

    def get_paginator(self, operation):
        assert operation == "describe_instances"
        ec2 = self

        class Paginator:
            def paginate(self, Filters):
                def matches(instance):
                    _, tags, state = instance
                    for f in Filters:
                        if f["Name"] == "instance-state-name":
                            if state not in f["Values"]:
                                return False
                        elif f["Name"].startswith("tag:"):
                            if tags.get(f["Name"][4:]) not in f["Values"]:
                                return False
                        else:
                            raise AssertionError(f"unexpected filter {f}")
                    return True

                found = [{"InstanceId": i[0]} for i in ec2.instances if matches(i)]
                return [{"Reservations": [{"Instances": found}]}]

        return Paginator()


class FakeSsm:
    def __init__(self):
        self.sent = []
        self.statuses = {}

    def send_command(self, **kwargs):
        self.sent.append(kwargs)
        command_id = f"cmd-{len(self.sent)}"
        self.statuses[command_id] = "InProgress"
        return {"Command": {"CommandId": command_id}}

    def list_commands(self, CommandId):
        status = self.statuses.get(CommandId)
        return {"Commands": [{"CommandId": CommandId, "Status": status}] if status else []}


class FakeSfn:
    def __init__(self):
        self.started = []

    def start_execution(self, **kwargs):
        self.started.append(kwargs)
        return {"executionArn": f"arn:aws:states:ap-southeast-2:123456789012:execution:m:{kwargs['name']}"}


INSTANCES = [
    ("i-author1", {"StackPrefix": "aem-prod", "Component": "author-primary"}, "running"),
    ("i-author2", {"StackPrefix": "aem-prod", "Component": "author-standby"}, "running"),
    ("i-publish1", {"StackPrefix": "aem-prod", "Component": "publish"}, "running"),
    ("i-publish2", {"StackPrefix": "aem-prod", "Component": "publish"}, "stopped"),
    ("i-adisp1", {"StackPrefix": "aem-prod", "Component": "author-dispatcher"}, "running"),
    ("i-pdisp1", {"StackPrefix": "aem-prod", "Component": "publish-dispatcher"}, "running"),
    ("i-other", {"StackPrefix": "aem-test", "Component": "publish"}, "running"),
]

# The indexes of the task table (see examples/src/stack_manager.rs).
INDEXES = {"externalId": "externalId", "command_id": "command_id"}


def document_parameters():
    """task -> {parameter: required}: from the synthesized template when the Rust test
    passes it, else the parameters the documents declared when these tests were written."""
    path = os.environ.get("TASK_PARAMETERS_FILE")
    if path:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return {
        "promote-author": {},
        "deploy-artifact": {"source": True, "group": True, "name": True, "version": True,
                            "replicate": False, "activate": False, "force": False},
        "deploy-artifacts": {"descriptorFile": True},
        "export-package": {"packageGroup": True, "packageName": True, "packageFilter": True, "backupBucket": True},
        "import-package": {"sourceStackPrefix": True, "packageGroup": True, "packageName": True,
                           "packageDatestamp": True, "backupBucket": True},
        "offline-snapshot": {},
        "offline-compaction-snapshot": {},
        "manage-service": {"action": True},
        "enable-crxde": {"enable": False},
        "disable-crxde": {},
        "run-adhoc-puppet": {"adhocPuppetFile": True, "noop": False},
        "live-snapshot": {},
        "flush-dispatcher-cache": {"path": False},
    }


def load(module_name, table, ec2=None, ssm=None, sfn=None, env=None):
    """Imports a handler module with boto3/botocore replaced by the fakes."""
    clients = {"ec2": ec2 or FakeEc2([]), "ssm": ssm or FakeSsm(), "stepfunctions": sfn or FakeSfn()}
    boto3 = types.ModuleType("boto3")
    boto3.client = lambda service: clients[service]
    boto3.resource = lambda service: types.SimpleNamespace(Table=lambda name: table)
    botocore = types.ModuleType("botocore")
    exceptions = types.ModuleType("botocore.exceptions")
    exceptions.ClientError = ClientError
    botocore.exceptions = exceptions
    sys.modules.update({"boto3": boto3, "botocore": botocore, "botocore.exceptions": exceptions})
    parameters = document_parameters()
    os.environ.update({
        "TABLE_NAME": "tasks",
        "TASK_DOCUMENTS": json.dumps({task: f"AemSsmCommands-{task}" for task in parameters}),
        "TASK_PARAMETERS": json.dumps(parameters),
        "PARAMETER_DEFAULTS": json.dumps({"backupBucket": ""}),
        "STATE_MACHINES": json.dumps({
            "offline-snapshot-full-set": "arn:aws:states:ap-southeast-2:123456789012:stateMachine:snap",
            "offline-compaction-snapshot-full-set": "arn:aws:states:ap-southeast-2:123456789012:stateMachine:compact",
        }),
        **(env or {}),
    })
    spec = importlib.util.spec_from_file_location(module_name, os.path.join(LAMBDA, module_name, f"{module_name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sns_event(message, message_id="msg-1"):
    body = message if isinstance(message, str) else json.dumps(message)
    return {"Records": [{"EventSource": "aws:sns", "Sns": {
        "MessageId": message_id, "Message": body,
        "TopicArn": "arn:aws:sns:ap-southeast-2:123456789012:AemStackManagerv1"}}]}


# The messenger's templates/sns/*.json, filled in.
def messenger(task, components, parameters, external_id="ext-1", comment="from the messenger"):
    return {
        "externalId": external_id,
        "task": task,
        "stack_prefix": "aem-prod",
        "details": {"component": components, "comment": comment, "parameters": parameters},
    }


DEPLOY_ARTIFACTS_FULL_SET = messenger(
    "deploy-artifacts",
    ["author-primary", "author-standby", "publish", "author-dispatcher", "publish-dispatcher"],
    {"executionTimeout": ["14400"], "descriptorFile": ["s3://aem-artifacts/aem-prod/descriptor.json"]},
)
DEPLOY_ARTIFACT = messenger(
    "deploy-artifact",
    ["author-primary"],
    {"executionTimeout": ["7200"], "source": ["s3://aem-artifacts/site-1.0.0.zip"], "group": ["shinesolutions"],
     "name": ["site"], "version": ["1.0.0"], "replicate": ["false"], "activate": ["false"], "force": ["true"],
     "aemId": ["author"]},
)
DISABLE_CRXDE = messenger("disable-crxde", ["author-primary"], {"executionTimeout": ["3600"]})
ENABLE_CRXDE = messenger("enable-crxde", ["publish"], {"executionTimeout": ["3600"]})
FLUSH_DISPATCHER_CACHE = messenger("flush-dispatcher-cache", ["publish-dispatcher"], {"executionTimeout": ["3600"]})
LIVE_SNAPSHOT = messenger("live-snapshot", ["author-primary"], {"executionTimeout": ["14400"]})
PROMOTE_AUTHOR = messenger("promote-author", ["author-standby"], {"executionTimeout": ["3600"]})
RUN_ADHOC_PUPPET = {  # templates/sns/run_adhoc_puppet.json: no externalId
    "task": "run-adhoc-puppet",
    "stack_prefix": "aem-prod",
    "details": {"component": ["publish"], "comment": "Run adhoc puppet code on selected instances",
                "parameters": {"adhocPuppetFile": ["s3://aem-artifacts/puppet/adhoc.tar.gz"]}},
}
OFFLINE_SNAPSHOT_FULL_SET = {"task": "offline-snapshot-full-set", "stack_prefix": "aem-prod"}


def command_status_event(command_id, status):
    # "EC2 Command Status-change Notification", as EventBridge delivers it.
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Command Status-change Notification",
        "source": "aws.ssm",
        "account": "123456789012",
        "time": "2026-12-02T05:00:00Z",
        "region": "ap-southeast-2",
        "resources": [],
        "detail": {
            "command-id": command_id,
            "document-name": "AemSsmCommands-deploy-artifacts",
            "expire-after": "2026-12-02T07:00:00.000Z",
            "parameters": {},
            "requested-date-time": "2026-12-02T05:00:00.000Z",
            "status": status,
        },
    }


class StackManagerTest(unittest.TestCase):
    def setUp(self):
        self.table = FakeTable(INDEXES)
        self.ssm = FakeSsm()
        self.sfn = FakeSfn()
        self.manager = load("stack_manager", self.table, FakeEc2(INSTANCES), self.ssm, self.sfn)

    def item(self, message_id="msg-1"):
        return self.table.items[message_id]

    def test_a_messenger_message_runs_its_document_on_its_components(self):
        [result] = self.manager.handler(sns_event(DEPLOY_ARTIFACTS_FULL_SET), None)
        self.assertEqual(result["state"], "InProgress", result)
        [sent] = self.ssm.sent
        self.assertEqual(sent["DocumentName"], "AemSsmCommands-deploy-artifacts")
        self.assertEqual(sent["InstanceIds"], ["i-adisp1", "i-author1", "i-author2", "i-pdisp1", "i-publish1"])
        # The document's parameters only: the messenger's executionTimeout is not one.
        self.assertEqual(sent["Parameters"], {"descriptorFile": ["s3://aem-artifacts/aem-prod/descriptor.json"]})
        self.assertIn("from the messenger", sent["Comment"])
        item = self.item()
        self.assertEqual(item["externalId"], "ext-1")
        self.assertEqual(item["state"], "InProgress")
        self.assertEqual(item["command_id"], "cmd-1")
        self.assertEqual(item["component"], "author-primary,author-standby,publish,author-dispatcher,publish-dispatcher")
        self.assertEqual(item["ignored_parameters"], ["executionTimeout"])

    def test_every_messenger_task_is_known_and_its_message_is_accepted(self):
        messages = [DEPLOY_ARTIFACTS_FULL_SET, DEPLOY_ARTIFACT, DISABLE_CRXDE, ENABLE_CRXDE,
                    FLUSH_DISPATCHER_CACHE, LIVE_SNAPSHOT, PROMOTE_AUTHOR, RUN_ADHOC_PUPPET]
        for n, message in enumerate(messages):
            [result] = self.manager.handler(sns_event(message, message_id=f"m{n}"), None)
            self.assertEqual(result["state"], "InProgress", (message["task"], result))
        documents = [s["DocumentName"] for s in self.ssm.sent]
        self.assertIn("AemSsmCommands-deploy-artifact", documents)
        self.assertIn("AemSsmCommands-disable-crxde", documents)
        deploy = self.ssm.sent[1]
        self.assertEqual(deploy["Parameters"]["version"], ["1.0.0"])
        self.assertNotIn("aemId", deploy["Parameters"])
        # an ordered offline task
        [result] = self.manager.handler(sns_event(OFFLINE_SNAPSHOT_FULL_SET, message_id="m-offline"), None)
        self.assertEqual(result["state"], "InProgress", result)
        self.assertEqual(json.loads(self.sfn.started[0]["input"])["stack_prefix"], "aem-prod")

    def test_a_missing_required_parameter_fails_the_task_without_sending(self):
        message = messenger("export-package", ["author-primary"], {
            "packageGroup": ["shinesolutions"], "packageName": ["content"], "packageFilter": ["[]"]})
        [result] = self.manager.handler(sns_event(message), None)
        self.assertEqual(result["state"], "Failed")
        self.assertIn("backupBucket", self.item()["reason"])
        self.assertEqual(self.ssm.sent, [])

    def test_the_stacks_package_bucket_completes_the_messengers_export_and_import(self):
        manager = load("stack_manager", self.table, FakeEc2(INSTANCES), self.ssm, self.sfn,
                       env={"PARAMETER_DEFAULTS": json.dumps({"backupBucket": "aem-packages"})})
        export = messenger("export-package", ["author-primary"], {
            "executionTimeout": ["7200"], "packageGroup": ["shinesolutions"], "packageName": ["content"],
            "packageFilter": ['[{"root":"/content/site","rules":[]}]'], "aemId": ["author"]})
        imported = messenger("import-package", ["publish"], {
            "sourceStackPrefix": ["aem-stage"], "packageGroup": ["shinesolutions"], "packageName": ["content"],
            "packageDatestamp": ["20261201"], "aemId": ["publish"], "executionTimeout": ["14400"]},
            external_id="ext-2")
        for n, message in enumerate([export, imported]):
            [result] = manager.handler(sns_event(message, message_id=f"m{n}"), None)
            self.assertEqual(result["state"], "InProgress", result)
            self.assertEqual(self.ssm.sent[n]["Parameters"]["backupBucket"], ["aem-packages"])
            self.assertNotIn("aemId", self.ssm.sent[n]["Parameters"])
        # A message's own value wins.
        own = messenger("export-package", ["author-primary"], {
            "packageGroup": ["g"], "packageName": ["n"], "packageFilter": ["[]"], "backupBucket": ["mine"]},
            external_id="ext-3")
        manager.handler(sns_event(own, message_id="m-own"), None)
        self.assertEqual(self.ssm.sent[-1]["Parameters"]["backupBucket"], ["mine"])

    def test_a_rejected_message_is_a_final_state_the_messenger_sees(self):
        message = messenger("no-such-task", ["publish"], {})
        [result] = self.manager.handler(sns_event(message), None)
        # The messenger polls until Success or Failed.
        self.assertEqual(self.item()["state"], "Failed")
        self.assertEqual(self.item()["externalId"], "ext-1")
        self.assertIn("unknown task", self.item()["reason"])
        self.assertEqual(result["state"], "Failed")

    def test_the_command_status_notification_reaches_the_task_table(self):
        self.manager.handler(sns_event(DEPLOY_ARTIFACTS_FULL_SET), None)
        self.assertEqual(self.item()["state"], "InProgress")
        # Still running: no final state.
        self.manager.command_status_handler(command_status_event("cmd-1", "InProgress"), None)
        self.assertEqual(self.item()["state"], "InProgress")
        self.manager.command_status_handler(command_status_event("cmd-1", "Success"), None)
        self.assertEqual(self.item()["state"], "Success")
        self.assertEqual(self.item()["command_status"], "Success")

    def test_a_failed_or_timed_out_command_fails_the_task(self):
        for n, status in enumerate(["Failed", "TimedOut", "Cancelled", "DeliveryTimedOut", "Undeliverable",
                                    "Incomplete", "AccessDenied"]):
            message_id = f"msg-{status}"
            message = dict(DEPLOY_ARTIFACTS_FULL_SET, externalId=f"ext-{n}")
            self.manager.handler(sns_event(message, message_id=message_id), None)
            command_id = self.item(message_id)["command_id"]
            self.manager.command_status_handler(command_status_event(command_id, status), None)
            self.assertEqual(self.item(message_id)["state"], "Failed", status)
            self.assertEqual(self.item(message_id)["command_status"], status)

    def test_a_status_of_a_command_of_no_task_is_ignored(self):
        result = self.manager.command_status_handler(command_status_event("cmd-unknown", "Success"), None)
        self.assertEqual(result, {"command_id": "cmd-unknown", "updated": []})
        self.assertEqual(self.table.items, {})


class TaskQueryTest(unittest.TestCase):
    def setUp(self):
        self.table = FakeTable(INDEXES)
        self.ssm = FakeSsm()
        self.manager = load("stack_manager", self.table, FakeEc2(INSTANCES), self.ssm, FakeSfn())
        self.query = load("task_query", self.table, ssm=self.ssm)

    def test_the_caller_finds_its_task_by_the_identifier_it_passed_in(self):
        self.manager.handler(sns_event(DEPLOY_ARTIFACTS_FULL_SET, message_id="msg-9"), None)
        self.manager.command_status_handler(command_status_event("cmd-1", "Success"), None)
        for event in ({"externalId": "ext-1"}, {"external_id": "ext-1"}):
            result = self.query.handler(event, None)
            self.assertEqual(result["message_id"], "msg-9", event)
            self.assertEqual(result["externalId"], "ext-1")
            self.assertEqual(result["state"], "Success")
        # by message id, as before
        self.assertEqual(self.query.handler({"message_id": "msg-9"}, None)["state"], "Success")
        self.assertEqual(self.query.handler({"externalId": "nobody"}, None)["state"], "NotFound")


if __name__ == "__main__":
    unittest.main()
