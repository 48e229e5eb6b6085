#!/usr/bin/env python3
"""The local AWS environment the integration tests run the example systems in.

Starts moto (pinned in scripts/tool-versions) in server mode on 127.0.0.1 and a free port,
in this process, with the changes that make the systems *run* instead of only deploy:

- Step Functions executes state machines (moto's interpreter, `execute_state_machine`).
- Lambda runs the function's real handler: moto runs Lambda only in Docker, so its
  invocation is redirected here to a subprocess that unpacks the function's code (the zip
  moto keeps from the deploy's asset in S3), and calls the handler with the function's
  environment variables, plus the endpoint and credentials, so boto3 in the handler talks
  to this moto. Python runtimes only; the result (or the error) goes back to the caller.
- SNS -> Lambda deliveries carry the real message id, topic and subject (moto sends
  fixed placeholders).
- EventBridge rules with Lambda targets invoke the function (moto delivers only to SQS,
  logs, archives and buses and refuses other targets).
- A `AWS::KMS::Key` with tags deploys (moto passes CloudFormation's Key/Value tags to KMS,
  which reads TagKey/TagValue, and fails).
- CloudFormation models moto lacks, in local_aws_models.py: `AWS::SNS::Subscription`,
  `AWS::ApiGatewayV2::Api`, `Integration`, `Route` and `Stage`, `AWS::Backup::BackupVault`,
  `AWS::RDS::DBCluster` and its parameter group, `AWS::SecretsManager::Secret` and its
  target attachment, `AWS::EC2::SecurityGroupEgress`, bucket policies (recorded, not
  enforced) and placeholders (an ARN, nothing runs) for the `AWS::ImageBuilder::*`
  resources, with the fixes CloudFormation behaviour needs (a cluster's instances join it,
  target groups register their targets, VPCs are torn down in order);
  `AWS::SSM::Document` without `DocumentFormat` is JSON, as CloudFormation defaults it
  (moto passes None and refuses the document).
- Custom resources (local_aws_custom_resources.py): Create, Update and Delete requests go to
  the service token's function with a ResponseURL on this endpoint, and the operation waits
  for the answer (physical id, Data, or FAILED with its reason), as CloudFormation does.
- Step Functions: state machines CloudFormation creates are the executable ones, with
  their DefinitionSubstitutions applied; an execution started without a name gets a UUID.
- EC2 sizes a root volume mapping without size or snapshot from the image (8 GiB).
- AWS Backup jobs (moto has none): StartBackupJob / DescribeBackupJob, a job going
  CREATED, RUNNING, COMPLETED on successive describes, FAILED for a missing resource.
- Step Functions Wait states and retry intervals last at most LOCAL_AWS_MAX_WAIT seconds
  (default 1), so job nets that poll every minute run in seconds.
- CodeBuild projects and CodePipeline pipelines (local_aws_pipelines.py) exist in moto's
  backends; StartBuild keeps the caller's environment variable overrides.
- Service-managed StackSets (local_aws_stacksets.py): `AWS::CloudFormation::StackSet`
  deploys to its OUs' accounts (Organizations as the test sets it up), instances keep their
  OU and drift status, deployment targets and list filters are honoured, drift detection
  compares what the instances' accounts hold, operations run one describe, and each puts
  its status change event on the default bus.
- HTTP APIs are served: an API's endpoint is `http://127.0.0.1:PORT/_execute-api/ID`, and
  a request there is routed by the API's route keys to its integration: `AWS_PROXY`
  Lambda (payload 1.0 or 2.0) or `SQS-SendMessage` (request parameters mapped from
  `$request.body.X`, `$request.body`, `$request.header.X`). Authorization is not
  checked (moto has no IAM enforcement either).
- CloudFormation as `cairn deploy` uses it (scripts/deploy-examples deploys every example
  with it): a stack made or updated by a change set has its outputs and exports and reads
  the region's exports; a resource that fails fails the stack (CREATE_FAILED or
  UPDATE_FAILED) instead of answering HTTP 500, and a deletion that fails leaves the stack
  DELETE_FAILED; list parameters keep their comma-separated value; dynamic references
  (`{{resolve:ssm:...}}`, `secretsmanager`) and `Fn::Cidr` are computed; an
  SSM parameter without a name gets one; EKS clusters and IAM OIDC providers are
  modelled; target groups have their attributes; a DB instance's deletion
  protection holds.
- CloudFormation as `cdk deploy` uses it: a change set named by name is the one in the
  request's stack, DeleteChangeSet of a name the stack does not have succeeds and a missing
  change set is ChangeSetNotFound (moto answered the CDK CLI's DeleteChangeSet of its
  `cdk-deploy-change-set` with HTTP 500 and an HTML page, so `cdk deploy` of a deployed
  stack failed).

What the environment does not run is listed by `GET /_local-aws/gaps` (JSON), for the
test output.

Usage: local-aws.py [--port N] [--ready-file PATH]. Prints `local-aws ready http://127.0.0.1:PORT`
on standard output when it serves, and runs until SIGTERM or SIGINT.
"""

import argparse
import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile

import local_aws_custom_resources  # noqa: E402
import local_aws_kubernetes  # noqa: E402
from local_aws_pipelines import GAP as PIPELINES_GAP  # noqa: E402
from local_aws_stacksets import GAP as STACKSETS_GAP  # noqa: E402

# What moto does not do even with the changes above (served at /_local-aws/gaps).
GAPS = {
    "lambda": "runs Python handlers in a subprocess (no other runtimes, no layers: a function with layers gets "
    "the stand-in aws, kubectl and helm of local_aws_kubernetes.py first on its PATH; no concurrency limits, "
    "no asynchronous retries or on-failure destinations; an asynchronous invoke runs synchronously)",
    "ssm:SendCommand": "Run Command records the command but runs nothing on instances and emits no "
    "status-change events",
    "imagebuilder": "Image Builder resources are placeholders: no pipeline runs, no image, no notification",
    "apigatewayv2": "HTTP APIs route to Lambda and SQS-SendMessage integrations; no authorizers, IAM "
    "authorization or throttling",
    "events": "rules deliver to SQS, Lambda, logs and buses; no Step Functions, ECS or other targets; "
    "scheduled rules never fire; Step Functions status change events are put for ended executions "
    "(no RUNNING events)",
    "s3-notifications": "S3 event notifications are delivered by moto to SQS, SNS and Lambda only",
    "s3-bucket-policies": "bucket policies made by CloudFormation are recorded, not enforced (the local "
    "endpoint is plain HTTP, so aws:SecureTransport denies would refuse every request)",
    "cloudformation-records": "resources of types moto has no CloudFormation model for are recorded, not "
    "created: Ref is their name, GetAtt Arn a made-up ARN (each type met is logged)",
    "glue": "Glue jobs and databases exist; a job run goes STARTING, RUNNING, SUCCEEDED on successive reads "
    "and runs no script; crawlers, connections and security configurations are recorded",
    "rds": "Aurora clusters and their instances are records: no database runs; start/stop change the "
    "status at once",
    "backup": "AWS Backup jobs complete on the third DescribeBackupJob and copy nothing (no recovery point, "
    "no AMI or snapshot); a job of a missing resource fails",
    "stacksets": "service-managed StackSets are modelled (local_aws_stacksets.py): " + STACKSETS_GAP,
    "codebuild-codepipeline": PIPELINES_GAP,
    "stepfunctions-waits": "Wait states and retry intervals are shortened (LOCAL_AWS_MAX_WAIT, default 1 s)",
    "cloudformation-custom-resources": "custom resources answer at a plain-HTTP URL of this endpoint (not a "
    "pre-signed S3 URL); the operation blocks the CloudFormation call until the answer (at most ServiceTimeout, "
    "else LOCAL_AWS_CUSTOM_RESOURCE_TIMEOUT, 300 s); a failed one fails the call instead of rolling back",
}

# The models the examples' `deploy --all` needs (scripts/deploy-examples).
GAPS.update(
    {
        "eks": "EKS clusters exist in moto's EKS backend (no control plane runs); node groups and access "
        "entries are recorded",
        "kubernetes": local_aws_kubernetes.GAP,
        "cloudformation-rollback": "a resource that fails leaves the stack CREATE_FAILED or UPDATE_FAILED with what "
        "was made (no rollback, as with --no-rollback)",
    }
)

CAIRN_PATCHED = []  # what this launcher changed in moto, for the log


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port (0: a free one)")
    parser.add_argument("--ready-file", help="write the endpoint URL here once serving")
    args = parser.parse_args()
    port = args.port or free_port()
    # moto's Step Functions interpreter calls the other services at localhost:MOTO_PORT.
    os.environ["MOTO_PORT"] = str(port)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    endpoint = f"http://127.0.0.1:{port}"

    # moto's ValidateTemplate writes scratch files into the working directory.
    work = tempfile.mkdtemp(prefix="local-aws-")
    os.chdir(work)

    patch_moto(endpoint, work)

    from werkzeug.serving import make_server
    from moto.moto_server.threaded_moto_server import MotoRequestHandler
    from moto.server import DomainDispatcherApplication, create_backend_app

    app = Gateway(DomainDispatcherApplication(create_backend_app), endpoint)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            f.write(endpoint)
        os.replace(args.ready_file + ".tmp", args.ready_file)
    print(f"local-aws ready {endpoint}", flush=True)
    for line in CAIRN_PATCHED:
        print(f"local-aws: {line}", file=sys.stderr, flush=True)
    server.serve_forever()


# ---------------------------------------------------------------------------------------
# moto, changed in this process


def patch_moto(endpoint, work):
    from moto.core.config import default_user_config

    default_user_config["stepfunctions"]["execute_state_machine"] = True
    # The API then serves the executing backend; CloudFormation (and every other caller of
    # the module's backends) must create state machines there too, not in the plain one.
    import moto.stepfunctions.models as sfn_models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    sfn_models.stepfunctions_backends = stepfunctions_parser_backends
    CAIRN_PATCHED.append("stepfunctions: execute_state_machine on (state machines made by CloudFormation too)")
    patch_definition_substitutions(sfn_models.StateMachine)
    patch_execution_names()
    patch_execution_status_events()
    patch_sync_integrations()
    patch_lambda(endpoint, work)
    patch_sns()
    patch_events()
    patch_ssm_document()
    patch_kms_key_tags()
    patch_backup_jobs()
    patch_waits()
    patch_root_volumes()
    patch_change_set_outputs()
    add_models(endpoint)
    add_stacksets()


def patch_lambda(endpoint, work):
    from moto.awslambda.models import LambdaFunction

    # A function with layers gets the stand-ins of the tools a kubectl provider's layers carry
    # (moto's CloudFormation model drops a function's Layers: they are kept here, checked).
    layer_tools = local_aws_kubernetes.install(work)
    create = LambdaFunction.create_from_cloudformation_json.__func__

    def create_with_layers(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        fn = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        layers = (cloudformation_json.get("Properties") or {}).get("Layers")
        if layers:
            fn.layers = fn._get_layers_data(layers)
        return fn

    LambdaFunction.create_from_cloudformation_json = classmethod(create_with_layers)
    code_dirs = {}
    lock = threading.Lock()

    def unpacked(fn):
        key = fn.code_sha_256 or fn.function_name
        with lock:
            if key not in code_dirs:
                d = tempfile.mkdtemp(prefix="fn-", dir=work)
                zipfile.ZipFile(io.BytesIO(fn.code_bytes)).extractall(d)
                code_dirs[key] = d
            return code_dirs[key]

    def invoke_locally(self, event=None):
        self.logs_backend.ensure_log_group(self.logs_group_name)
        if event is None:
            event = {}
        if isinstance(event, (bytes, str)):
            try:
                event = json.loads(event or "{}")
            except ValueError:
                pass
        runtime = self.run_time or ""
        if not runtime.startswith("python"):
            msg = f"local-aws runs Python handlers only; {self.function_name} is {runtime or 'an image'}"
            self.save_logs(msg)
            return json.dumps({"errorMessage": msg, "errorType": "Runtime.Unsupported"}), True, msg
        if not getattr(self, "code_bytes", b""):
            msg = f"{self.function_name} has no code package"
            self.save_logs(msg)
            return json.dumps({"errorMessage": msg, "errorType": "Runtime.NoCode"}), True, msg
        task = unpacked(self)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "LAMBDA_TASK_ROOT": task,
            "_HANDLER": self.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": str(self.version),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.timeout),
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            **role_credentials(self),
            "CAIRN_FUNCTION_ARN": self.function_arn,
        }
        if getattr(self, "layers", None):
            env["PATH"] = layer_tools + os.pathsep + env["PATH"]
        env.update({k: str(v) for k, v in (self.environment_vars or {}).items()})
        # After the function's own variables: boto3 in the handler must talk to this moto.
        env["AWS_ENDPOINT_URL"] = endpoint
        env["PYTHONPATH"] = task
        try:
            done = subprocess.run(
                [sys.executable, "-c", RUNNER],
                input=json.dumps(event).encode(),
                capture_output=True,
                cwd=task,
                env=env,
                timeout=max(int(self.timeout or 3), 1) + 30,
            )
        except subprocess.TimeoutExpired:
            msg = f"{self.function_name} timed out"
            self.save_logs(msg)
            return json.dumps({"errorMessage": msg, "errorType": "Sandbox.Timedout"}), True, msg
        logs = done.stderr.decode("utf-8", "replace")
        out = done.stdout.decode("utf-8", "replace").strip().splitlines()
        result = out[-1] if out else json.dumps({"errorMessage": "no result", "errorType": "Runtime.ExitError"})
        self.save_logs(logs + "\n" + result)
        if os.environ.get("LOCAL_AWS_VERBOSE"):
            print(f"local-aws: invoked {self.function_name}: {result[:300]}", file=sys.stderr, flush=True)
        return result, done.returncode != 0, logs

    LambdaFunction._invoke_lambda = invoke_locally
    CAIRN_PATCHED.append(
        "lambda: invocations run the function's Python handler in a subprocess, with its execution role's "
        "credentials (so its calls act in the function's account)"
    )


def role_credentials(fn):
    """The credentials of the function's execution role (assumed in moto's STS, as Lambda
    does), so the handler's calls act in the function's account, as the role; the
    environment's dummy credentials for a function without a role ARN."""
    role = fn.role if isinstance(getattr(fn, "role", None), str) else ""
    if not role.startswith("arn:"):
        return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    assumed = sts_backends[fn.account_id][get_partition(fn.region)].assume_role(
        region_name=fn.region,
        role_session_name=fn.function_name[:64],
        role_arn=role,
        policy=None,
        duration=3600,
        external_id=None,
    )
    return {
        "AWS_ACCESS_KEY_ID": assumed.access_key_id,
        "AWS_SECRET_ACCESS_KEY": assumed.secret_access_key,
        "AWS_SESSION_TOKEN": assumed.session_token,
    }


# The handler runner: the event on stdin, the result as the last line of stdout, logs on stderr.
RUNNER = r"""
import importlib, json, logging, os, sys, time, traceback, uuid
real_stdout = sys.stdout
sys.stdout = sys.stderr
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
deadline = time.time() + float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT") or 3)

class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
    invoked_function_arn = os.environ["CAIRN_FUNCTION_ARN"]
    memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
    aws_request_id = str(uuid.uuid4())
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "local"
    def get_remaining_time_in_millis(self):
        return max(int((deadline - time.time()) * 1000), 0)

try:
    event = json.loads(sys.stdin.read() or "{}")
    handler = getattr(importlib.import_module(module_name.replace("/", ".")), function_name)
    result = handler(event, Context())
    real_stdout.write("\n" + json.dumps(result, default=str) + "\n")
except Exception as e:
    traceback.print_exc()
    real_stdout.write("\n" + json.dumps({"errorMessage": str(e), "errorType": type(e).__name__}) + "\n")
    sys.exit(1)
"""


def patch_sns():
    from moto.awslambda.utils import get_backend
    from moto.sns.models import Subscription

    original = Subscription.publish

    def publish(self, message, message_id, subject=None, message_attributes=None, *args, **kwargs):
        if self.protocol != "lambda":
            return original(self, message, message_id, subject, message_attributes, *args, **kwargs)
        arn = self.endpoint.split(":")
        qualifier = arn[7] if len(arn) == 8 else None
        event = {
            "Records": [
                {
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": self.arn,
                    "EventSource": "aws:sns",
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": message_id,
                        "TopicArn": self.topic.arn,
                        "Subject": subject,
                        "Message": message,
                        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                        "SignatureVersion": "1",
                        "MessageAttributes": {
                            k: {"Type": v.get("DataType", v.get("Type")), "Value": v.get("StringValue", v.get("Value"))}
                            for k, v in (message_attributes or {}).items()
                        },
                    },
                }
            ]
        }
        func = get_backend(self.account_id, arn[3])._lambdas.get_function_by_name_or_arn_with_qualifier(
            arn[6], qualifier
        )
        func.invoke(json.dumps(event), {"x-amz-invocation-type": "Event"}, {})

    Subscription.publish = publish
    CAIRN_PATCHED.append("sns: Lambda deliveries carry the message id, topic and subject")


def patch_events():
    from moto.awslambda.utils import get_backend
    from moto.events.models import Rule
    from moto.utilities.arns import parse_arn

    original = Rule.send_to_targets

    delivered = ("logs", "events", "sqs")

    def send_to_targets(self, original_event, transform_input=True):
        # A scheduled rule without a pattern matches no event (moto's empty pattern matches
        # every one).
        if self.scheduled_expression and not self.event_pattern.get_pattern():
            return
        if not self.event_pattern.matches_event(original_event):
            return
        others = []
        for target in self.targets:
            arn = parse_arn(target["Arn"])
            if arn.service not in delivered + ("lambda",):
                # moto raises for the target types it cannot deliver to, which stops the
                # event reaching the bus's other rules: logged and left out instead.
                print(
                    f"local-aws: rule {self.name}: no delivery to {arn.service} targets ({target['Arn']})",
                    file=sys.stderr,
                    flush=True,
                )
                continue
            if arn.service != "lambda":
                others.append(target)
                continue
            event = original_event
            if "Input" in target:
                event = json.loads(target["Input"])
            fn = get_backend(arn.account, arn.region).get_function(target["Arn"])
            fn.invoke(json.dumps(event, default=str), {"x-amz-invocation-type": "Event"}, {})
        if others:
            kept = self.targets
            self.targets = others
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = kept

    Rule.send_to_targets = send_to_targets
    CAIRN_PATCHED.append(
        "events: rules invoke Lambda targets; scheduled rules match no event; targets of other services are logged"
    )



def patch_ssm_document():
    from moto.ssm.models import Document

    original = Document.create_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = dict(cloudformation_json.get("Properties") or {})
        # CloudFormation's default; moto passes None and refuses the document.
        props.setdefault("DocumentFormat", "JSON")
        if props["DocumentFormat"] == "JSON" and not isinstance(props.get("Content"), str):
            props["Content"] = json.dumps(props.get("Content"))
        return original(cls, resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name, **kwargs)

    Document.create_from_cloudformation_json = classmethod(create)
    CAIRN_PATCHED.append("ssm: a CloudFormation document without DocumentFormat is JSON")


def patch_kms_key_tags():
    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = dict(cloudformation_json.get("Properties") or {})
        # CloudFormation's tags are Key/Value; moto passes them to KMS, which wants
        # TagKey/TagValue, and fails with a KeyError (the stack then "lacks" the key).
        props["Tags"] = [
            {"TagKey": t.get("Key", t.get("TagKey")), "TagValue": t.get("Value", t.get("TagValue"))}
            for t in props.get("Tags") or []
        ]
        return original(cls, resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name, **kwargs)

    Key.create_from_cloudformation_json = classmethod(create)
    CAIRN_PATCHED.append("kms: a CloudFormation key's tags reach KMS (moto fails on Key/Value tags)")


# AWS Backup jobs (moto has vaults and plans, no jobs): a job of an existing EC2 instance or
# RDS cluster into an existing vault is CREATED, then RUNNING, then COMPLETED on the
# following DescribeBackupJob calls (one step per call); a job of a resource that does not
# exist (or no longer does: a terminated instance) FAILS, as AWS Backup's would. Nothing is
# copied and no recovery point is kept.
BACKUP_JOB_STATES = ["CREATED", "RUNNING", "COMPLETED"]


def patch_backup_jobs():
    from moto.backup import urls
    from moto.backup.exceptions import ResourceNotFoundException
    from moto.backup.models import BackupBackend
    from moto.backup.responses import BackupResponse
    from moto.core.utils import unix_time
    from moto.ec2.models import ec2_backends
    from moto.rds.models import rds_backends
    from moto.utilities.arns import parse_arn

    def resource_exists(arn):
        a = parse_arn(arn)
        if a.service == "ec2" and a.resource_type == "instance":
            ec2 = ec2_backends[a.account][a.region]
            for reservation in ec2.all_reservations():
                for i in reservation.instances:
                    if i.id == a.resource_id:
                        return i.state != "terminated"
            return False
        if a.service == "rds" and a.resource_type == "cluster":
            return a.resource_id in rds_backends[a.account][a.region].clusters
        return True

    def start_backup_job(self, vault, resource_arn, role_arn, token):
        jobs = self.__dict__.setdefault("cairn_jobs", {})
        if vault not in self.vaults:
            raise ResourceNotFoundException(vault)
        for job in jobs.values():
            if token and job["IdempotencyToken"] == token:
                return job
        job_id = str(uuid.uuid4()).upper()
        exists = resource_exists(resource_arn)
        job = {
            "BackupJobId": job_id,
            "BackupVaultName": vault,
            "BackupVaultArn": self.vaults[vault].backup_vault_arn,
            "ResourceArn": resource_arn,
            "IamRoleArn": role_arn,
            "IdempotencyToken": token,
            "CreationDate": unix_time(),
            "RecoveryPointArn": f"arn:aws:backup:{self.region_name}:{self.account_id}:recovery-point:{job_id}",
            "State": "CREATED" if exists else "FAILED",
            "StatusMessage": "" if exists else f"Resource {resource_arn} was not found",
            "ResourceType": parse_arn(resource_arn).service.upper(),
        }
        jobs[job_id] = job
        return job

    def describe_backup_job(self, job_id):
        job = self.__dict__.setdefault("cairn_jobs", {}).get(job_id)
        if job is None:
            raise ResourceNotFoundException(job_id)
        if job["State"] in BACKUP_JOB_STATES[:-1]:
            job["State"] = BACKUP_JOB_STATES[BACKUP_JOB_STATES.index(job["State"]) + 1]
            if job["State"] == "COMPLETED":
                job["CompletionDate"] = unix_time()
                job["PercentDone"] = "100.0"
        return job

    def start_response(self):
        p = json.loads(self.body or "{}")
        job = self.backup_backend.start_backup_job(
            p["BackupVaultName"], p["ResourceArn"], p["IamRoleArn"], p.get("IdempotencyToken")
        )
        return json.dumps({k: job[k] for k in ("BackupJobId", "RecoveryPointArn", "CreationDate")})

    def describe_response(self):
        job_id = unquote_path(self.path.rstrip("/").split("/")[-1])
        return json.dumps(self.backup_backend.describe_backup_job(job_id))

    BackupBackend.start_backup_job = start_backup_job
    BackupBackend.describe_backup_job = describe_backup_job
    BackupResponse.start_backup_job = start_response
    BackupResponse.describe_backup_job = describe_response
    urls.url_paths["{0}/backup-jobs/?$"] = urls.response.dispatch
    urls.url_paths["{0}/backup-jobs/(?P<id>[^/]+)$"] = urls.response.dispatch
    CAIRN_PATCHED.append(
        "backup: StartBackupJob / DescribeBackupJob (CREATED, RUNNING, COMPLETED on successive describes; "
        "FAILED for a resource that does not exist)"
    )


def unquote_path(segment):
    from urllib.parse import unquote

    return unquote(segment)


# Step Functions waits: a Wait state or a retry interval lasts at most LOCAL_AWS_MAX_WAIT
# seconds (default 1), so a job net that polls every minute runs in seconds. The
# definition is run as written otherwise (its choices, retries and their counts).
def patch_definition_substitutions(state_machine):
    """CloudFormation replaces `${key}` in a state machine's DefinitionString with
    DefinitionSubstitutions (and takes a Definition object as JSON); moto uses the string as
    written."""

    def resolved(cloudformation_json):
        props = dict(cloudformation_json.get("Properties") or {})
        if "Definition" in props and "DefinitionString" not in props:
            props["DefinitionString"] = json.dumps(props.pop("Definition"))
        text = props.get("DefinitionString", "")
        for key, value in (props.pop("DefinitionSubstitutions", None) or {}).items():
            text = text.replace("${" + key + "}", value if isinstance(value, str) else json.dumps(value))
        props["DefinitionString"] = text
        return {**cloudformation_json, "Properties": props}

    create = state_machine.create_from_cloudformation_json.__func__
    update = state_machine.update_from_cloudformation_json.__func__

    def create_resolved(cls, resource_name, cloudformation_json, *args, **kwargs):
        return create(cls, resource_name, resolved(cloudformation_json), *args, **kwargs)

    def update_resolved(cls, original, new_name, cloudformation_json, *args, **kwargs):
        return update(cls, original, new_name, resolved(cloudformation_json), *args, **kwargs)

    state_machine.create_from_cloudformation_json = classmethod(create_resolved)
    state_machine.update_from_cloudformation_json = classmethod(update_resolved)
    CAIRN_PATCHED.append("stepfunctions: CloudFormation's DefinitionSubstitutions are applied")


def patch_execution_names():
    """An execution started without a name gets a UUID, as in Step Functions (moto names
    them all "None", so the second one is refused as already existing)."""
    import uuid

    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    start = StepFunctionsParserBackend.start_execution

    def named(self, state_machine_arn, name=None, *args, **kwargs):
        return start(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    StepFunctionsParserBackend.start_execution = named
    CAIRN_PATCHED.append("stepfunctions: an execution started without a name gets a UUID")


def patch_execution_status_events():
    """Step Functions puts a "Step Functions Execution Status Change" event on the account's
    default bus when a standard workflow's execution ends (SUCCEEDED, FAILED, TIMED_OUT,
    ABORTED); moto emits none, so rules on those events (a notifier) never run. The event
    is put as Step Functions writes it (detail fields, epoch-millisecond dates)."""
    from moto.events.models import events_backends
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    terminated = BaseExecutionWorkerCommunication.terminated

    def millis(date):
        return int(date.timestamp() * 1000) if date is not None else None

    def announce(self):
        terminated(self)
        execution = self.execution
        try:
            status = getattr(execution.exec_status, "value", execution.exec_status)
            detail = {
                "executionArn": execution.exec_arn,
                "stateMachineArn": execution.state_machine.arn,
                "name": execution.name,
                "status": status,
                "startDate": millis(execution.start_date),
                "stopDate": millis(execution.stop_date),
                "input": json.dumps(execution.input_data, default=str),
                "output": json.dumps(execution.output, default=str) if status == "SUCCEEDED" else None,
                "error": execution.error,
                "cause": execution.cause,
            }
            events_backends[execution.account_id][execution.region_name].put_events(
                [
                    {
                        "Source": "aws.states",
                        "DetailType": "Step Functions Execution Status Change",
                        "Detail": json.dumps(detail, default=str),
                        "Resources": [execution.exec_arn],
                    }
                ]
            )
        except Exception as e:  # the execution has ended either way: the event is best effort
            print(f"local-aws: no status event for {execution.exec_arn}: {e!r}", file=sys.stderr, flush=True)

    BaseExecutionWorkerCommunication.terminated = announce
    CAIRN_PATCHED.append("stepfunctions: an ended execution puts its status change event on the default bus")


def patch_sync_integrations():
    """moto's interpreter fails every `.sync` task of a service without task tokens (Glue's
    startJobRun.sync) after the job ends: it releases a callback endpoint it never made
    ('NoneType' object has no attribute 'interrupt_all'). The release is skipped when
    there is none; the rest of the method is moto's, recompiled."""
    import inspect
    import textwrap

    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_callback as module,
    )

    method = module.StateTaskServiceCallback._eval_integration_pattern
    source = textwrap.dedent(inspect.getsource(method))
    broken = "    callback_endpoint.interrupt_all()"
    if broken not in source:
        CAIRN_PATCHED.append("stepfunctions: .sync tasks without task tokens: moto changed, not patched")
        return
    source = source.replace(
        broken, "    if callback_endpoint is not None:\n            callback_endpoint.interrupt_all()"
    )
    scope = {}
    exec(compile(source, inspect.getsourcefile(method), "exec"), module.__dict__, scope)
    module.StateTaskServiceCallback._eval_integration_pattern = scope["_eval_integration_pattern"]

    # And the job run it returns holds datetimes, which no state output can carry.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue import (
        StateTaskServiceGlue,
    )

    build = StateTaskServiceGlue._sync_to_start_job_run

    def json_safe(self, *args, **kwargs):
        resolve = build(self, *args, **kwargs)

        def resolved():
            out = resolve()
            return None if out is None else json.loads(json.dumps(out, default=str))

        return resolved

    StateTaskServiceGlue._sync_to_start_job_run = json_safe
    CAIRN_PATCHED.append("stepfunctions: .sync tasks of services without task tokens (Glue) complete")


def patch_root_volumes():
    """EC2 sizes a block device mapping that names neither a size nor a snapshot (the usual
    root volume: type and encryption only) from the image; moto refuses it. The local
    images' root snapshots are 8 GiB."""
    from moto.ec2.models.elastic_block_store import EBSBackend

    create_volume = EBSBackend.create_volume

    def sized(self, size, zone_name, snapshot_id=None, *args, **kwargs):
        if size is None and snapshot_id is None:
            size = 8
        return create_volume(self, size, zone_name, snapshot_id, *args, **kwargs)

    EBSBackend.create_volume = sized
    CAIRN_PATCHED.append("ec2: a block device mapping with neither size nor snapshot gets the image's 8 GiB")


def patch_waits():
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

    limit = float(os.environ.get("LOCAL_AWS_MAX_WAIT", "1"))
    original = WaitFunction._wait_interval

    def wait_interval(self, env, wait_seconds):
        return original(self, env, min(wait_seconds, limit))

    class ShortTime:
        def __getattr__(self, name):
            return getattr(time, name)

        @staticmethod
        def sleep(seconds):
            time.sleep(min(seconds, limit))

    WaitFunction._wait_interval = wait_interval
    retrier_decl.time = ShortTime()
    CAIRN_PATCHED.append(f"stepfunctions: Wait states and retry intervals last at most {limit:g} s")


def add_models(endpoint):
    """CloudFormation models moto lacks (local_aws_models.py), added before the first stack
    is parsed and kept referenced (moto finds models through __subclasses__, which holds
    weak references). HTTP APIs are served at `endpoint` (Gateway below)."""
    import local_aws_models
    import local_aws_pipelines

    add_models.keep = (
        local_aws_models.add(CAIRN_PATCHED, endpoint)
        + local_aws_custom_resources.add(CAIRN_PATCHED, endpoint)
        + local_aws_pipelines.add(CAIRN_PATCHED, local_aws_models.model)
    )


def add_stacksets():
    """Service-managed StackSets (local_aws_stacksets.py): the `AWS::CloudFormation::StackSet`
    model, deployment targets, instance filters, drift detection, operation status events."""
    import local_aws_models
    import local_aws_stacksets

    add_stacksets.keep = local_aws_stacksets.add(CAIRN_PATCHED, local_aws_models.model)


# ---------------------------------------------------------------------------------------
# Change sets (scripts/deploy-examples deploys the examples with `cairn deploy --all`, which
# goes through change sets as the CDK's does)


def patch_change_set_outputs():
    """A stack made or updated by executing a change set gets its outputs and exports, and
    its `Fn::ImportValue`s read the region's exports, as in CloudFormation. moto makes the
    stack of a CREATE change set from an empty template without the region's exports (an
    import of another stack's export fails: "No export named ..."), and never rebuilds its
    outputs from the executed template, so the stack has none and exports nothing."""
    from moto.cloudformation.models import CloudFormationBackend

    execute = CloudFormationBackend.execute_change_set

    def with_outputs(self, change_set_name, stack_name=None):
        change_set = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None
        )
        if change_set is None:
            return execute(self, change_set_name, stack_name)
        stack = self.stacks[change_set.stack_id]
        stack.cross_stack_resources = self.exports
        stack.resource_map.cross_stack_resources = self.exports
        before = [e.name for e in stack.exports]
        try:
            execute(self, change_set_name, stack_name)
        except Exception as e:  # the stack fails, as in CloudFormation, instead of HTTP 500
            change_set_failed(change_set, stack, e)
            return
        stack._parse_template()
        stack.description = stack.template_dict.get("Description")
        stack.output_map = stack._create_output_map()
        for name in before:
            self.exports.pop(name, None)
        self._validate_export_uniqueness(stack)
        for export in stack.exports:
            self.exports[export.name] = export

    CloudFormationBackend.execute_change_set = with_outputs
    patch_change_set_names()
    patch_failed_deletes()
    patch_ssm_parameter_names()
    patch_list_parameters()
    patch_template_values()
    patch_validate_template()
    CAIRN_PATCHED.append(
        "cloudformation: a stack made or updated by a change set has its outputs and exports, and reads the region's "
        "exports; a resource that fails fails the stack (CREATE_FAILED or UPDATE_FAILED, with the error as its "
        "reason; what was made stays, as with --no-rollback) instead of answering HTTP 500, which clients retry "
        "into a stack that looks complete; a stack whose deletion fails stays, DELETE_FAILED"
    )


class TemplateError:
    """A ValidateTemplate finding (moto reads its `message`)."""

    def __init__(self, message):
        self.message = message


def patch_validate_template():
    """ValidateTemplate checks what CloudFormation's does, the template's format: a JSON
    object with a non-empty `Resources` object (YAML templates keep moto's check). moto runs
    cfn-lint and refuses any finding, warnings included, which CloudFormation does not; and
    it costs 21 s for each of bench-app's 500-resource templates. cfn-lint runs on every
    example in scripts/validate, with the project's configuration."""
    from moto.cloudformation.models import CloudFormationBackend

    lint = CloudFormationBackend.validate_template

    def validate(self, template):
        try:
            body = json.loads(template)
        except ValueError:
            return lint(self, template)
        if not isinstance(body, dict):
            return [TemplateError("Template format error: JSON not well-formed.")]
        resources = body.get("Resources")
        if not isinstance(resources, dict) or not resources:
            return [TemplateError("Template format error: At least one Resources member must be defined.")]
        return []

    CloudFormationBackend.validate_template = validate
    CAIRN_PATCHED.append(
        "cloudformation: ValidateTemplate checks a JSON template's format as CloudFormation does (moto ran cfn-lint "
        "and refused its warnings too)"
    )


def patch_change_set_names():
    """A change set named by name (not ARN) is the one of that name in the stack `StackName`
    names, as in CloudFormation, where names are unique per stack; DeleteChangeSet of a name
    the stack does not have succeeds (the CDK CLI deletes its `cdk-deploy-change-set`
    before making a new one, for every stack that exists). moto looks a name up across every
    stack (with `cdk-deploy-change-set` in each, DescribeChangeSet may answer another
    stack's), and its DeleteChangeSet of an unknown name raises: HTTP 500 with an HTML page,
    which the SDKs cannot parse ("XML parse error: mismatched tags <html>"). A change set
    that is not there is ChangeSetNotFound, which the CDK CLI waits for after deleting one."""
    from moto.cloudformation.exceptions import CloudFormationError, ValidationError
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult, EmptyResult

    class ChangeSetNotFound(CloudFormationError):
        # The model's shape: the answer carries its query code, ChangeSetNotFound (HTTP 404).
        code = "ChangeSetNotFoundException"

    def not_found(response):
        return ChangeSetNotFound(f"ChangeSet [{response._get_param('ChangeSetName')}] does not exist")

    def named(response):
        """The ARN of the change set the request names, or None (the stack exists and has
        none of that name); a missing stack is a ValidationError."""
        name = response._get_param("ChangeSetName")
        stack_name = response._get_param("StackName")
        backend = response.cloudformation_backend
        if name in backend.change_sets:
            return name
        if not stack_name:
            raise ValidationError(message="StackName must be specified if ChangeSetName is not specified as an ARN.")
        stack_id = backend.get_stack(stack_name).stack_id
        found = [i for i, c in backend.change_sets.items() if c.change_set_name == name and c.stack_id == stack_id]
        return found[-1] if found else None

    def delete_change_set(self):
        arn = named(self)
        if arn is not None:
            self.cloudformation_backend.delete_change_set(change_set_name=arn)
        return EmptyResult()

    def describe_change_set(self):
        arn = named(self)
        if arn is None:
            raise not_found(self)
        return ActionResult(self.cloudformation_backend.describe_change_set(change_set_name=arn))

    def execute_change_set(self):
        arn = named(self)
        if arn is None:
            raise not_found(self)
        self.cloudformation_backend.execute_change_set(change_set_name=arn, stack_name=self._get_param("StackName"))
        return EmptyResult()

    CloudFormationResponse.delete_change_set = delete_change_set
    CloudFormationResponse.describe_change_set = describe_change_set
    CloudFormationResponse.execute_change_set = execute_change_set
    CAIRN_PATCHED.append(
        "cloudformation: a change set named by name is the one of that name in the request's stack; deleting a "
        "name the stack does not have succeeds (moto answered HTTP 500 with an HTML page)"
    )


def change_set_failed(change_set, stack, error):
    """moto raises out of ExecuteChangeSet when a resource fails: HTTP 500, which the SDKs
    retry, and the retry finds nothing left to add and completes the stack without the
    failed resource and the ones after it. CloudFormation answers the call and fails the
    stack; moto does not roll back, so the stack ends as a deployment without rollback does."""
    status = "CREATE_FAILED" if change_set.change_set_type == "CREATE" else "UPDATE_FAILED"
    reason = f"{type(error).__name__}: {error}".strip()
    stack.status = status
    stack.template = change_set.template
    stack._add_stack_event(status, resource_status_reason=reason[:1000])
    change_set.execution_status = "EXECUTE_FAILED"
    print(f"local-aws: cloudformation: {stack.name}: {status}: {reason[:300]}", file=sys.stderr, flush=True)
    traceback.print_exception(error, file=sys.stderr)


def patch_failed_deletes():
    """A stack whose deletion fails (a DB cluster with deletion protection) stays, as
    DELETE_FAILED with the error as its reason, as in CloudFormation; the resources deleted
    so far are gone and a second DeleteStack deletes the rest. moto drops the stack from its
    list before deleting its resources and answers the error, so the stack disappears
    while the resources that failed, and those left, stay."""
    from moto.cloudformation.models import CloudFormationBackend

    delete = CloudFormationBackend.delete_stack

    def delete_or_fail(self, name_or_stack_id):
        stack = self.stacks.get(name_or_stack_id) or next(
            (s for s in self.stacks.values() if s.name == name_or_stack_id), None
        )
        if stack is None:
            return delete(self, name_or_stack_id)
        try:
            delete(self, stack.stack_id)
        except Exception as e:
            self.stacks[stack.stack_id] = stack
            self.deleted_stacks.pop(stack.stack_id, None)
            reason = f"{type(e).__name__}: {e}".strip()
            stack.status = "DELETE_FAILED"
            stack._add_stack_event("DELETE_FAILED", resource_status_reason=reason[:1000])
            print(f"local-aws: cloudformation: {stack.name}: DELETE_FAILED: {reason[:300]}", file=sys.stderr, flush=True)

    CloudFormationBackend.delete_stack = delete_or_fail


def patch_list_parameters():
    """A list parameter (`CommaDelimitedList`, `List<...>`) keeps its comma-separated value,
    as CloudFormation shows and reuses it. moto keeps the parsed list: DescribeStacks shows
    its Python repr (`['444444444444']`), and an update that reuses the previous value
    (UsePreviousValue, as `bootstrap` does for the trusted accounts) passes that list back
    to the parser, which fails ('list' object has no attribute 'split')."""
    from moto.cloudformation.models import Stack
    from moto.cloudformation.parsing import ResourceMap

    def text(value):
        return ",".join(str(v) for v in value) if isinstance(value, list) else value

    load = ResourceMap.load_parameters

    def load_text(self):
        self.input_parameters = {k: text(v) for k, v in (self.input_parameters or {}).items()}
        return load(self)

    shown = Stack.parameter_list.fget

    def parameter_list(self):
        return [{**p, "ParameterValue": text(p["ParameterValue"])} for p in shown(self)]

    ResourceMap.load_parameters = load_text
    Stack.parameter_list = property(parameter_list)
    CAIRN_PATCHED.append("cloudformation: list parameters keep their comma-separated value (shown and reused)")


def patch_template_values():
    """What CloudFormation computes in a template's values and moto does not:

    - dynamic references, resolved when the stack deploys: `{{resolve:ssm:NAME[:VERSION]}}`,
      `{{resolve:ssm-secure:...}}` and
      `{{resolve:secretsmanager:SECRET[:SecretString[:KEY[:STAGE[:VERSION]]]]}}` (moto keeps
      them as written: a parameter made from one holds the reference text, and an instance
      launched from it has the text as its image id); a reference to nothing fails the
      stack, as in CloudFormation;
    - `Fn::Cidr` (moto returns it unevaluated, and a `Fn::Select` of it fails)."""
    import ipaddress
    import itertools
    import re

    import moto.cloudformation.parsing as parsing
    from moto.cloudformation.exceptions import ValidationError

    pattern = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):([^}]*)\}\}")

    def value_of(service, ref, account, region):
        if service in ("ssm", "ssm-secure"):
            from moto.ssm.models import ssm_backends

            parameter = ssm_backends[account][region].get_parameter(ref)
            if parameter is None:
                raise ValidationError(ref, message=f"Unable to resolve {{{{resolve:{service}:{ref}}}}}: no such parameter")
            return parameter.value
        from moto.secretsmanager.models import secretsmanager_backends

        parts = ref.split(":")
        n = 7 if ref.startswith("arn:") else 1
        secret_id = ":".join(parts[:n])
        _, key, stage, version = (parts[n:] + ["", "", "", ""])[:4]
        try:
            secret = secretsmanager_backends[account][region].get_secret_value(secret_id, version or None, stage or None)
        except Exception as e:
            raise ValidationError(ref, message=f"Unable to resolve {{{{resolve:secretsmanager:{ref}}}}}: {e}")
        text = secret.get("SecretString", "")
        return str(json.loads(text)[key]) if key else text

    def cidr(block, count, bits):
        network = ipaddress.ip_network(block, strict=False)
        subnets = network.subnets(new_prefix=network.max_prefixlen - int(bits))
        return [str(n) for n in itertools.islice(subnets, int(count))]

    clean_json = parsing.clean_json

    def computed(resource_json, resources_map):
        # moto also cleans values against plain dicts (conditions, outputs of its own):
        # what needs the stack's account and region applies to a stack's resource map only.
        account = getattr(resources_map, "_account_id", None)
        region = getattr(resources_map, "_region_name", None)
        if account is not None and isinstance(resource_json, dict) and "Fn::Cidr" in resource_json:
            return cidr(*[computed(v, resources_map) for v in resource_json["Fn::Cidr"]])
        value = clean_json(resource_json, resources_map)
        if account is not None and isinstance(value, str) and "{{resolve:" in value:
            value = pattern.sub(lambda m: value_of(m.group(1), m.group(2), account, region), value)
        return value

    parsing.clean_json = computed
    CAIRN_PATCHED.append(
        "cloudformation: dynamic references ({{resolve:ssm:...}}, ssm-secure, secretsmanager) are resolved; "
        "Fn::Cidr is computed"
    )


def patch_ssm_parameter_names():
    """CloudFormation names an `AWS::SSM::Parameter` without `Name` itself; moto's model
    passes None to PutParameter and fails."""
    from moto.ssm.models import Parameter

    original = Parameter.create_from_cloudformation_json.__func__

    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        props = dict(cloudformation_json.get("Properties") or {})
        props.setdefault("Name", resource_name)
        return original(cls, resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name, **kwargs)

    Parameter.create_from_cloudformation_json = classmethod(create)
    CAIRN_PATCHED.append("ssm: a CloudFormation parameter without Name gets a generated one")


# ---------------------------------------------------------------------------------------
# The gateway in front of moto: HTTP APIs and the list of gaps.


class Gateway:
    def __init__(self, moto_app, endpoint):
        self.moto_app = moto_app
        self.endpoint = endpoint

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_local-aws/gaps":
            return respond(start_response, 200, json.dumps(GAPS))
        if path == "/_local-aws/kubernetes":
            return respond(start_response, 200, json.dumps(local_aws_kubernetes.state()))
        if path.startswith(local_aws_custom_resources.PATH) and environ["REQUEST_METHOD"] == "PUT":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            known = local_aws_custom_resources.receive(path[len(local_aws_custom_resources.PATH):], body)
            return respond(start_response, 200 if known else 404, "")
        if path.startswith("/_execute-api/"):
            try:
                return self.execute_api(environ, start_response)
            except Exception as e:  # the error goes to the caller, as API Gateway's 500
                return respond(start_response, 500, json.dumps({"message": f"Internal Server Error: {e}"}))
        return self.moto_app(environ, start_response)

    def execute_api(self, environ, start_response):
        from moto.apigatewayv2.models import apigatewayv2_backends

        _, _, api_id, *rest = environ["PATH_INFO"].split("/")
        path = "/" + "/".join(rest)
        method = environ["REQUEST_METHOD"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length).decode("utf-8") if length else ""
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        api = None
        for accounts in apigatewayv2_backends.values():
            for backend in accounts.values():
                if api_id in backend.apis:
                    api = backend.apis[api_id]
                    region, account = backend.region_name, backend.account_id
        if api is None:
            return respond(start_response, 404, json.dumps({"message": "Not Found"}))
        route = None
        for candidate in api.routes.values():
            key = candidate.route_key
            if key in (f"{method} {path}", f"ANY {path}"):
                route = candidate
                break
            if key == "$default" and route is None:
                route = candidate
        if route is None or not (route.target or "").startswith("integrations/"):
            return respond(start_response, 404, json.dumps({"message": "Not Found"}))
        integration = api.integrations[route.target.split("/", 1)[1]]
        request = {"method": method, "path": path, "body": body, "headers": headers,
                   "query": environ.get("QUERY_STRING", "")}
        if integration.integration_subtype == "SQS-SendMessage":
            params = {k: mapped(v, request) for k, v in (integration.request_parameters or {}).items()}
            from moto.sqs.models import sqs_backends

            queue_name = params["QueueUrl"].rstrip("/").rsplit("/", 1)[1]
            if params.get("MessageBody") in (None, ""):
                return respond(start_response, 400, json.dumps({"message": "MessageBody is empty"}))
            message = sqs_backends[account][region].send_message(queue_name, params["MessageBody"])
            answer = {"SendMessageResponse": {"SendMessageResult": {"MessageId": message.id}}}
            return respond(start_response, 200, json.dumps(answer))
        if integration.integration_type == "AWS_PROXY" and ":lambda:" in (integration.integration_uri or ""):
            from moto.awslambda.utils import get_backend

            fn_arn = integration.integration_uri
            if "/functions/" in fn_arn:
                fn_arn = fn_arn.split("/functions/", 1)[1].split("/invocations")[0]
            event = proxy_event(integration.payload_format_version, request, route.route_key, api_id)
            fn = get_backend(account, region).get_function(fn_arn)
            response_headers = {}
            raw = fn.invoke(json.dumps(event), {}, response_headers)
            result = json.loads(raw)
            if "x-amz-function-error" in response_headers:
                return respond(start_response, 500, json.dumps({"message": "Internal Server Error"}))
            if isinstance(result, dict) and "statusCode" in result:
                b = result.get("body", "")
                if result.get("isBase64Encoded"):
                    b = base64.b64decode(b).decode()
                return respond(start_response, int(result["statusCode"]), b, result.get("headers"))
            return respond(start_response, 200, json.dumps(result))
        return respond(start_response, 501, json.dumps({"message": "integration not served locally"}))


def mapped(expression, request):
    """An HTTP API request parameter mapping: `$request.body.X`, `$request.body`,
    `$request.header.X`, or a literal."""
    if not isinstance(expression, str) or not expression.startswith("$request."):
        return expression
    if expression == "$request.body":
        return request["body"]
    if expression.startswith("$request.body."):
        try:
            value = json.loads(request["body"] or "null")
        except ValueError:
            return None
        for part in expression[len("$request.body."):].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value if isinstance(value, str) or value is None else json.dumps(value)
    if expression.startswith("$request.header."):
        return request["headers"].get(expression[len("$request.header."):].lower())
    return None


def proxy_event(version, request, route_key, api_id):
    if version == "2.0":
        return {"version": "2.0", "routeKey": route_key, "rawPath": request["path"],
                "rawQueryString": request["query"], "headers": request["headers"], "body": request["body"],
                "isBase64Encoded": False,
                "requestContext": {"apiId": api_id, "http": {"method": request["method"], "path": request["path"]},
                                   "requestId": str(uuid.uuid4())}}
    return {"version": "1.0", "resource": request["path"], "path": request["path"],
            "httpMethod": request["method"], "headers": request["headers"], "body": request["body"],
            "isBase64Encoded": False, "requestContext": {"apiId": api_id, "requestId": str(uuid.uuid4())}}


def respond(start_response, status, body, headers=None):
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error", 501: "Not Implemented"}
    h = [("Content-Type", "application/json")] + [(k, str(v)) for k, v in (headers or {}).items()]
    data = body.encode() if isinstance(body, str) else body
    h.append(("Content-Length", str(len(data))))
    start_response(f"{status} {reasons.get(status, 'Status')}", h)
    return [data]


if __name__ == "__main__":
    main()
