"""Starts the data lake ETL for each CSV file that lands in the raw zone.

For every S3 object-created record: derive a run id from the object (key and the event's
sequencer, so a re-upload is a new run and a redelivered event is the same run), record the
file in the state table (once: a conditional put), then start the state machine with that
name (Step Functions refuses a second execution of the same name, which makes a redelivered
event harmless).

Environment: STATE_TABLE (the DynamoDB table), STATE_MACHINE_ARN.
"""

import datetime
import hashlib
import json
import os
import re
import urllib.parse

import boto3
from botocore.exceptions import ClientError

dynamodb = boto3.client("dynamodb")
stepfunctions = boto3.client("stepfunctions")


def run_id(key, sequencer):
    """A valid execution name (at most 80 of [A-Za-z0-9_-]) unique per object version."""
    stem = re.sub(r"[^A-Za-z0-9_-]", "-", key)[:50].strip("-") or "file"
    digest = hashlib.sha256(f"{key}|{sequencer}".encode()).hexdigest()[:24]
    return f"{stem}-{digest}"


def dataset_of(key):
    """The dataset a file belongs to: its first key segment (`sales/2024/01.csv` -> `sales`)."""
    first = key.split("/", 1)[0] if "/" in key else "default"
    name = re.sub(r"[^a-z0-9_]", "_", first.lower()).strip("_")
    return name or "default"


def handler(event, context):
    table = os.environ["STATE_TABLE"]
    machine = os.environ["STATE_MACHINE_ARN"]
    started = []
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = urllib.parse.unquote_plus(record["s3"]["object"]["key"])
        sequencer = record["s3"]["object"].get("sequencer", "")
        name = run_id(key, sequencer)
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        run = {
            "execution_name": name,
            "bucket": bucket,
            "key": key,
            "dataset": dataset_of(key),
            "size": record["s3"]["object"].get("size", 0),
        }
        try:
            dynamodb.put_item(
                TableName=table,
                Item={
                    "execution_name": {"S": name},
                    "bucket": {"S": bucket},
                    "object_key": {"S": key},
                    "dataset": {"S": run["dataset"]},
                    "status": {"S": "RECEIVED"},
                    "received_at": {"S": now},
                    "updated_at": {"S": now},
                },
                ConditionExpression="attribute_not_exists(execution_name)",
            )
        except ClientError as e:
            if e.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            print(json.dumps({"duplicate": name}))
        try:
            stepfunctions.start_execution(
                stateMachineArn=machine, name=name, input=json.dumps(run)
            )
        except ClientError as e:
            if e.response["Error"]["Code"] != "ExecutionAlreadyExists":
                raise
        started.append(name)
    print(json.dumps({"started": started}))
    return {"started": started}
