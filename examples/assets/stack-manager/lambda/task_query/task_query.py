"""AEM task status query: the state of a task sent to the stack manager.

Invoke it with the identifier the caller put in its message (the messenger's
`externalId`), or with the SNS message id the task was published with:

    aws lambda invoke --function-name AemTaskQuery<version> \
        --payload '{"externalId": "7d3c..."}' status.json
    aws lambda invoke --function-name AemTaskQuery<version> \
        --payload '{"message_id": "5f0c..."}' status.json

An `externalId` is looked up through the table's index EXTERNAL_ID_INDEX (when a caller
reused one, the latest task wins). It returns the task's record from the DynamoDB table TABLE_NAME. For an SSM command
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
EXTERNAL_ID_INDEX = os.environ.get("EXTERNAL_ID_INDEX", "externalId")

# Run Command statuses that will not change any more.
FINAL_COMMAND_STATUSES = {"Success", "Failed", "Cancelled", "TimedOut"}

ssm = boto3.client("ssm")
table = boto3.resource("dynamodb").Table(TABLE_NAME)


def handler(event, context):
    """Returns the task of `externalId` (or `external_id`), or of `message_id` (or
    `messageId`), or state NotFound."""
    event = event if isinstance(event, dict) else {}
    external_id = event.get("externalId") or event.get("external_id")
    message_id = event.get("message_id") or event.get("messageId")
    if isinstance(external_id, str) and external_id:
        item = find_by_external_id(external_id)
        if item is None:
            return {"externalId": external_id, "state": "NotFound"}
    elif isinstance(message_id, str) and message_id:
        item = table.get_item(Key={"message_id": message_id}, ConsistentRead=True).get("Item")
        if item is None:
            return {"message_id": message_id, "state": "NotFound"}
    else:
        return {
            "state": "Invalid",
            "reason": "pass the identifier of your message as 'externalId', or the task's SNS message id as 'message_id'",
        }

    command_id = item.get("command_id")
    if command_id and item.get("state") == "InProgress":
        status = command_status(command_id)
        if status is not None:
            item["command_status"] = status
            if status in FINAL_COMMAND_STATUSES:
                item["state"] = "Success" if status == "Success" else "Failed"
    return plain(item)


def find_by_external_id(external_id):
    """The latest task recorded with this caller identifier, or None."""
    items = []
    kwargs = {
        "IndexName": EXTERNAL_ID_INDEX,
        "KeyConditionExpression": "#e = :e",
        "ExpressionAttributeNames": {"#e": "externalId"},
        "ExpressionAttributeValues": {":e": external_id},
    }
    while True:
        response = table.query(**kwargs)
        items.extend(response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            break
        kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    if not items:
        return None
    return max(items, key=lambda i: (str(i.get("received_at", "")), i["message_id"]))


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
