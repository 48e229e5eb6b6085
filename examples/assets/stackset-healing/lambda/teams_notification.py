"""TeamsNotification: posts the run's summary (or its failure) to a Microsoft Teams
incoming webhook whose URL is in Secrets Manager."""

import json
import os
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


def handler(event, _context):
    url = secrets.get_secret_value(SecretId=WEBHOOK_SECRET_ARN)["SecretString"].strip()
    if not url.startswith("https://"):
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
