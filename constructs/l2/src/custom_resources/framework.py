# cairn's custom resource provider framework (custom_resources::Provider): three entry
# points, one per function of the provider.
#
# - on_event: CloudFormation's request goes to the user's on-event function; its answer
#   (PhysicalResourceId, Data, NoEcho) is sent back at once, or, with an is-complete
#   function, handed to the waiter state machine.
# - is_complete: called by the waiter state machine (which retries it at the query interval
#   until the total timeout); the user's is-complete function says whether the resource is
#   ready; when it is, CloudFormation gets SUCCESS with the Data of both functions.
# - on_timeout: the waiter's catch: CloudFormation gets FAILED, "Operation timed out".
import os

import boto3
from botocore.exceptions import ClientError

USER_ON_EVENT = "USER_ON_EVENT_FUNCTION_ARN"
USER_IS_COMPLETE = "USER_IS_COMPLETE_FUNCTION_ARN"
WAITER = "WAITER_STATE_MACHINE_ARN"
# Errors of an invoke that waiting for the function to be active may cure.
NOT_READY = ("ResourceNotReadyException", "ResourceConflictException", "TooManyRequestsException")

clients = {}


def client(name):
    if name not in clients:
        clients[name] = boto3.client(name)
    return clients[name]


def invoke_user(variable, event):
    """Invokes the user's function named by environment `variable` with `event`; its
    answer (a dict), or an error carrying its message and where its logs are."""
    arn = os.environ[variable]
    log(f"invoking {arn}", loggable(event))
    payload = json.dumps(event)
    lam = client("lambda")
    try:
        response = lam.invoke(FunctionName=arn, Payload=payload)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") not in NOT_READY:
            raise
        lam.get_waiter("function_active_v2").wait(FunctionName=arn)
        response = lam.invoke(FunctionName=arn, Payload=payload)
    raw = response["Payload"].read()
    answer = json.loads(raw) if raw else None
    if response.get("FunctionError"):
        message = (answer or {}).get("errorMessage", "error") if isinstance(answer, dict) else str(answer)
        name = arn.split(":")[-1]
        raise RuntimeError(f"{message}\n\nLogs: /aws/lambda/{name}\n")
    return answer or {}


def default_physical_id(event):
    kind = event.get("RequestType")
    if kind == "Create":
        return event["RequestId"]
    if kind in ("Update", "Delete"):
        return event["PhysicalResourceId"]
    raise ValueError(f'invalid "RequestType" in request {json.dumps(loggable(event))}')


def response_event(event, answer):
    """The event CloudFormation is answered with: the request, with what the on-event
    function returned, and the physical id it chose (or the default)."""
    if not isinstance(answer, dict):
        raise ValueError(f"the on-event function must return an object, not {json.dumps(answer)}")
    physical_id = answer.get("PhysicalResourceId") or default_physical_id(event)
    if event["RequestType"] == "Delete" and physical_id != event["PhysicalResourceId"]:
        raise ValueError(
            f'DELETE: cannot change the physical resource ID from "{event["PhysicalResourceId"]}" '
            f'to "{physical_id}" during deletion'
        )
    return {**event, **answer, "PhysicalResourceId": physical_id}


def _on_event(event, context):
    event.setdefault("ResourceProperties", {})
    answer = invoke_user(USER_ON_EVENT, event)
    done = response_event(event, answer)
    if not os.environ.get(USER_IS_COMPLETE):
        submit("SUCCESS", done, no_echo=bool(done.get("NoEcho")))
        return None
    log("starting the waiter", os.environ[WAITER])
    client("stepfunctions").start_execution(stateMachineArn=os.environ[WAITER], input=json.dumps(done))
    return None


def _is_complete(event, context):
    answer = invoke_user(USER_IS_COMPLETE, event)
    if not isinstance(answer, dict):
        raise ValueError(f"the is-complete function must return an object, not {json.dumps(answer)}")
    if not answer.get("IsComplete"):
        if answer.get("Data"):
            raise ValueError('"Data" is not allowed if "IsComplete" is "False"')
        # The whole request is the error message: on_timeout reads it back.
        raise Retry(json.dumps(event))
    done = {**event, **answer, "Data": {**(event.get("Data") or {}), **(answer.get("Data") or {})}}
    submit("SUCCESS", done, no_echo=bool(event.get("NoEcho")))
    return None


on_event = answered(_on_event)
is_complete = answered(_is_complete)


def on_timeout(event, context=None):
    """The waiter gave up: `event` is its catch ({Error, Cause}); Cause is the last error
    of is_complete, whose message is the request."""
    try:
        cause = json.loads(event["Cause"])
        request = json.loads(cause["errorMessage"]) if isinstance(cause, dict) and "errorMessage" in cause else cause
        request["ResponseURL"]
    except (KeyError, TypeError, ValueError) as e:
        error = event.get("Error", "unknown") if isinstance(event, dict) else "unknown"
        raise ValueError(
            f"on_timeout: cannot read the is-complete request from the timeout event ({type(e).__name__}); "
            f"Step Functions error: {error}"
        ) from e
    log("timed out", loggable(request))
    submit("FAILED", request, reason="Operation timed out")
    return None
