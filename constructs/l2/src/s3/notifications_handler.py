# cairn's handler of Custom::S3BucketNotifications: puts the resource's notifications on
# the bucket and keeps the entries it did not make (added by hand or by another stack).
import json
import urllib.request

import boto3

s3 = boto3.client("s3")
ARNS = {"LambdaFunctionConfigurations": "LambdaFunctionArn", "QueueConfigurations": "QueueArn",
        "TopicConfigurations": "TopicArn"}
EB = "EventBridgeConfiguration"


def key(kind, c):
    rules = ((c.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []
    return (c.get(ARNS[kind]), tuple(sorted(c.get("Events") or [])),
            tuple(sorted((r["Name"].lower(), r["Value"]) for r in rules)))


def merge(current, remove, add):
    """`current` without the entries of `remove` (and of `add`, not to repeat them),
    then the entries of `add`."""
    out = {}
    for kind in ARNS:
        gone = {key(kind, c) for c in (remove.get(kind) or []) + (add.get(kind) or [])}
        items = [c for c in current.get(kind) or [] if key(kind, c) not in gone] + (add.get(kind) or [])
        if items:
            out[kind] = items
    if EB in add or (EB in current and EB not in remove):
        out[EB] = {}
    return out


def current_of(bucket):
    config = s3.get_bucket_notification_configuration(Bucket=bucket)
    config.pop("ResponseMetadata", None)
    return config


def handler(event, context):
    print(json.dumps(dict(event, ResponseURL="...")))
    props = event["ResourceProperties"]
    request = event["RequestType"]
    bucket = props["BucketName"]
    ours = props.get("NotificationConfiguration") or {}
    old = event.get("OldResourceProperties") or {}
    physical = event.get("PhysicalResourceId") or event["LogicalResourceId"]
    status, reason = "SUCCESS", ""
    try:
        if request == "Delete":
            remove, add = ours, {}
        elif request == "Update" and old.get("BucketName") == bucket:
            remove, add = old.get("NotificationConfiguration") or {}, ours
        else:
            remove, add = {}, ours
            if request == "Update":
                # Another bucket: a new physical id, so CloudFormation's clean-up sends the
                # Delete that takes this resource's entries off the old bucket.
                physical = f"{event['LogicalResourceId']}-{bucket}"
        try:
            current = current_of(bucket)
        except s3.exceptions.NoSuchBucket:
            if request != "Delete":
                raise
            current = None
        if current is not None:
            args = {"Bucket": bucket, "NotificationConfiguration": merge(current, remove, add)}
            if request != "Delete":
                args["SkipDestinationValidation"] = str(props.get("SkipDestinationValidation")).lower() == "true"
            s3.put_bucket_notification_configuration(**args)
    except Exception as e:  # noqa: BLE001 -- every failure is reported to CloudFormation
        status, reason = "FAILED", f"{type(e).__name__}: {e}"[:3800]
    body = json.dumps({"Status": status, "Reason": reason or status, "PhysicalResourceId": physical,
                       "StackId": event["StackId"], "RequestId": event["RequestId"],
                       "LogicalResourceId": event["LogicalResourceId"]}).encode()
    print(status, reason)
    put = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                 headers={"Content-Type": "", "Content-Length": str(len(body))})
    with urllib.request.urlopen(put, timeout=60) as response:
        print("answered", response.status)
