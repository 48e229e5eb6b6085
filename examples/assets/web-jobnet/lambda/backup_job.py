"""Starts an AWS Backup job of the database cluster (RESOURCE_ARN) into VAULT_NAME with
BACKUP_ROLE_ARN. {"executionName": ...} makes the call idempotent per execution."""

import os

import boto3

backup = boto3.client("backup")


def start(event, context):
    token = event.get("executionName") or context.aws_request_id
    r = backup.start_backup_job(
        BackupVaultName=os.environ["VAULT_NAME"],
        ResourceArn=os.environ["RESOURCE_ARN"],
        IamRoleArn=os.environ["BACKUP_ROLE_ARN"],
        IdempotencyToken=token[:64],
        StartWindowMinutes=60,
        CompleteWindowMinutes=240,
        Lifecycle={"DeleteAfterDays": int(os.environ.get("RETENTION_DAYS", "35"))},
    )
    print(f"backup job {r['BackupJobId']}")
    return {"backupJobId": r["BackupJobId"], "recoveryPointArn": r.get("RecoveryPointArn", "")}
