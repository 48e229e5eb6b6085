# cairn's AWS API call handler (custom_resources::AwsCustomResource): the resource's Create,
# Update and Delete properties each hold one call (JSON: service, action, parameters,
# physicalResourceId, region, assumedRoleArn, outputPaths, ignoreErrorCodesMatching,
# logApiResponseData), made with boto3; the response, flattened to dotted paths, is the
# resource's Data.
import base64
import datetime
import re

import boto3
import botocore
from botocore.exceptions import ClientError

# The string a call's parameters use for the resource's physical id (Update, Delete).
PHYSICAL_ID_PLACEHOLDER = "PHYSICAL:RESOURCEID:"

# boto3's name of a service where it is not the lower-cased name of the JavaScript SDK
# (v2 class or v3 package, without "@aws-sdk/client-").
BOTO3_NAMES = {
    "stepfunctions": "stepfunctions",
    "sfn": "stepfunctions",
    "cloudwatchlogs": "logs",
    "cloudwatch-logs": "logs",
    "eventbridge": "events",
    "cloudwatchevents": "events",
    "elastic-load-balancing-v2": "elbv2",
    "elastic-load-balancing": "elb",
    "api-gateway": "apigateway",
    "cognitoidentityserviceprovider": "cognito-idp",
    "cognito-identity-provider": "cognito-idp",
    "cognitoidentity": "cognito-identity",
    "iotdata": "iot-data",
    "iot-data-plane": "iot-data",
    "configservice": "config",
    "config-service": "config",
    "costexplorer": "ce",
    "cost-explorer": "ce",
    "databasemigrationservice": "dms",
    "database-migration-service": "dms",
    "directoryservice": "ds",
    "directory-service": "ds",
    "resource-groups-tagging-api": "resourcegroupstaggingapi",
    "applicationautoscaling": "application-autoscaling",
    "application-auto-scaling": "application-autoscaling",
    "auto-scaling": "autoscaling",
    "acmpca": "acm-pca",
    "ssoadmin": "sso-admin",
    "elasticsearchservice": "es",
    "elasticsearch-service": "es",
    "secrets-manager": "secretsmanager",
}
# Operations whose name ends in "Command" (an action "XCommand" is otherwise the v3
# command class of operation X).
COMMAND_OPERATIONS = {
    "ecs": {"ExecuteCommand"},
    "iot": {"CreateCommand", "DeleteCommand", "GetCommand", "UpdateCommand"},
    "ssm": {"CancelCommand", "SendCommand"},
}


def service_name(service):
    name = service.lower()
    if name.startswith("@aws-sdk/client-"):
        name = name[len("@aws-sdk/client-"):]
    name = BOTO3_NAMES.get(name, name)
    if name not in boto3.session.Session().get_available_services():
        raise ValueError(f"unknown service {service!r} (boto3 has no client {name!r})")
    return name


def operation_name(service, action):
    """The API operation of `action` ("putParameter", "PutParameter" or "PutParameterCommand")."""
    if action[:1].islower():
        return action[:1].upper() + action[1:]
    if action.endswith("Command") and action not in COMMAND_OPERATIONS.get(service, set()):
        return action[: -len("Command")]
    return action


def replace_placeholder(value, physical_id):
    if value == PHYSICAL_ID_PLACEHOLDER:
        return physical_id
    if isinstance(value, list):
        return [replace_placeholder(v, physical_id) for v in value]
    if isinstance(value, dict):
        return {k: replace_placeholder(v, physical_id) for k, v in value.items()}
    return value


def plain(value):
    """A response value as JSON can carry it: streams and bytes as text, dates in ISO 8601."""
    if hasattr(value, "read"):
        value = value.read()
    if isinstance(value, (bytes, bytearray)):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def flatten(value, prefix="", out=None):
    """{"A": {"B": [1, 2]}} -> {"A.B.0": 1, "A.B.1": 2}: the response as attributes."""
    out = {} if out is None else out
    if isinstance(value, dict) or isinstance(value, list):
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    else:
        out[prefix] = value
    return out


def session_for(call, physical_id):
    role = call.get("assumedRoleArn")
    if call.get("externalId") and not role:
        raise ValueError("externalId can only be given with assumedRoleArn")
    if not role:
        return boto3.session.Session()
    name = re.sub(r"[^\w+=,.@-]", "", f"{int(datetime.datetime.now().timestamp() * 1000)}-{physical_id}")[:64]
    args = {"RoleArn": role, "RoleSessionName": name}
    if call.get("externalId"):
        args["ExternalId"] = call["externalId"]
    creds = boto3.client("sts", region_name=call.get("region")).assume_role(**args)["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def make_call(call, physical_id):
    """Makes one call; its flattened response (with the API version and region), filtered
    by outputPaths, and the full flattened response."""
    service = service_name(call["service"])
    operation = operation_name(service, call["action"])
    api = session_for(call, physical_id).client(service, region_name=call.get("region"), api_version=call.get("apiVersion"))
    method = getattr(api, botocore.xform_name(operation), None)
    if method is None:
        raise ValueError(f"{call['service']} has no action {call['action']!r} (boto3: {service}.{operation})")
    parameters = replace_placeholder(call.get("parameters") or {}, physical_id)
    full = {"region": api.meta.region_name}
    if call.get("apiVersion"):
        full["apiVersion"] = call["apiVersion"]
    try:
        response = method(**parameters)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", type(e).__name__)
        pattern = call.get("ignoreErrorCodesMatching")
        if pattern and re.search(pattern, code):
            log(f"ignoring error {code}: {e}")
            return {}, full
        raise
    response.pop("ResponseMetadata", None)
    flat = flatten(plain(response))
    if call.get("logApiResponseData", True):
        log("API response", flat)
    full.update(flat)
    paths = call.get("outputPaths") or ([call["outputPath"]] if call.get("outputPath") else None)
    data = {k: v for k, v in full.items() if any(k.startswith(p) for p in paths)} if paths else full
    return data, full


def parse(text):
    return json.loads(text) if isinstance(text, str) and text else (text or None)


def handler(event, context=None):
    try:
        props = event.get("ResourceProperties") or {}
        calls = {kind: parse(props.get(kind)) for kind in ("Create", "Update", "Delete")}
        kind = event["RequestType"]
        if kind == "Create":
            physical_id = next(
                (c["physicalResourceId"]["id"] for c in calls.values() if c and "id" in (c.get("physicalResourceId") or {})),
                event.get("LogicalResourceId"),
            )
        else:
            physical_id = ((calls.get(kind) or {}).get("physicalResourceId") or {}).get("id", event.get("PhysicalResourceId"))
        call = calls.get(kind)
        data = {}
        show = True
        if call:
            show = call.get("logApiResponseData", True)
            log(f"{kind}: {call['service']}.{call['action']}")
            data, full = make_call(call, physical_id)
            path = (call.get("physicalResourceId") or {}).get("responsePath")
            if path:
                if path not in full:
                    raise ValueError(f"the response has no {path!r} for the physical resource id")
                physical_id = str(full[path])
        submit("SUCCESS", {**event, "PhysicalResourceId": physical_id, "Data": data}, reason="OK", log_data=show)
    except Exception as e:  # noqa: BLE001 -- every failure is reported to CloudFormation
        traceback.print_exc()
        log_stream = getattr(context, "log_stream_name", None)
        failed = {**event, "PhysicalResourceId": event.get("PhysicalResourceId") or log_stream or MISSING_ID_MARKER}
        submit("FAILED", failed, reason=failure_reason(e))
