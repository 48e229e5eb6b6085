"""Runs the web server's httpd scripts through SSM Run Command, and reads the result.

send: {"instanceId": "i-...", "action": "start" | "stop" | "check"}
      -> {"instanceId", "commandId", "action"}
result: {"instanceId", "commandId"} -> {"instanceId", "commandId", "status", "output"}
        status is Run Command's: Pending, InProgress, Delayed, Success, Failed ...

The scripts are installed by the instances' user data under /opt/webapp/bin.
"""

import os

import boto3

ssm = boto3.client("ssm")
ALLOWED = {i for i in os.environ.get("INSTANCE_IDS", "").split(",") if i}
DOCUMENT = "AWS-RunShellScript"
SCRIPTS = {
    "start": "/opt/webapp/bin/httpd-start.sh",
    "stop": "/opt/webapp/bin/httpd-stop.sh",
    "check": "/opt/webapp/bin/httpd-check.sh",
}


class UnknownInstance(Exception):
    """The instance is not one of the job net's web servers."""


class InstanceNotReady(Exception):
    """SSM does not manage the instance yet (its agent is not online); the state
    machine retries."""


def _instance_id(event):
    instance_id = event.get("instanceId", "")
    if instance_id not in ALLOWED:
        raise UnknownInstance(f"{instance_id!r} is not one of {sorted(ALLOWED)}")
    return instance_id


def send(event, _context):
    instance_id = _instance_id(event)
    action = event.get("action")
    if action not in SCRIPTS:
        raise ValueError(f"action {action!r} is not one of {sorted(SCRIPTS)}")
    try:
        r = ssm.send_command(
            InstanceIds=[instance_id],
            DocumentName=DOCUMENT,
            Parameters={"commands": [SCRIPTS[action]], "executionTimeout": ["600"]},
            Comment=f"web-jobnet: httpd {action}",
            TimeoutSeconds=600,
        )
    except ssm.exceptions.InvalidInstanceId as e:
        raise InstanceNotReady(f"{instance_id}: {e}") from e
    command_id = r["Command"]["CommandId"]
    print(f"{action} on {instance_id}: command {command_id}")
    return {"instanceId": instance_id, "commandId": command_id, "action": action}


def result(event, _context):
    instance_id = _instance_id(event)
    command_id = event["commandId"]
    try:
        r = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
    except ssm.exceptions.InvocationDoesNotExist:
        # Right after SendCommand the invocation may not be visible yet.
        return {"instanceId": instance_id, "commandId": command_id, "status": "Pending", "output": ""}
    output = (r.get("StandardOutputContent", "") + r.get("StandardErrorContent", ""))[-500:]
    return {
        "instanceId": instance_id,
        "commandId": command_id,
        "status": r["Status"],
        "output": output,
    }
