"""AEM Stack Manager: runs the task of an SNS message on the AEM instances it targets.

The SNS message body is JSON:

    {"task": "deploy-artifacts", "stack_prefix": "aem-prod", "component": "author-primary",
     "details": {"descriptorFile": "s3://aem-artifacts/aem-prod/descriptor.json"}}

- Tasks in TASK_DOCUMENTS (task -> SSM Command document name) run the document with
  SSM Run Command on the running instances tagged StackPrefix=<stack_prefix> and
  Component=<component>; `details` become the document's parameters.
- Tasks in STATE_MACHINES (task -> state machine ARN) are the ordered offline tasks
  (offline-snapshot-full-set, offline-compaction-snapshot-full-set): they start a
  Step Functions execution named after the SNS message id, which records its own
  outcome in the table.

Every message is recorded in the DynamoDB table TABLE_NAME under its SNS message id
(`message_id`, with `command_id` or `execution_arn`, `state` and an expiry `ttl`).
The first write is conditional, so a message SNS delivers twice runs once.
"""

import json
import logging
import os
import time
from datetime import datetime, timezone

import boto3
from botocore.exceptions import ClientError

LOG = logging.getLogger()
LOG.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

TABLE_NAME = os.environ["TABLE_NAME"]
TASK_DOCUMENTS = json.loads(os.environ.get("TASK_DOCUMENTS", "{}"))
STATE_MACHINES = json.loads(os.environ.get("STATE_MACHINES", "{}"))
TASK_TTL_DAYS = int(os.environ.get("TASK_TTL_DAYS", "7"))
COMMAND_TIMEOUT_SECONDS = int(os.environ.get("COMMAND_TIMEOUT_SECONDS", "3600"))

# SendCommand takes at most 50 instance ids per call.
MAX_INSTANCES_PER_COMMAND = 50

ec2 = boto3.client("ec2")
ssm = boto3.client("ssm")
sfn = boto3.client("stepfunctions")
table = boto3.resource("dynamodb").Table(TABLE_NAME)


class TaskError(Exception):
    """A message that cannot be run as it is (unknown task, no instances ...)."""


def handler(event, context):
    """Entry point: one result per SNS record."""
    results = []
    for record in event.get("Records", []):
        sns = record["Sns"]
        results.append(process(sns["MessageId"], sns["Message"], sns.get("TopicArn", "")))
    return results


def process(message_id, body, topic_arn):
    """Records the message, then runs its task; returns what was recorded."""
    try:
        message = parse_message(body)
    except TaskError as error:
        LOG.error("message %s rejected: %s", message_id, error)
        record_new(message_id, {"state": "Rejected", "reason": str(error), "topic_arn": topic_arn})
        return {"message_id": message_id, "state": "Rejected", "reason": str(error)}

    task = message["task"]
    received = {
        "task": task,
        "stack_prefix": message["stack_prefix"],
        "component": message.get("component", ""),
        "state": "Received",
        "topic_arn": topic_arn,
    }
    if not record_new(message_id, received):
        LOG.info("message %s was already processed; ignoring the duplicate delivery", message_id)
        return {"message_id": message_id, "state": "Duplicate"}

    try:
        if task in STATE_MACHINES:
            outcome = start_execution(message_id, message)
        else:
            outcome = run_command(message_id, message)
    except (TaskError, ClientError) as error:
        LOG.error("task %s of message %s failed to start: %s", task, message_id, error)
        outcome = {"state": "Failed", "reason": str(error)}
    update(message_id, outcome)
    return {"message_id": message_id, **outcome}


def parse_message(body):
    """The message as a dict, checked: task and stack_prefix always, component for commands."""
    try:
        message = json.loads(body)
    except json.JSONDecodeError as error:
        raise TaskError(f"the message is not JSON: {error}") from error
    if not isinstance(message, dict):
        raise TaskError("the message must be a JSON object")
    for key in ("task", "stack_prefix"):
        if not isinstance(message.get(key), str) or not message[key]:
            raise TaskError(f"the message has no '{key}'")
    task = message["task"]
    if task not in TASK_DOCUMENTS and task not in STATE_MACHINES:
        known = ", ".join(sorted([*TASK_DOCUMENTS, *STATE_MACHINES]))
        raise TaskError(f"unknown task '{task}'; known tasks: {known}")
    if task in TASK_DOCUMENTS and not message.get("component"):
        raise TaskError(f"task '{task}' needs a 'component' (e.g. author-primary, publish-dispatcher)")
    details = message.get("details", {})
    if not isinstance(details, dict):
        raise TaskError("'details' must be a JSON object of document parameters")
    return message


def find_instances(stack_prefix, component):
    """Ids of the running instances tagged with the stack prefix and the component."""
    filters = [
        {"Name": "tag:StackPrefix", "Values": [stack_prefix]},
        {"Name": "tag:Component", "Values": [component]},
        {"Name": "instance-state-name", "Values": ["running"]},
    ]
    ids = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page["Reservations"]:
            ids.extend(instance["InstanceId"] for instance in reservation["Instances"])
    return sorted(ids)


def document_parameters(details):
    """SSM parameters are lists of strings: scalars become one string, objects JSON."""
    parameters = {}
    for name, value in details.items():
        values = value if isinstance(value, list) else [value]
        parameters[name] = [v if isinstance(v, str) else json.dumps(v, sort_keys=True) for v in values]
    return parameters


def run_command(message_id, message):
    """Sends the task's document to the targeted instances."""
    task = message["task"]
    instance_ids = find_instances(message["stack_prefix"], message["component"])
    if not instance_ids:
        raise TaskError(
            f"no running instance is tagged StackPrefix={message['stack_prefix']} "
            f"and Component={message['component']}"
        )
    if len(instance_ids) > MAX_INSTANCES_PER_COMMAND:
        raise TaskError(f"{len(instance_ids)} instances match; one command reaches at most {MAX_INSTANCES_PER_COMMAND}")
    response = ssm.send_command(
        DocumentName=TASK_DOCUMENTS[task],
        InstanceIds=instance_ids,
        Parameters=document_parameters(message.get("details", {})),
        Comment=f"{task} {message_id}"[:100],
        TimeoutSeconds=COMMAND_TIMEOUT_SECONDS,
    )
    command_id = response["Command"]["CommandId"]
    LOG.info("task %s: command %s on %s", task, command_id, ", ".join(instance_ids))
    return {"state": "InProgress", "command_id": command_id, "instance_ids": instance_ids}


def start_execution(message_id, message):
    """Starts the task's state machine; the execution name is the message id (idempotent)."""
    task = message["task"]
    execution_input = {
        "message_id": message_id,
        "task": task,
        "stack_prefix": message["stack_prefix"],
        "details": message.get("details", {}),
    }
    response = sfn.start_execution(
        stateMachineArn=STATE_MACHINES[task],
        name=message_id,
        input=json.dumps(execution_input, sort_keys=True),
    )
    LOG.info("task %s: execution %s", task, response["executionArn"])
    return {"state": "InProgress", "execution_arn": response["executionArn"]}


def now_iso():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def record_new(message_id, attributes):
    """Writes the message's first record; False when it exists already."""
    item = {
        "message_id": message_id,
        "received_at": now_iso(),
        "ttl": int(time.time()) + TASK_TTL_DAYS * 86400,
        **attributes,
    }
    try:
        table.put_item(Item=item, ConditionExpression="attribute_not_exists(message_id)")
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return False
        raise
    return True


def update(message_id, attributes):
    """Sets attributes of the message's record (and when it was updated)."""
    attributes = {**attributes, "updated_at": now_iso()}
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    values = {f":v{i}": value for i, value in enumerate(attributes.values())}
    expression = "SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes)))
    table.update_item(
        Key={"message_id": message_id},
        UpdateExpression=expression,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )
