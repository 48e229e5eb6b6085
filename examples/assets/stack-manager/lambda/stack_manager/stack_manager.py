"""AEM Stack Manager: runs the task of an SNS message on the AEM instances it targets.

The SNS message body is JSON, as aem-stack-manager-messenger sends it:

    {"externalId": "7d3c...", "task": "deploy-artifacts", "stack_prefix": "aem-prod",
     "details": {"component": ["author-primary", "publish"],
                 "comment": "deploying artifacts based on a descriptor file",
                 "parameters": {"descriptorFile": ["s3://aem-artifacts/aem-prod/descriptor.json"],
                                "executionTimeout": ["14400"]}}}

- Tasks in TASK_DOCUMENTS (task -> SSM Command document name) run the document with
  SSM Run Command on the running instances tagged StackPrefix=<stack_prefix> and
  Component=<one of the components>. `details.parameters` become the document's
  parameters: those the document declares (TASK_PARAMETERS: task -> {name: required});
  the others (the messenger's executionTimeout, aemId) are recorded as
  `ignored_parameters`; a declared parameter the message lacks takes its value from
  PARAMETER_DEFAULTS (the stack's settings: backupBucket), and a required parameter
  still missing fails the task.
- Tasks in STATE_MACHINES (task -> state machine ARN) are the ordered offline tasks
  (offline-snapshot-full-set, offline-compaction-snapshot-full-set): they start a
  Step Functions execution named after the SNS message id, which records its own
  outcome in the table.

Every message is recorded in the DynamoDB table TABLE_NAME under its SNS message id
(`message_id`, with the caller's `externalId`, `command_id` or `execution_arn`, `state`
and an expiry `ttl`). The first write is conditional, so a message SNS delivers twice
runs once. `state` ends as Success or Failed (what the messenger polls for): a message
that cannot run fails at once; a command's final status arrives with Run Command's
status-change event (`command_status_handler`, an EventBridge target), found through
the table's index COMMAND_ID_INDEX.
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
# task -> {parameter: required}; a task missing here passes every parameter through.
TASK_PARAMETERS = json.loads(os.environ.get("TASK_PARAMETERS", "{}"))
# Values of document parameters a message does not pass (the stack's settings, such as
# the package bucket the messenger never names); empty values are no default.
PARAMETER_DEFAULTS = {k: v for k, v in json.loads(os.environ.get("PARAMETER_DEFAULTS", "{}")).items() if v}
COMMAND_ID_INDEX = os.environ.get("COMMAND_ID_INDEX", "command_id")
STATE_MACHINES = json.loads(os.environ.get("STATE_MACHINES", "{}"))
TASK_TTL_DAYS = int(os.environ.get("TASK_TTL_DAYS", "7"))
COMMAND_TIMEOUT_SECONDS = int(os.environ.get("COMMAND_TIMEOUT_SECONDS", "3600"))

# SendCommand takes at most 50 instance ids per call.
MAX_INSTANCES_PER_COMMAND = 50

# Run Command's command statuses that still change; any other status is final: Success
# ends the task Success, the others (Failed, Cancelled, TimedOut, DeliveryTimedOut,
# Undeliverable, Incomplete, AccessDenied ...) end it Failed.
RUNNING_COMMAND_STATUSES = {"Pending", "InProgress", "Delayed", "Cancelling"}
FINAL_TASK_STATES = {"Success", "Failed"}

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


def external_id_of(body):
    """The caller's identifier, when the body is a JSON object that has one."""
    try:
        message = json.loads(body)
    except (TypeError, ValueError):
        return None
    value = message.get("externalId") if isinstance(message, dict) else None
    return value if isinstance(value, str) and value else None


def process(message_id, body, topic_arn):
    """Records the message, then runs its task; returns what was recorded."""
    try:
        message = parse_message(body)
    except TaskError as error:
        LOG.error("message %s rejected: %s", message_id, error)
        # Failed, a final state: the messenger polls until Success or Failed.
        rejected = {"state": "Failed", "rejected": True, "reason": str(error), "topic_arn": topic_arn}
        external_id = external_id_of(body)
        if external_id:
            rejected["externalId"] = external_id
        record_new(message_id, rejected)
        return {"message_id": message_id, "state": "Failed", "reason": str(error)}

    task = message["task"]
    received = {
        "task": task,
        "stack_prefix": message["stack_prefix"],
        "component": ",".join(message["components"]),
        "state": "Received",
        "topic_arn": topic_arn,
    }
    if message.get("externalId"):
        received["externalId"] = message["externalId"]
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
    """The message as a dict, checked: task and stack_prefix always, components for
    commands. Adds `components` (a list), `parameters` (a dict) and `comment`."""
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
    external_id = message.get("externalId")
    if external_id is not None and (not isinstance(external_id, str) or not external_id):
        raise TaskError("'externalId' must be a non-empty string")
    details = message.get("details") or {}
    if not isinstance(details, dict):
        raise TaskError("'details' must be a JSON object: {component, comment, parameters}")
    components = details.get("component", [])
    if isinstance(components, str):
        components = [components]
    if not isinstance(components, list) or not all(isinstance(c, str) and c for c in components):
        raise TaskError("'details.component' must be a list of component names")
    if task in TASK_DOCUMENTS and not components:
        raise TaskError(f"task '{task}' needs 'details.component' (e.g. [\"author-primary\", \"publish-dispatcher\"])")
    parameters = details.get("parameters", {})
    if not isinstance(parameters, dict):
        raise TaskError("'details.parameters' must be a JSON object of document parameters")
    comment = details.get("comment", "")
    return {
        **message,
        "components": components,
        "parameters": parameters,
        "comment": comment if isinstance(comment, str) else "",
    }


def find_instances(stack_prefix, components):
    """Ids of the running instances tagged with the stack prefix and one of the components."""
    filters = [
        {"Name": "tag:StackPrefix", "Values": [stack_prefix]},
        {"Name": "tag:Component", "Values": list(components)},
        {"Name": "instance-state-name", "Values": ["running"]},
    ]
    ids = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page["Reservations"]:
            ids.extend(instance["InstanceId"] for instance in reservation["Instances"])
    return sorted(ids)


def document_parameters(task, given):
    """The parameters to send (SSM parameters are lists of strings: scalars become one
    string, objects JSON) and the names the task's document does not declare."""
    declared = TASK_PARAMETERS.get(task)
    parameters, ignored = {}, []
    for name, value in given.items():
        if declared is not None and name not in declared:
            ignored.append(name)
            continue
        values = value if isinstance(value, list) else [value]
        parameters[name] = [v if isinstance(v, str) else json.dumps(v, sort_keys=True) for v in values]
    for name in declared or {}:
        if name not in parameters and name in PARAMETER_DEFAULTS:
            parameters[name] = [PARAMETER_DEFAULTS[name]]
    missing = [name for name, required in (declared or {}).items() if required and name not in parameters]
    if missing:
        raise TaskError(f"task '{task}' needs the parameter(s) {', '.join(missing)} in 'details.parameters'")
    return parameters, sorted(ignored)


def run_command(message_id, message):
    """Sends the task's document to the targeted instances."""
    task = message["task"]
    parameters, ignored = document_parameters(task, message["parameters"])
    components = message["components"]
    instance_ids = find_instances(message["stack_prefix"], components)
    if not instance_ids:
        raise TaskError(
            f"no running instance is tagged StackPrefix={message['stack_prefix']} "
            f"and Component={' or '.join(components)}"
        )
    if len(instance_ids) > MAX_INSTANCES_PER_COMMAND:
        raise TaskError(f"{len(instance_ids)} instances match; one command reaches at most {MAX_INSTANCES_PER_COMMAND}")
    response = ssm.send_command(
        DocumentName=TASK_DOCUMENTS[task],
        InstanceIds=instance_ids,
        Parameters=parameters,
        Comment=" ".join(part for part in (task, message_id, message["comment"]) if part)[:100],
        TimeoutSeconds=COMMAND_TIMEOUT_SECONDS,
    )
    command_id = response["Command"]["CommandId"]
    LOG.info("task %s: command %s on %s", task, command_id, ", ".join(instance_ids))
    outcome = {"state": "InProgress", "command_id": command_id, "instance_ids": instance_ids}
    if ignored:
        LOG.info("task %s: parameters its document does not declare, not sent: %s", task, ", ".join(ignored))
        outcome["ignored_parameters"] = ignored
    return outcome


def start_execution(message_id, message):
    """Starts the task's state machine; the execution name is the message id (idempotent)."""
    task = message["task"]
    execution_input = {
        "message_id": message_id,
        "task": task,
        "stack_prefix": message["stack_prefix"],
        "details": message.get("details") or {},
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


def command_status_handler(event, context):
    """EventBridge target: Run Command's "EC2 Command Status-change Notification" of a
    command. Sets `command_status`, and `state` (Success or Failed) when the status is
    final, on the tasks that sent the command; a later non-final event does not undo a
    final state."""
    detail = event.get("detail") or {}
    command_id, status = detail.get("command-id"), detail.get("status")
    if not isinstance(command_id, str) or not isinstance(status, str):
        LOG.warning("not a command status-change event: %s", json.dumps(event)[:500])
        return {"command_id": command_id, "updated": []}
    response = table.query(
        IndexName=COMMAND_ID_INDEX,
        KeyConditionExpression="#c = :c",
        ExpressionAttributeNames={"#c": "command_id"},
        ExpressionAttributeValues={":c": command_id},
    )
    final = status not in RUNNING_COMMAND_STATUSES
    updated = []
    for item in response.get("Items", []):
        if item.get("state") in FINAL_TASK_STATES and not final:
            continue
        attributes = {"command_status": status}
        if final:
            attributes["state"] = "Success" if status == "Success" else "Failed"
        update(item["message_id"], attributes)
        updated.append(item["message_id"])
    if not updated:
        LOG.info("command %s (%s) belongs to no task", command_id, status)
    return {"command_id": command_id, "updated": updated}
