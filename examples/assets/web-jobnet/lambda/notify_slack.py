"""Posts Step Functions execution status changes (EventBridge events) to Slack.

The incoming webhook URL is the value of the secret WEBHOOK_SECRET_ARN; until an
operator puts a https://hooks.slack.com/ URL there, messages are only logged. A plain-HTTP
receiver on the function's own machine (http://127.0.0.1:PORT/..., http://localhost:...)
is taken too: the local environment's integration test listens there.
"""

import json
import os
import urllib.parse
import urllib.request

import boto3

secrets = boto3.client("secretsmanager")
SECRET_ARN = os.environ["WEBHOOK_SECRET_ARN"]
ICONS = {"SUCCEEDED": ":white_check_mark:", "FAILED": ":x:", "TIMED_OUT": ":hourglass:", "ABORTED": ":no_entry:"}


def message(event):
    detail = event.get("detail", {})
    status = detail.get("status", "UNKNOWN")
    machine = detail.get("stateMachineArn", "").rsplit(":", 1)[-1]
    execution_arn = detail.get("executionArn", "")
    region = event.get("region", "")
    link = (
        f"https://{region}.console.aws.amazon.com/states/home?region={region}"
        f"#/v2/executions/details/{execution_arn}"
    )
    text = f"{ICONS.get(status, ':grey_question:')} job net *{machine}*: {detail.get('name', '')} {status}"
    if detail.get("error"):
        text += f"\n{detail['error']}: {(detail.get('cause') or '')[:500]}"
    return f"{text}\n<{link}|execution details>"


def webhook_url(value):
    """The URL to post to, or None: a Slack incoming webhook, or a receiver on this machine
    over plain HTTP (never anything else over plain HTTP; the generated placeholder is none)."""
    url = urllib.parse.urlsplit(value.strip())
    if url.scheme == "https" and url.hostname == "hooks.slack.com":
        return url.geturl()
    if url.scheme == "http" and url.hostname in ("127.0.0.1", "localhost"):
        return url.geturl()
    return None


def handler(event, _context):
    text = message(event)
    url = webhook_url(secrets.get_secret_value(SecretId=SECRET_ARN)["SecretString"])
    if url is None:
        print(f"no Slack webhook URL in the secret; message was: {text}")
        return {"sent": False}
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": text}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return {"sent": True, "status": response.status}
