"""The tenant application: reads and writes the tenant's items."""
import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    tenant = os.environ["TENANT_ID"]
    if event.get("httpMethod") == "POST":
        item = json.loads(event.get("body") or "{}")
        item["tenant"] = tenant
        table.put_item(Item=item)
        return {"statusCode": 201, "body": json.dumps(item)}
    items = table.query(
        KeyConditionExpression=boto3.dynamodb.conditions.Key("tenant").eq(tenant)
    )["Items"]
    return {"statusCode": 200, "body": json.dumps(items, default=str)}
