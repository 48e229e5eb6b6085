"""Start, stop and describe the job net's web servers.

Every handler takes {"instanceId": "i-..."} and refuses any instance that is not in
INSTANCE_IDS (comma-separated): the role may only touch those instances anyway, and a
clear error beats an AccessDenied.
"""

import os

import boto3

ec2 = boto3.client("ec2")
ALLOWED = {i for i in os.environ.get("INSTANCE_IDS", "").split(",") if i}


class UnknownInstance(Exception):
    """The instance is not one of the job net's web servers."""


def _instance_id(event):
    instance_id = event.get("instanceId", "")
    if instance_id not in ALLOWED:
        raise UnknownInstance(f"{instance_id!r} is not one of {sorted(ALLOWED)}")
    return instance_id


def start(event, _context):
    instance_id = _instance_id(event)
    r = ec2.start_instances(InstanceIds=[instance_id])
    state = r["StartingInstances"][0]["CurrentState"]["Name"]
    print(f"start {instance_id}: {state}")
    return {"instanceId": instance_id, "state": state}


def stop(event, _context):
    instance_id = _instance_id(event)
    r = ec2.stop_instances(InstanceIds=[instance_id])
    state = r["StoppingInstances"][0]["CurrentState"]["Name"]
    print(f"stop {instance_id}: {state}")
    return {"instanceId": instance_id, "state": state}


def describe(event, _context):
    """Returns the instance state: pending, running, stopping, stopped ..."""
    instance_id = _instance_id(event)
    r = ec2.describe_instances(InstanceIds=[instance_id])
    state = r["Reservations"][0]["Instances"][0]["State"]["Name"]
    return {"instanceId": instance_id, "state": state}
