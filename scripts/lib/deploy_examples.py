#!/usr/bin/env python3
"""Deploys every example as a user would, in the local environment (scripts/deploy-examples
starts it): per example, in examples/NAME (its cdk.json runs the app),

1. `cairn synth`: the stacks and the environments they name (nested stage assemblies too);
2. `cairn bootstrap aws://ACCOUNT/REGION` of each environment, with the credentials of that
   account: the caller's own, or, for another account, those of its organization access
   role (`OrganizationAccountAccessRole`, assumed through STS as a member of an
   organization would). Cross-account deploys need trust, as with the CDK: every account
   trusts the caller's, and the accounts of the example's pipelines (the stacks holding an
   `AWS::CodePipeline::Pipeline`), which deploy the stages (`--trust`, with
   `--cloudformation-execution-policies` AdministratorAccess as `cdk bootstrap` needs);
3. `cairn deploy --all --require-approval never`, with the caller's credentials: the toolkit
   reaches the other accounts through their bootstrap deploy roles;
4. every stack `CREATE_COMPLETE` (DescribeStacks in its account and region);
5. `cairn destroy --all --force`, and every stack gone.

An example listed in examples/expected-synth-failures is refused at synthesis on purpose:
its deploy must fail there, naming the rules it breaks, with nothing deployed.

Prints each step, then one JSON line per example into --summary: stacks deployed,
environments, and what the local environment could not model for it (the types it only
records, and the local environment's gaps for the services the example uses).

Usage: deploy_examples.py --cairn PATH --summary FILE --local-aws-log FILE [--work DIR]
       [--examples DIR] NAME...
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import boto3
from botocore.exceptions import ClientError

ACCESS_ROLE = "OrganizationAccountAccessRole"
EXECUTION_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"

# What a user has, or passes, before an example's `deploy --all`, that the local
# environment cannot make itself: SSM parameters its stacks read (written with an image of
# the local environment) and stack parameters (the default VPC and one of its subnets).
PREREQUISITES = {
    "ami-tracker": {
        "parameters": {"AmiConsumer:VpcId": "vpc", "AmiConsumer:SubnetId": "subnet"},
    },
    "aspects-demo-compliant": {
        "ssm": {"/golden/ami/latest": "the organization's golden AMI, the parameter its approved-AMI rule names"},
    },
    "eks-jenkins": {
        "layers": {
            "kubectl-v33": "kubectl and helm for the cluster's kubectl provider",
            "awscli-v2": "the AWS CLI for the cluster's kubectl provider",
        },
    },
}

# The custom resources a kubectl provider serves: what they apply is checked in the
# stand-in Kubernetes of the local environment (local_aws_kubernetes.py).
KUBERNETES_MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"
KUBERNETES_CHART = "Custom::AWSCDK-EKS-HelmChart"

# The local environment's gaps (local-aws.py's GAPS, by key) that apply to an example using
# resources of these type prefixes.
GAPS_BY_TYPE = [
    ("AWS::Lambda::", "lambda"),
    ("AWS::SSM::Document", "ssm:SendCommand"),
    ("AWS::ImageBuilder::", "imagebuilder"),
    ("AWS::ApiGatewayV2::", "apigatewayv2"),
    ("AWS::Events::Rule", "events"),
    ("AWS::S3::BucketPolicy", "s3-bucket-policies"),
    ("AWS::Glue::", "glue"),
    ("AWS::RDS::DBCluster", "rds"),
    ("AWS::Backup::", "backup"),
    ("AWS::StepFunctions::", "stepfunctions-waits"),
    ("AWS::EKS::", "eks"),
    ("Custom::AWSCDK-EKS-", "kubernetes"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cairn", required=True)
    parser.add_argument("--summary", required=True)
    parser.add_argument("--local-aws-log", required=True)
    parser.add_argument("--work", default=None)
    parser.add_argument("--examples", default=os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
    parser.add_argument("names", nargs="+")
    args = parser.parse_args()
    examples = os.path.abspath(args.examples)
    work = os.path.abspath(args.work or os.getcwd())
    refused = expected_failures(os.path.join(examples, "expected-synth-failures"))
    gaps = json.load(urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/_local-aws/gaps"))
    env = Credentials()
    failed = 0
    with open(args.summary, "a") as summary:
        for name in args.names:
            run = Example(name, os.path.join(examples, name), os.path.join(work, name), args.cairn, env)
            started = time.monotonic()
            try:
                if name in refused:
                    run.refused_at_synthesis()
                else:
                    run.deploy_and_destroy()
            except Failure as e:
                run.fail(str(e))
            except Exception as e:  # an AWS call that failed: the example fails, the others run
                print(f"  FAIL  {type(e).__name__}: {e}", flush=True)
                run.fail(f"{type(e).__name__}: {e}")
            run.result["seconds"] = round(time.monotonic() - started, 1)
            run.result["notModelled"] = not_modelled(run.types, args.local_aws_log, gaps)
            failed += not run.result["passed"]
            summary.write(json.dumps(run.result) + "\n")
            summary.flush()
    return 1 if failed else 0


class Failure(Exception):
    pass


def expected_failures(path):
    names = set()
    if os.path.exists(path):
        for line in open(path):
            line = line.split("#", 1)[0].strip()
            if line:
                names.add(line)
    return names


class Credentials:
    """The caller's credentials (the environment's), and those of each other account
    through its organization access role."""

    def __init__(self):
        self.caller = boto3.client("sts").get_caller_identity()["Account"]
        self.region = os.environ.get("AWS_REGION") or "us-east-1"
        self.assumed = {}

    def of(self, account):
        """The environment variables of `account`'s credentials."""
        if account == self.caller:
            return {}
        if account not in self.assumed:
            c = boto3.client("sts").assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/{ACCESS_ROLE}", RoleSessionName="deploy-examples"
            )["Credentials"]
            self.assumed[account] = {
                "AWS_ACCESS_KEY_ID": c["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"],
                "AWS_SESSION_TOKEN": c["SessionToken"],
            }
        return self.assumed[account]

    def client(self, service, account, region):
        c = self.of(account)
        return boto3.client(
            service,
            region_name=region,
            aws_access_key_id=c.get("AWS_ACCESS_KEY_ID", os.environ.get("AWS_ACCESS_KEY_ID")),
            aws_secret_access_key=c.get("AWS_SECRET_ACCESS_KEY", os.environ.get("AWS_SECRET_ACCESS_KEY")),
            aws_session_token=c.get("AWS_SESSION_TOKEN", os.environ.get("AWS_SESSION_TOKEN")),
        )


class Example:
    def __init__(self, name, project, work, cairn, creds):
        self.name = name
        self.project = project
        self.work = work
        self.out = os.path.join(work, "cdk.out")
        self.cairn = cairn
        self.creds = creds
        self.types = set()
        self.result = {
            "example": name,
            "passed": False,
            "stacks": [],
            "environments": [],
            "prerequisites": [],
            "note": "",
        }
        os.makedirs(work, exist_ok=True)
        print(f"\n== {name}", flush=True)

    def cairn_run(self, label, args, account=None, expect=0):
        """Runs `cairn ARGS` in the example's directory (its cdk.json), with `account`'s
        credentials (default: the caller's); output in WORK/LABEL.{out,err}. Fails unless
        it exits `expect`."""
        env = dict(os.environ)
        env.update(self.creds.of(account or self.creds.caller))
        log = os.path.join(self.work, label)
        started = time.monotonic()
        with open(log + ".out", "w") as out, open(log + ".err", "w") as err:
            rc = subprocess.run(
                [self.cairn, *args], cwd=self.project, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL
            ).returncode
        took = time.monotonic() - started
        shown = " ".join(a for a in args if not a.startswith(EXECUTION_POLICY))
        if rc != expect:
            tail = "".join(open(log + ".err").readlines()[-25:])
            print(f"  FAIL  cairn {shown} (exit {rc}, {took:.1f}s)\n" + indent(tail), flush=True)
            raise Failure(f"cairn {shown} exited {rc}: {last_error(log + '.err')}")
        print(f"  ok    cairn {shown} (exit {rc}, {took:.1f}s)", flush=True)
        return log

    def fail(self, why):
        self.result["passed"] = False
        self.result["note"] = why

    def refused_at_synthesis(self):
        log = self.cairn_run("deploy", ["deploy", "--all", "--require-approval", "never", "--output", self.out], expect=1)
        errors = [line.strip() for line in open(log + ".err") if line.strip().startswith("[error]")]
        if not errors or "synthesis failed" not in open(log + ".err").read():
            raise Failure("the deploy failed, but not at synthesis")
        for e in errors:
            print(f"        | {e}")
        self.result["passed"] = True
        self.result["note"] = (
            f"refused at synthesis on purpose (its aspects report {len(errors)} errors): nothing to deploy"
        )

    def deploy_and_destroy(self):
        self.cairn_run("synth", ["synth", "--quiet", "--output", self.out])
        stacks = read_stacks(self.out)
        for s in stacks:
            s["account"] = s["account"] or self.creds.caller
            s["region"] = s["region"] or self.creds.region
            self.types.update(s["types"])
        environments = sorted({(s["account"], s["region"]) for s in stacks})
        self.result["environments"] = [f"aws://{a}/{r}" for a, r in environments]
        pipelines = {s["account"] for s in stacks if "AWS::CodePipeline::Pipeline" in s["types"]}
        for account, region in environments:
            trusted = sorted(({self.creds.caller} | pipelines) - {account})
            args = ["bootstrap", f"aws://{account}/{region}", "--app", self.out]
            for t in trusted:
                args += ["--trust", t]
            if trusted:
                args += ["--cloudformation-execution-policies", EXECUTION_POLICY]
            self.cairn_run(f"bootstrap-{account}-{region}", args, account=account)

        deploy = ["deploy", "--all", "--require-approval", "never", "--output", self.out]
        self.cairn_run("deploy", deploy + self.prerequisites(stacks))
        statuses = {s["name"]: self.status(s) for s in stacks}
        bad = {n: st for n, st in statuses.items() if st != "CREATE_COMPLETE"}
        self.result["stacks"] = [s["path"] for s in stacks]
        if bad:
            raise Failure("not CREATE_COMPLETE: " + ", ".join(f"{n} ({st})" for n, st in sorted(bad.items())))
        print(f"  ok    {plural(len(stacks), 'stack')} CREATE_COMPLETE: {', '.join(s['path'] for s in stacks)}", flush=True)
        missing = {s["name"]: m for s in stacks if (m := self.missing_resources(s))}
        if missing:
            raise Failure("resources not created: " + "; ".join(f"{n}: {', '.join(m)}" for n, m in sorted(missing.items())))
        count = sum(len(s["resources"]) for s in stacks)
        print(f"  ok    every resource of their templates is in its stack ({count})", flush=True)
        unresolved = [u for s in stacks for u in self.unresolved(s)]
        if unresolved:
            raise Failure("values not resolved: " + "; ".join(unresolved))
        print("  ok    their SSM parameters hold resolved values, their instances run images that exist", flush=True)
        wanted = kubernetes_wanted(stacks)
        if wanted:
            self.check_kubernetes(wanted, present=True)

        destroy = ["destroy", "--all", "--force", "--output", self.out]
        protected = [(s, r) for s in stacks for r in s["protected"]]
        if protected:
            log = self.cairn_run("destroy-protected", destroy, expect=1)
            if "deletion protection" not in open(log + ".err").read():
                raise Failure("destroy failed, but not for the deletion protection")
            print("  ok    destroy refused: " + ", ".join(f"{s['path']}/{r}" for s, r in protected) + " has deletion protection")
            for s, r in protected:
                self.unprotect(s, r)
        self.cairn_run("destroy", destroy)
        left = {s["name"]: st for s in stacks if (st := self.status(s)) not in ("ABSENT", "DELETE_COMPLETE")}
        if left:
            raise Failure("left after destroy: " + ", ".join(f"{n} ({st})" for n, st in sorted(left.items())))
        print(f"  ok    {plural(len(stacks), 'stack')} gone after destroy", flush=True)
        if wanted:
            self.check_kubernetes(wanted, present=False)
        self.result["passed"] = True

    def check_kubernetes(self, wanted, present):
        """The objects and releases of the stacks' kubectl resources are in the stand-in
        clusters after the deploy (`present`), and none is left after the destroy."""
        state = json.load(urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/_local-aws/kubernetes"))
        have = {("object", k) for c in state["clusters"].values() for k in c["objects"]}
        have |= {("release", k) for c in state["clusters"].values() for k in c["releases"]}
        objects = sum(1 for kind, _ in wanted if kind == "object")
        what = f"{plural(objects, 'Kubernetes object')} and {plural(len(wanted) - objects, 'Helm release')}"
        if present:
            missing = sorted(f"{kind} {k}" for kind, k in wanted - have)
            if missing:
                raise Failure("not applied by the kubectl handler: " + ", ".join(missing))
            print(f"  ok    the kubectl handler applied {what} (stand-in Kubernetes)", flush=True)
        else:
            left = sorted(f"{kind} {k}" for kind, k in wanted & have)
            if left:
                raise Failure("left in the cluster after destroy: " + ", ".join(left))
            print(f"  ok    the kubectl handler deleted {what} on destroy (stand-in Kubernetes)", flush=True)

    def prerequisites(self, stacks):
        """Makes what PREREQUISITES lists for the example; returns the `--parameters` args."""
        wanted = PREREQUISITES.get(self.name, {})
        if not wanted:
            return []
        region = next((s["region"] for s in stacks), self.creds.region)
        ec2 = self.creds.client("ec2", self.creds.caller, region)
        vpc = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["IsDefault"])
        values = {
            "image": ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"],
            "vpc": vpc,
            "subnet": ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"][0]["SubnetId"],
        }
        # Layers are published where the stacks' functions with layers are.
        with_layers = sorted({
            (s["account"], s["region"]) for s in stacks
            for r in s["template"].get("Resources", {}).values()
            if r.get("Type") == "AWS::Lambda::Function" and (r.get("Properties") or {}).get("Layers")
        })
        for name, why in wanted.get("layers", {}).items():
            for account, env_region in with_layers:
                lam = self.creds.client("lambda", account, env_region)
                version = lam.publish_layer_version(LayerName=name, Content={"ZipFile": empty_zip()})["Version"]
                self.prerequisite(f"Lambda layer {name} (version {version}) in aws://{account}/{env_region}: {why}")
        ssm = self.creds.client("ssm", self.creds.caller, region)
        for name, why in wanted.get("ssm", {}).items():
            ssm.put_parameter(Name=name, Value=values["image"], Type="String", Overwrite=True)
            self.prerequisite(f"SSM parameter {name} = {values['image']}: {why}")
        args = []
        for key, kind in wanted.get("parameters", {}).items():
            args += ["--parameters", f"{key}={values[kind]}"]
            what = "the default VPC" if kind == "vpc" else "a subnet of the default VPC"
            self.prerequisite(f"--parameters {key}={values[kind]} ({what})")
        return args

    def prerequisite(self, text):
        self.result["prerequisites"].append(text)
        print(f"  --    before deploying: {text}", flush=True)

    def unprotect(self, stack, logical_id):
        """Turns off the deletion protection of a DB cluster or instance, as the refusal
        asks a user to."""
        cfn = self.creds.client("cloudformation", stack["account"], stack["region"])
        resource = cfn.describe_stack_resource(StackName=stack["name"], LogicalResourceId=logical_id)
        detail = resource["StackResourceDetail"]
        rds = self.creds.client("rds", stack["account"], stack["region"])
        if detail["ResourceType"] == "AWS::RDS::DBCluster":
            rds.modify_db_cluster(DBClusterIdentifier=detail["PhysicalResourceId"], DeletionProtection=False)
        else:
            rds.modify_db_instance(DBInstanceIdentifier=detail["PhysicalResourceId"], DeletionProtection=False)
        print(f"  --    turned off the deletion protection of {detail['PhysicalResourceId']} ({stack['path']}/{logical_id})")

    def missing_resources(self, stack):
        """The template's resources (those without a condition) the stack does not list."""
        cfn = self.creds.client("cloudformation", stack["account"], stack["region"])
        listed = set()
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack["name"]):
            listed.update(r["LogicalResourceId"] for r in page["StackResourceSummaries"])
        return sorted(stack["resources"] - listed)

    def unresolved(self, stack):
        """What the stack made from values CloudFormation resolves when it deploys (dynamic
        references) and the stack holds unresolved: SSM parameters whose value is still a
        `{{resolve:...}}`, instances whose image does not exist."""
        cfn = self.creds.client("cloudformation", stack["account"], stack["region"])
        found = []
        for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack["name"]):
            for r in page["StackResourceSummaries"]:
                kind, physical = r["ResourceType"], r.get("PhysicalResourceId", "")
                if kind == "AWS::SSM::Parameter":
                    ssm = self.creds.client("ssm", stack["account"], stack["region"])
                    value = ssm.get_parameter(Name=physical)["Parameter"]["Value"]
                    if "{{resolve:" in value:
                        found.append(f"{stack['path']}/{r['LogicalResourceId']}: parameter {physical} = {value}")
                elif kind == "AWS::EC2::Instance":
                    ec2 = self.creds.client("ec2", stack["account"], stack["region"])
                    image = ec2.describe_instances(InstanceIds=[physical])["Reservations"][0]["Instances"][0]["ImageId"]
                    if not ec2.describe_images(Filters=[{"Name": "image-id", "Values": [image]}])["Images"]:
                        found.append(f"{stack['path']}/{r['LogicalResourceId']}: instance {physical} runs image {image!r}, which does not exist")
        return found

    def status(self, stack):
        cfn = self.creds.client("cloudformation", stack["account"], stack["region"])
        try:
            return cfn.describe_stacks(StackName=stack["name"])["Stacks"][0]["StackStatus"]
        except ClientError as e:
            if "does not exist" in str(e):
                return "ABSENT"
            raise


def read_stacks(out):
    """The stacks of the assembly in `out` and its nested assemblies: name, construct path,
    account and region (None when the environment names none), resource types."""
    stacks = []

    def read(directory):
        manifest = json.load(open(os.path.join(directory, "manifest.json")))
        for artifact_id, a in manifest.get("artifacts", {}).items():
            props = a.get("properties") or {}
            if a.get("type") == "cdk:cloud-assembly":
                read(os.path.join(directory, props["directoryName"]))
            elif a.get("type") == "aws:cloudformation:stack":
                m = re.match(r"aws://([^/]+)/(.+)", a.get("environment", ""))
                account, region = (m.group(1), m.group(2)) if m else ("unknown-account", "unknown-region")
                template = json.load(open(os.path.join(directory, props["templateFile"])))
                stacks.append(
                    {
                        "name": props.get("stackName") or artifact_id,
                        "path": a.get("displayName") or artifact_id,
                        "account": None if account == "unknown-account" else account,
                        "region": None if region == "unknown-region" else region,
                        "template": template,
                        "types": {r.get("Type") for r in (template.get("Resources") or {}).values()},
                        "resources": {
                            k for k, r in (template.get("Resources") or {}).items() if "Condition" not in r
                        },
                        "protected": sorted(
                            k
                            for k, r in (template.get("Resources") or {}).items()
                            if r.get("Type") in ("AWS::RDS::DBCluster", "AWS::RDS::DBInstance")
                            and (r.get("Properties") or {}).get("DeletionProtection") in (True, "true")
                        ),
                    }
                )

    read(out)
    return stacks


def empty_zip():
    """A zip with one README, the content of a layer the local environment stands in for."""
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("README", "published by scripts/deploy-examples: the local Lambda runs no layer\n")
    return buf.getvalue()


def kubernetes_wanted(stacks):
    """What the stacks' kubectl resources apply: ("object", "Kind/namespace/name") for each
    object of a manifest, ("release", "namespace/release") for each chart (their names are
    literal; references inside the objects are read as placeholders)."""
    import local_aws_kubernetes

    wanted = set()
    for s in stacks:
        for r in s["template"].get("Resources", {}).values():
            props = r.get("Properties") or {}
            if r.get("Type") == KUBERNETES_MANIFEST:
                m = props.get("Manifest")
                if isinstance(m, dict):
                    m = "".join(p if isinstance(p, str) else "<ref>" for p in m["Fn::Join"][1])
                for o in json.loads(m):
                    wanted.add(("object", local_aws_kubernetes.key(o)))
            elif r.get("Type") == KUBERNETES_CHART:
                wanted.add(("release", f"{props.get('Namespace') or 'default'}/{props['Release']}"))
    return wanted


def not_modelled(types, local_aws_log, gaps):
    """What the local environment could not model for an example with resources of
    `types`: the types it recorded without creating, and its gaps for those services."""
    recorded = set()
    if os.path.exists(local_aws_log):
        for line in open(local_aws_log):
            m = re.match(r"local-aws: cloudformation: (\S+) recorded, not created", line)
            if m:
                recorded.add(m.group(1))
    found = []
    if types & recorded:
        found.append("recorded, not created (no model; Ref is a name, GetAtt a made-up value): " + ", ".join(sorted(types & recorded)))
    for prefix, key in GAPS_BY_TYPE:
        if any(t.startswith(prefix) for t in types) and key in gaps:
            found.append(f"{key}: {gaps[key]}")
    return found


def plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def last_error(path):
    lines = [line.strip() for line in open(path) if line.strip()]
    errors = [line for line in lines if line.startswith(("error", "❌"))]
    return (errors or lines or ["no output"])[-1][:400]


def indent(text):
    return "".join(f"        | {line}\n" for line in text.splitlines())


if __name__ == "__main__":
    sys.exit(main())
