"""Validates the IAM policies of a pipeline stage's templates with IAM Access Analyzer.

Run by the `PolicyValidation` step of cairn's pipelines (a CodeBuild project over the cloud
assembly), before the stage deploys. For every policy document in every template of the
stage (where each resource type keeps its documents comes from cairn's policy check):
CloudFormation's intrinsics are replaced by ARNs of the right shape for the resources they
name (Access Analyzer reads policies, not templates), the policy is checked with
ValidatePolicy and, when the user gave a reference policy, identity policies with
CheckNoNewAccess against it. Findings of a blocking type (by default ERROR and
SECURITY_WARNING) and new access fail the build; every policy is a test case of a JUnit
report, which CodeBuild shows as a report. Settings come as JSON in
CAIRN_POLICY_VALIDATION (written by cairn at synthesis).
"""

import json
import os
import re
import sys
from xml.sax.saxutils import escape, quoteattr

# The ARN of a resource by its CloudFormation type ({p} partition, {r} region, {a} account,
# {n} a name made from the logical ID). Types not listed get arn:{p}:<service>:{r}:{a}:{n}.
ARN_FORMATS = {
    "AWS::S3::Bucket": "arn:{p}:s3:::{n}",
    "AWS::SQS::Queue": "arn:{p}:sqs:{r}:{a}:{n}",
    "AWS::SNS::Topic": "arn:{p}:sns:{r}:{a}:{n}",
    "AWS::IAM::Role": "arn:{p}:iam::{a}:role/{n}",
    "AWS::IAM::User": "arn:{p}:iam::{a}:user/{n}",
    "AWS::IAM::Group": "arn:{p}:iam::{a}:group/{n}",
    "AWS::IAM::ManagedPolicy": "arn:{p}:iam::{a}:policy/{n}",
    "AWS::IAM::InstanceProfile": "arn:{p}:iam::{a}:instance-profile/{n}",
    "AWS::Lambda::Function": "arn:{p}:lambda:{r}:{a}:function:{n}",
    "AWS::DynamoDB::Table": "arn:{p}:dynamodb:{r}:{a}:table/{n}",
    "AWS::KMS::Key": "arn:{p}:kms:{r}:{a}:key/00000000-0000-0000-0000-000000000000",
    "AWS::KMS::Alias": "arn:{p}:kms:{r}:{a}:alias/{n}",
    "AWS::Logs::LogGroup": "arn:{p}:logs:{r}:{a}:log-group:{n}:*",
    "AWS::StepFunctions::StateMachine": "arn:{p}:states:{r}:{a}:stateMachine:{n}",
    "AWS::SecretsManager::Secret": "arn:{p}:secretsmanager:{r}:{a}:secret:{n}-AbCdEf",
    "AWS::ECR::Repository": "arn:{p}:ecr:{r}:{a}:repository/{n}",
    "AWS::Kinesis::Stream": "arn:{p}:kinesis:{r}:{a}:stream/{n}",
    "AWS::Events::EventBus": "arn:{p}:events:{r}:{a}:event-bus/{n}",
    "AWS::Events::Rule": "arn:{p}:events:{r}:{a}:rule/{n}",
    "AWS::CodeBuild::Project": "arn:{p}:codebuild:{r}:{a}:project/{n}",
    "AWS::CodeCommit::Repository": "arn:{p}:codecommit:{r}:{a}:{n}",
    "AWS::CodePipeline::Pipeline": "arn:{p}:codepipeline:{r}:{a}:{n}",
    "AWS::Glue::Job": "arn:{p}:glue:{r}:{a}:job/{n}",
    "AWS::Glue::Database": "arn:{p}:glue:{r}:{a}:database/{n}",
    "AWS::SSM::Parameter": "arn:{p}:ssm:{r}:{a}:parameter/{n}",
    "AWS::SSM::Document": "arn:{p}:ssm:{r}:{a}:document/{n}",
    "AWS::ECS::Cluster": "arn:{p}:ecs:{r}:{a}:cluster/{n}",
    "AWS::ECS::TaskDefinition": "arn:{p}:ecs:{r}:{a}:task-definition/{n}:1",
    "AWS::EKS::Cluster": "arn:{p}:eks:{r}:{a}:cluster/{n}",
    "AWS::RDS::DBCluster": "arn:{p}:rds:{r}:{a}:cluster:{n}",
    "AWS::RDS::DBInstance": "arn:{p}:rds:{r}:{a}:db:{n}",
    "AWS::EC2::Instance": "arn:{p}:ec2:{r}:{a}:instance/i-0123456789abcdef0",
    "AWS::EC2::VPC": "arn:{p}:ec2:{r}:{a}:vpc/vpc-0123456789abcdef0",
    "AWS::CloudFront::Distribution": "arn:{p}:cloudfront::{a}:distribution/{n}",
    "AWS::Athena::WorkGroup": "arn:{p}:athena:{r}:{a}:workgroup/{n}",
    "AWS::Backup::BackupVault": "arn:{p}:backup:{r}:{a}:backup-vault:{n}",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "arn:{p}:elasticloadbalancing:{r}:{a}:loadbalancer/app/{n}/0123456789abcdef",
    "AWS::CloudFormation::StackSet": "arn:{p}:cloudformation:{r}:{a}:stackset/{n}:00000000-0000-0000-0000-000000000000",
}

# Types whose Ref is their ARN (the others' Ref is a name or an id).
REF_IS_ARN = {
    "AWS::SNS::Topic",
    "AWS::IAM::ManagedPolicy",
    "AWS::StepFunctions::StateMachine",
    "AWS::SecretsManager::Secret",
    "AWS::CloudFormation::StackSet",
    "AWS::ElasticLoadBalancingV2::LoadBalancer",
}

# Access Analyzer's resource types for resource policies it has specific checks for.
VALIDATE_RESOURCE_TYPES = {
    "AWS::S3::BucketPolicy": "AWS::S3::Bucket",
    "AWS::DynamoDB::Table": "AWS::DynamoDB::Table",
}


class Environment:
    """The stack's partition, region, account and template, for resolving intrinsics."""

    def __init__(self, template, account, region, stack_name, partition="aws"):
        self.resources = template.get("Resources", {})
        self.parameters = template.get("Parameters", {})
        self.account = account
        self.region = region
        self.stack_name = stack_name
        self.partition = partition

    def name(self, logical_id):
        return re.sub(r"[^a-z0-9-]", "-", logical_id.lower())[:63]

    def arn(self, logical_id):
        rtype = self.resources.get(logical_id, {}).get("Type", "")
        fmt = ARN_FORMATS.get(rtype)
        if fmt is None:
            service = rtype.split("::")[1].lower() if rtype.count("::") == 2 else "unknown"
            fmt = "arn:{p}:" + service + ":{r}:{a}:{n}"
        return fmt.format(p=self.partition, r=self.region, a=self.account, n=self.name(logical_id))

    def ref(self, name):
        pseudo = {
            "AWS::Partition": self.partition,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": "arn:{}:cloudformation:{}:{}:stack/{}/00000000-0000-0000-0000-000000000000".format(
                self.partition, self.region, self.account, self.stack_name
            ),
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": None,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            default = self.parameters[name].get("Default")
            return default if isinstance(default, str) else self.name(name)
        rtype = self.resources.get(name, {}).get("Type", "")
        if rtype in REF_IS_ARN:
            return self.arn(name)
        if rtype == "AWS::SQS::Queue":
            return "https://sqs.{}.amazonaws.com/{}/{}".format(self.region, self.account, self.name(name))
        if rtype == "AWS::KMS::Key":
            return "00000000-0000-0000-0000-000000000000"
        return self.name(name)

    def get_att(self, logical_id, attribute):
        if attribute == "Arn" or attribute.endswith(".Arn"):
            return self.arn(logical_id)
        if attribute == "StreamArn":
            return self.arn(logical_id) + "/stream/2020-01-01T00:00:00.000"
        return self.name(logical_id)

    def resolve(self, value):
        """The value with every intrinsic replaced by text of the shape AWS would give."""
        if isinstance(value, list):
            out = [self.resolve(v) for v in value]
            return [v for v in out if v is not None]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Join":
                parts = self.resolve(arg[1])
                return arg[0].join(str(p) for p in parts) if isinstance(parts, list) else str(parts)
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                return self.sub(text, variables)
            if key == "Fn::Select":
                items = self.resolve(arg[1])
                return items[int(self.resolve(arg[0]))] if isinstance(items, list) else items
            if key == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
            if key == "Fn::If":
                return self.resolve(arg[1])
            if key == "Fn::ImportValue":
                return "imported-" + self.name(str(self.resolve(arg)))
            if key in ("Fn::GetAZs",):
                return [self.region + "a", self.region + "b"]
        return {k: self.resolve(v) for k, v in value.items()}

    def sub(self, text, variables):
        def one(match):
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            resolved = self.ref(name)
            return "" if resolved is None else str(resolved)

        return re.sub(r"\$\{([^}]+)\}", one, text)


def documents(template, locations):
    """(logical ID, property path, document, kind) of every policy document."""
    for logical_id, resource in sorted(template.get("Resources", {}).items()):
        props = resource.get("Properties", {})
        for rtype, path, kind in locations:
            if rtype != resource.get("Type"):
                continue
            if "[*]." in path:
                lst, field = path.split("[*].", 1)
                for i, item in enumerate(props.get(lst, []) if isinstance(props.get(lst), list) else []):
                    if isinstance(item, dict) and field in item:
                        yield logical_id, "{}[{}].{}".format(lst, i, field), item[field], kind
            elif path in props:
                yield logical_id, path, props[path], kind


def findings_of(client, **request):
    out, token = [], None
    while True:
        page = client.validate_policy(**request, **({"nextToken": token} if token else {}))
        out += page.get("findings", [])
        token = page.get("nextToken")
        if not token:
            return out


def validate(settings, client, read_template):
    """Checks every policy; returns (test cases, blocking count)."""
    blocking = set(settings.get("blocking", ["ERROR", "SECURITY_WARNING"]))
    reference = settings.get("reference_policy")
    cases, failed = [], 0
    for t in settings["templates"]:
        template = read_template(t["path"])
        env = Environment(template, t["account"], t["region"], t["stack"])
        for logical_id, path, doc, kind in documents(template, settings["locations"]):
            if isinstance(doc, str):
                doc = json.loads(env.sub(doc, {}))
            policy = json.dumps(env.resolve(doc))
            request = {"policyDocument": policy, "locale": "EN"}
            if kind == "Identity":
                request["policyType"] = "IDENTITY_POLICY"
            else:
                request["policyType"] = "RESOURCE_POLICY"
                rtype = template["Resources"][logical_id]["Type"]
                if kind == "Trust":
                    request["validatePolicyResourceType"] = "AWS::IAM::AssumeRolePolicyDocument"
                elif rtype in VALIDATE_RESOURCE_TYPES:
                    request["validatePolicyResourceType"] = VALIDATE_RESOURCE_TYPES[rtype]
            findings = findings_of(client, **request)
            problems = [
                "{} {}: {}".format(f["findingType"], f.get("issueCode", ""), f.get("findingDetails", ""))
                for f in findings
                if f["findingType"] in blocking
            ]
            notes = [
                "{} {}: {}".format(f["findingType"], f.get("issueCode", ""), f.get("findingDetails", ""))
                for f in findings
                if f["findingType"] not in blocking
            ]
            if reference is not None and kind == "Identity":
                answer = client.check_no_new_access(
                    newPolicyDocument=policy,
                    existingPolicyDocument=json.dumps(reference),
                    policyType="IDENTITY_POLICY",
                )
                if answer.get("result") != "PASS":
                    reasons = "; ".join(r.get("description", "") for r in answer.get("reasons", []))
                    problems.append("NEW_ACCESS {}: {}".format(answer.get("message", ""), reasons))
            failed += 1 if problems else 0
            cases.append(
                {
                    "suite": t["stack"],
                    "name": "{} {}".format(logical_id, path),
                    "problems": problems,
                    "notes": notes,
                }
            )
    return cases, failed


def junit(cases):
    suites = {}
    for c in cases:
        suites.setdefault(c["suite"], []).append(c)
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>"]
    for suite, items in suites.items():
        failures = sum(1 for c in items if c["problems"])
        out.append(
            "<testsuite name={} tests=\"{}\" failures=\"{}\">".format(quoteattr(suite), len(items), failures)
        )
        for c in items:
            out.append("<testcase classname={} name={}>".format(quoteattr(suite), quoteattr(c["name"])))
            if c["problems"]:
                out.append(
                    "<failure message={}>{}</failure>".format(
                        quoteattr(c["problems"][0]), escape("\n".join(c["problems"]))
                    )
                )
            if c["notes"]:
                out.append("<system-out>{}</system-out>".format(escape("\n".join(c["notes"]))))
            out.append("</testcase>")
        out.append("</testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def main(client=None, environ=os.environ, base="."):
    settings = json.loads(environ["CAIRN_POLICY_VALIDATION"])
    if client is None:
        import boto3  # CodeBuild's images have it.

        client = boto3.client("accessanalyzer")
    for t in settings["templates"]:
        if not t.get("account"):
            import boto3

            t["account"] = boto3.client("sts").get_caller_identity()["Account"]
        if not t.get("region"):
            t["region"] = environ.get("AWS_REGION", "us-east-1")

    def read_template(path):
        with open(os.path.join(base, path), encoding="utf-8") as f:
            return json.load(f)

    cases, failed = validate(settings, client, read_template)
    with open(os.path.join(base, settings.get("report", "policy-validation.xml")), "w", encoding="utf-8") as f:
        f.write(junit(cases))
    for c in cases:
        for p in c["problems"]:
            print("BLOCKING {} / {}: {}".format(c["suite"], c["name"], p))
        for n in c["notes"]:
            print("note {} / {}: {}".format(c["suite"], c["name"], n))
    print("policy validation: {} policies, {} with blocking findings".format(len(cases), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
