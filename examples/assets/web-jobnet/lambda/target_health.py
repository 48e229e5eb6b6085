"""Reports the health of the web servers in the load balancer's target group
(TARGET_GROUP_ARN): {"targets": {id: state}, "healthy": n, "total": n, "allHealthy": bool}."""

import os

import boto3

elbv2 = boto3.client("elbv2")
TARGET_GROUP_ARN = os.environ["TARGET_GROUP_ARN"]


def describe(_event, _context):
    r = elbv2.describe_target_health(TargetGroupArn=TARGET_GROUP_ARN)
    states = {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in r["TargetHealthDescriptions"]}
    healthy = sum(1 for s in states.values() if s == "healthy")
    return {
        "targets": states,
        "healthy": healthy,
        "total": len(states),
        "allHealthy": bool(states) and healthy == len(states),
    }
