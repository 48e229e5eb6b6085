"""AEM task status query: the state of a task sent to the stack manager.

Invoke it with the SNS message id the task was published with:

    aws lambda invoke --function-name AemTaskQuery<version> \
        --payload '{"message_id": "5f0c..."}' status.json

It returns the task's record from the DynamoDB table TABLE_NAME. For an SSM command
still in progress it also reads the command's current status (ssm:ListCommands), so
callers see Success or Failed as soon as Run Command knows; ordered offline tasks
(Step Functions executions) write their final state into the record themselves.
"""

import logging
import os
from decimal import Decimal

import boto3

LOG = logging.getLogger()
LOG.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

TABLE_NAME = os.environ["TABLE_NAME"]

# Run Command statuses that will not change any more.
FINAL_COMMAND_STATUSES = {"Success", "Failed", "Cancelled", "TimedOut"}

ssm = boto3.client("ssm")
table = boto3.resource("dynamodb").Table(TABLE_NAME)


def handler(event, context):
    """Returns the task of `message_id` (or `messageId`), or state NotFound."""
    message_id = event.get("message_id") or event.get("messageId")
    if not isinstance(message_id, str) or not message_id:
        return {"state": "Invalid", "reason": "pass the task's SNS message id as 'message_id'"}

    item = table.get_item(Key={"message_id": message_id}, ConsistentRead=True).get("Item")
    if item is None:
        return {"message_id": message_id, "state": "NotFound"}

    command_id = item.get("command_id")
    if command_id and item.get("state") == "InProgress":
        status = command_status(command_id)
        if status is not None:
            item["command_status"] = status
            if status in FINAL_COMMAND_STATUSES:
                item["state"] = "Success" if status == "Success" else "Failed"
    return plain(item)


def command_status(command_id):
    """The overall status of a Run Command command, or None when SSM no longer knows it."""
    commands = ssm.list_commands(CommandId=command_id).get("Commands", [])
    if not commands:
        LOG.warning("command %s is unknown to SSM (older than 30 days?)", command_id)
        return None
    return commands[0]["Status"]


def plain(value):
    """DynamoDB numbers come back as Decimal; Lambda returns JSON."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [plain(v) for v in value]
    return value
