"""Starts one deployment build per new or changed row of the deployments table.

Each row (id, account, region, type = silo|pool) describes one stage pipeline; the
build synthesizes the app for that row and deploys its pipeline stack.
"""
import os

import boto3

codebuild = boto3.client("codebuild")
PROJECT = os.environ["PROJECT_NAME"]
TYPES = {"silo", "pool"}


def attr(image, name):
    value = image.get(name, {}).get("S")
    if not value:
        raise ValueError(f"deployment row without {name!r}: {image}")
    return value


def handler(event, context):
    started = []
    for record in event.get("Records", []):
        if record.get("eventName") not in ("INSERT", "MODIFY"):
            continue
        image = record["dynamodb"]["NewImage"]
        kind = attr(image, "type")
        if kind not in TYPES:
            raise ValueError(f"type must be silo or pool, got {kind!r}")
        build = codebuild.start_build(
            projectName=PROJECT,
            environmentVariablesOverride=[
                {"name": "TENANT_ID", "value": attr(image, "id"), "type": "PLAINTEXT"},
                {"name": "TENANT_ACCOUNT", "value": attr(image, "account"), "type": "PLAINTEXT"},
                {"name": "TENANT_REGION", "value": attr(image, "region"), "type": "PLAINTEXT"},
                {"name": "TENANT_TYPE", "value": kind, "type": "PLAINTEXT"},
            ],
        )
        started.append(build["build"]["id"])
    return {"started": started}
