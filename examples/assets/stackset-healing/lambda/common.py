"""Shared helpers of the self-healing StackSet workflow.

State passes between the states of the state machine as an S3 key (Step Functions limits
a payload to 256 KB; the state of an organisation-wide run is larger): every function
reads ``runs/<execution>/state.json`` from the state bucket, works, and writes it back.
"""

import json
import os
import re

import boto3
from botocore.exceptions import ClientError

cloudformation = boto3.client("cloudformation")
organizations = boto3.client("organizations")
s3 = boto3.client("s3")
ssm = boto3.client("ssm")

STATE_BUCKET = os.environ.get("STATE_BUCKET", "")
ORDER_PARAMETER = os.environ.get("ORDER_PARAMETER", "")

# Rollout of the operations the workflow starts itself.
OPERATION_PREFERENCES = {
    "RegionConcurrencyType": "PARALLEL",
    "MaxConcurrentPercentage": 25,
    "FailureTolerancePercentage": 10,
    "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE",
}

RUNNING_STATUSES = ("RUNNING", "QUEUED", "STOPPING")


class OperationInProgressException(Exception):
    """Another operation runs on the StackSet: the state machine retries with backoff."""


class LimitExceededException(Exception):
    """Too many concurrent StackSet operations: the state machine retries with backoff."""


class StaleRequestException(Exception):
    """The StackSet changed while the request was in flight: retried like the others."""


_RETRYABLE = {
    "OperationInProgressException": OperationInProgressException,
    "LimitExceededException": LimitExceededException,
    "StaleRequestException": StaleRequestException,
}


def call(fn, **kwargs):
    """Calls a CloudFormation API; the errors the state machine retries are raised as
    exceptions of the same name (Lambda reports the class name as the error)."""
    try:
        return fn(**kwargs)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code in _RETRYABLE:
            raise _RETRYABLE[code](str(e)) from e
        raise


def state_key(execution_id):
    return f"runs/{execution_id}/state.json"


def load_json(key):
    body = s3.get_object(Bucket=STATE_BUCKET, Key=key)["Body"].read()
    return json.loads(body)


def save_json(key, value):
    s3.put_object(
        Bucket=STATE_BUCKET,
        Key=key,
        Body=json.dumps(value, sort_keys=True).encode(),
        ContentType="application/json",
    )


def load_order():
    """The plan cairn wrote into the order parameter."""
    value = ssm.get_parameter(Name=ORDER_PARAMETER)["Parameter"]["Value"]
    return json.loads(value)


def stack_set(order, name):
    for s in order["stackSets"]:
        if s["name"] == name:
            return s
    raise KeyError(f"StackSet {name} is not in the order parameter")


def skipped(order, name):
    """(target, region) pairs where a conflict makes the workflow skip this StackSet."""
    return {
        (c["target"], c["region"])
        for c in order.get("conflicts", [])
        if c["skipped"] == name
    }


def list_instances(name, filters=None):
    kwargs = {"StackSetName": name}
    if filters:
        kwargs["Filters"] = filters
    out = []
    paginator = cloudformation.get_paginator("list_stack_instances")
    for page in paginator.paginate(**kwargs):
        out.extend(page.get("Summaries", []))
    return out


def organization_accounts():
    """Every account of the organisation: id -> status (ACTIVE, SUSPENDED,
    PENDING_CLOSURE). An account that is not listed has left the organisation."""
    out = {}
    for page in organizations.get_paginator("list_accounts").paginate():
        for a in page.get("Accounts", []):
            out[a["Id"]] = a.get("Status", "ACTIVE")
    return out


def accounts_under(ou):
    """The ACTIVE accounts of an OU and of the OUs under it (where a service-managed
    StackSet deploys when it targets the OU)."""
    accounts = set()
    parents = [ou]
    while parents:
        parent = parents.pop()
        for page in organizations.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
            accounts.update(a["Id"] for a in page.get("Accounts", []) if a.get("Status", "ACTIVE") == "ACTIVE")
        for page in organizations.get_paginator("list_children").paginate(
            ParentId=parent, ChildType="ORGANIZATIONAL_UNIT"
        ):
            parents.extend(c["Id"] for c in page.get("Children", []))
    return accounts


def mask_account(account):
    """An account id as the dashboard shows it: its last four digits only (the dashboard
    is served through CloudFront; the full ids stay in the run state)."""
    account = str(account or "")
    return "*" * max(len(account) - 4, 0) + account[-4:]


_ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{8}([0-9]{4})(?![0-9])")


def mask_accounts_in(text):
    """`text` with every 12-digit number (an account id, e.g. in an operation's status
    reason) masked like `mask_account`."""
    return _ACCOUNT_ID.sub(lambda m: "********" + m.group(1), text)
