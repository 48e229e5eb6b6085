# cairn's custom resource runtime: answering CloudFormation (shared by the provider
# framework and the AWS API call handler; each handler's index.py is this file followed
# by its own).
import json
import time
import traceback
import urllib.request

# The physical id of a resource whose creation failed: the Delete CloudFormation sends
# while rolling back is answered without calling the user's handler.
CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
# The physical id sent when a handler gave none (CloudFormation requires one).
MISSING_ID_MARKER = "AWSCDK::CustomResourceProviderFramework::MISSING_PHYSICAL_ID"
# How often a response is sent before giving up, and the pause between attempts.
RESPONSE_ATTEMPTS = 5
RESPONSE_PAUSE = 1.0


def log(*parts):
    print(*[p if isinstance(p, str) else json.dumps(p, default=str) for p in parts], flush=True)


def redact(payload):
    """A copy of `payload` whose Data values are masked (for logs, when NoEcho is set)."""
    copy = json.loads(json.dumps(payload, default=str))
    data = copy.get("Data")
    if isinstance(data, dict):
        copy["Data"] = {k: "*****" for k in data}
    elif data is not None:
        copy["Data"] = "*****"
    return copy


def loggable(payload):
    shown = dict(payload, ResponseURL="...") if "ResponseURL" in payload else dict(payload)
    return redact(shown) if payload.get("NoEcho") else shown


def http_put(url, body):
    """PUTs `body` to the pre-signed `url`; raises on a failed request or an HTTP error."""
    request = urllib.request.Request(
        url, data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        if response.status >= 400:
            raise OSError(f"unsuccessful HTTP response: {response.status}")


def submit(status, event, reason=None, no_echo=False, log_data=True):
    """Sends CloudFormation the outcome of `event` at its ResponseURL: the status, the
    reason, the physical id and Data the event carries, retried a few times. The log shows
    Data masked when NoEcho is set or `log_data` is false."""
    body = {
        "Status": status,
        "Reason": reason or status,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "PhysicalResourceId": event.get("PhysicalResourceId") or MISSING_ID_MARKER,
        "LogicalResourceId": event.get("LogicalResourceId"),
    }
    if no_echo or event.get("NoEcho"):
        body["NoEcho"] = True
    if event.get("Data") is not None:
        body["Data"] = event["Data"]
    log("responding", status, redact(body) if body.get("NoEcho") or not log_data else body)
    data = json.dumps(body, default=str).encode("utf-8")
    for attempt in range(1, RESPONSE_ATTEMPTS + 1):
        try:
            http_put(event["ResponseURL"], data)
            return
        except Exception as e:  # noqa: BLE001 -- any failure is retried, the last one raised
            log(f"response attempt {attempt} failed: {e}")
            if attempt == RESPONSE_ATTEMPTS:
                raise
            time.sleep(RESPONSE_PAUSE)


class Retry(Exception):
    """Raised by a handler that must be called again (the waiter state machine retries)."""


def failure_reason(error):
    text = str(error) or type(error).__name__
    return text[:3800]


def answered(block):
    """Runs `block(event, context)` and answers CloudFormation when it fails: FAILED with
    the error as the reason (a failed Create gets the marker physical id, so the Delete of
    the rollback is answered at once). A Delete of a resource whose Create failed is
    answered SUCCESS without running `block`. `Retry` is raised on."""

    def handler(event, context=None):
        if event.get("RequestType") == "Delete" and event.get("PhysicalResourceId") == CREATE_FAILED_MARKER:
            log("ignoring the Delete of a resource whose Create failed")
            submit("SUCCESS", event)
            return None
        try:
            return block(event, context)
        except Retry:
            raise
        except Exception as e:  # noqa: BLE001 -- every failure is reported to CloudFormation
            traceback.print_exc()
            if not event.get("PhysicalResourceId"):
                if event.get("RequestType") == "Create":
                    event["PhysicalResourceId"] = CREATE_FAILED_MARKER
                else:
                    log("malformed event: no PhysicalResourceId", loggable(event))
            submit("FAILED", event, reason=failure_reason(e))
            return None

    return handler
