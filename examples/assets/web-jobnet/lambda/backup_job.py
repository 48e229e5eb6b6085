"""AWS Backup jobs of the job net's resources: the stop flow backs up each web server
(AWS Backup takes an EC2 backup as an AMI) once it has stopped, and the database cluster
before it stops it, and waits for every job to complete.

start: {"executionName", "instanceId"?} starts a backup job into VAULT_NAME with
BACKUP_ROLE_ARN: of the web server `instanceId` (one of INSTANCE_IDS), or of the database
cluster (RESOURCE_ARN) when there is none. The idempotency token is per execution and
resource, so a retried step does not start a second job.

describe: {"backupJobId"} returns the job's state: CREATED, PENDING, RUNNING, ABORTING,
ABORTED, COMPLETED, FAILED, EXPIRED or PARTIAL.
"""

import hashlib
import os

import boto3

backup = boto3.client("backup")
ALLOWED = {i for i in os.environ.get("INSTANCE_IDS", "").split(",") if i}


class UnknownInstance(Exception):
    """The instance is not one of the job net's web servers."""


def _instance_arn(instance_id, context):
    """arn:<partition>:ec2:<region>:<account>:instance/<id>, in the function's own
    partition, Region and account (from its ARN)."""
    if instance_id not in ALLOWED:
        raise UnknownInstance(f"{instance_id!r} is not one of {sorted(ALLOWED)}")
    _, partition, _, region, account = context.invoked_function_arn.split(":")[:5]
    return f"arn:{partition}:ec2:{region}:{account}:instance/{instance_id}"


def start(event, context):
    instance_id = event.get("instanceId")
    if instance_id:
        resource = _instance_arn(instance_id, context)
    else:
        resource = os.environ["RESOURCE_ARN"]
    execution = event.get("executionName") or context.aws_request_id
    token = hashlib.sha256(f"{execution}|{resource}".encode()).hexdigest()
    r = backup.start_backup_job(
        BackupVaultName=os.environ["VAULT_NAME"],
        ResourceArn=resource,
        IamRoleArn=os.environ["BACKUP_ROLE_ARN"],
        IdempotencyToken=token,
        StartWindowMinutes=60,
        CompleteWindowMinutes=240,
        Lifecycle={"DeleteAfterDays": int(os.environ.get("RETENTION_DAYS", "35"))},
    )
    print(f"backup job {r['BackupJobId']} of {resource}")
    return {
        "backupJobId": r["BackupJobId"],
        "resourceArn": resource,
        "recoveryPointArn": r.get("RecoveryPointArn", ""),
    }


def describe(event, _context):
    r = backup.describe_backup_job(BackupJobId=event["backupJobId"])
    state = r["State"]
    print(f"backup job {event['backupJobId']}: {state} {r.get('StatusMessage', '')}")
    return {"backupJobId": event["backupJobId"], "state": state}
