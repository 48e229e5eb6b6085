"""AEM snapshot purge: deletes the stack's EBS snapshots older than the retention.

Runs on a schedule. It considers only this account's completed snapshots tagged
StackPrefix (one of STACK_PREFIXES, `*` wildcards allowed) and SnapshotType (one of
SNAPSHOT_TYPES: `offline` from the offline snapshot tasks, `live` from live-snapshot),
and deletes those started more than RETENTION_DAYS days ago. A snapshot still used by
an AMI is skipped, not an error. The event may override the retention
(`{"retention_days": 14}`) and ask for a dry run (`{"dry_run": true}`).
"""

import logging
import os
from datetime import datetime, timedelta, timezone

import boto3
from botocore.exceptions import ClientError

LOG = logging.getLogger()
LOG.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

RETENTION_DAYS = int(os.environ.get("RETENTION_DAYS", "30"))
STACK_PREFIXES = [p.strip() for p in os.environ.get("STACK_PREFIXES", "*").split(",") if p.strip()]
SNAPSHOT_TYPES = [t.strip() for t in os.environ.get("SNAPSHOT_TYPES", "offline,live").split(",") if t.strip()]

ec2 = boto3.client("ec2")


def handler(event, context):
    """Deletes the expired snapshots; returns what was deleted and what was skipped."""
    event = event if isinstance(event, dict) else {}
    retention_days = int(event.get("retention_days", RETENTION_DAYS))
    if retention_days < 1:
        raise ValueError(f"retention_days must be at least 1, got {retention_days}")
    dry_run = bool(event.get("dry_run", False))
    cutoff = datetime.now(timezone.utc) - timedelta(days=retention_days)
    LOG.info(
        "purging %s snapshots of stacks %s started before %s%s",
        "/".join(SNAPSHOT_TYPES),
        ", ".join(STACK_PREFIXES),
        cutoff.isoformat(timespec="seconds"),
        " (dry run)" if dry_run else "",
    )

    deleted, skipped = [], []
    for snapshot in expired_snapshots(cutoff):
        snapshot_id = snapshot["SnapshotId"]
        if dry_run:
            LOG.info("would delete %s from %s", snapshot_id, snapshot["StartTime"].isoformat())
            deleted.append(snapshot_id)
            continue
        try:
            ec2.delete_snapshot(SnapshotId=snapshot_id)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in ("InvalidSnapshot.InUse", "InvalidSnapshot.NotFound"):
                LOG.warning("skipping %s: %s", snapshot_id, code)
                skipped.append(snapshot_id)
                continue
            raise
        LOG.info("deleted %s from %s", snapshot_id, snapshot["StartTime"].isoformat())
        deleted.append(snapshot_id)

    LOG.info("%d snapshots deleted, %d skipped", len(deleted), len(skipped))
    return {"retention_days": retention_days, "dry_run": dry_run, "deleted": deleted, "skipped": skipped}


def expired_snapshots(cutoff):
    """This account's completed, tagged snapshots started before `cutoff`, oldest first."""
    filters = [
        {"Name": "tag:StackPrefix", "Values": STACK_PREFIXES},
        {"Name": "tag:SnapshotType", "Values": SNAPSHOT_TYPES},
        {"Name": "status", "Values": ["completed"]},
    ]
    found = []
    for page in ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"], Filters=filters):
        found.extend(s for s in page["Snapshots"] if s["StartTime"] < cutoff)
    return sorted(found, key=lambda s: s["StartTime"])
