"""TeamsNotification: posts the run's summary (or its failure) to a Microsoft Teams
incoming webhook whose URL is in Secrets Manager. An https URL is posted to; so is a
plain-HTTP receiver on the function's own machine (http://127.0.0.1:PORT/..., localhost),
where the local environment's integration test listens; anything else (the generated
placeholder) is not."""

import json
import os
import urllib.parse
import urllib.request

import boto3

secrets = boto3.client("secretsmanager")

WEBHOOK_SECRET_ARN = os.environ.get("WEBHOOK_SECRET_ARN", "")
DASHBOARD_URL = os.environ.get("DASHBOARD_URL", "")


def message(event):
    if "error" in event:
        cause = event["error"].get("Cause", "")
        return {
            "title": "StackSet self-healing failed",
            "text": f"{event['error'].get('Error', 'Error')}: {cause[:1000]}",
            "themeColor": "D13438",
        }
    s = event.get("summary", {})
    return {
        "title": "StackSet self-healing finished",
        "text": (
            f"{s.get('stackSets', 0)} StackSets checked, {s.get('healed', 0)} instances healed, "
            f"{s.get('inoperable', 0)} inoperable, {s.get('failedOperations', 0)} failed operations. "
            f"Dashboard: {DASHBOARD_URL}"
        ),
        "themeColor": "107C10",
    }


def webhook_url(value):
    """The URL to post to, or None."""
    url = urllib.parse.urlsplit(value.strip())
    if url.scheme == "https" and url.hostname:
        return url.geturl()
    if url.scheme == "http" and url.hostname in ("127.0.0.1", "localhost"):
        return url.geturl()
    return None


def handler(event, _context):
    url = webhook_url(secrets.get_secret_value(SecretId=WEBHOOK_SECRET_ARN)["SecretString"])
    if url is None:
        print("the webhook secret holds no https URL; nothing sent")
        return {"sent": False}
    card = {"@type": "MessageCard", "@context": "https://schema.org/extensions", **message(event)}
    request = urllib.request.Request(
        url,
        data=json.dumps(card).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return {"sent": True, "status": response.status}
