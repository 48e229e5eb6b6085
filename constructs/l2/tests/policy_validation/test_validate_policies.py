"""The pipeline's policy-validation script against a fake Access Analyzer client."""

import importlib.util
import json
import os
import tempfile
import unittest

SCRIPT = os.environ.get(
    "CAIRN_POLICY_VALIDATOR",
    os.path.join(os.path.dirname(__file__), "..", "..", "src", "pipelines", "validate_policies.py"),
)
spec = importlib.util.spec_from_file_location("validate_policies", SCRIPT)
vp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vp)

LOCATIONS = [
    ["AWS::IAM::Role", "AssumeRolePolicyDocument", "Trust"],
    ["AWS::IAM::Role", "Policies[*].PolicyDocument", "Identity"],
    ["AWS::IAM::Policy", "PolicyDocument", "Identity"],
    ["AWS::S3::BucketPolicy", "PolicyDocument", "Resource"],
]

TEMPLATE = {
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            },
        },
        "RoleDefaultPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "RoleDefaultPolicy",
                "Roles": [{"Ref": "Role"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": ["s3:GetObject"],
                            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/*"]]},
                        },
                        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}},
                        {"Effect": "Allow", "Action": "sns:Publish", "Resource": {"Ref": "Topic"}},
                        {
                            "Effect": "Allow",
                            "Action": "logs:PutLogEvents",
                            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/x:*"},
                        },
                    ],
                },
            },
        },
        "BucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "Bucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Deny",
                            "Principal": {"AWS": "*"},
                            "Action": "s3:*",
                            "Resource": [{"Fn::GetAtt": ["Bucket", "Arn"]}],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
    }
}


class FakeAnalyzer:
    """Answers ValidatePolicy from a table of canned findings (by a text the policy
    contains), in pages of one finding; records every request."""

    def __init__(self, findings=None, new_access=None):
        self.findings = findings or {}
        self.new_access = new_access
        self.requests = []

    def validate_policy(self, **request):
        self.requests.append(request)
        found = [f for text, fs in self.findings.items() if text in request["policyDocument"] for f in fs]
        at = int(request.get("nextToken", "0"))
        page = {"findings": found[at : at + 1]}
        if at + 1 < len(found):
            page["nextToken"] = str(at + 1)
        return page

    def check_no_new_access(self, **request):
        self.requests.append(request)
        if self.new_access and self.new_access in request["newPolicyDocument"]:
            return {"result": "FAIL", "message": "new access", "reasons": [{"description": "s3:GetObject is new"}]}
        return {"result": "PASS", "reasons": []}


def settings(**extra):
    s = {
        "templates": [{"path": "Dev-App.template.json", "account": "111111111111", "region": "eu-west-1", "stack": "Dev-App"}],
        "locations": LOCATIONS,
        "report": "policy-validation.xml",
    }
    s.update(extra)
    return s


def run(fake, s):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "Dev-App.template.json"), "w") as f:
            json.dump(TEMPLATE, f)
        code = vp.main(client=fake, environ={"CAIRN_POLICY_VALIDATION": json.dumps(s)}, base=d)
        with open(os.path.join(d, "policy-validation.xml")) as f:
            return code, f.read()


class ValidatePolicies(unittest.TestCase):
    def test_every_policy_reaches_access_analyzer_without_intrinsics(self):
        fake = FakeAnalyzer()
        code, report = run(fake, settings())
        self.assertEqual(code, 0)
        kinds = [(r["policyType"], r.get("validatePolicyResourceType")) for r in fake.requests]
        self.assertEqual(
            kinds,
            [
                ("RESOURCE_POLICY", "AWS::S3::Bucket"),
                ("RESOURCE_POLICY", "AWS::IAM::AssumeRolePolicyDocument"),
                ("IDENTITY_POLICY", None),
            ],
        )
        identity = json.loads(fake.requests[2]["policyDocument"])
        resources = [s["Resource"] for s in identity["Statement"]]
        self.assertEqual(
            resources,
            [
                "arn:aws:s3:::bucket/*",
                "arn:aws:sqs:eu-west-1:111111111111:queue",
                "arn:aws:sns:eu-west-1:111111111111:topic",
                "arn:aws:logs:eu-west-1:111111111111:log-group:/x:*",
            ],
        )
        for r in fake.requests:
            self.assertNotIn("Fn::", r["policyDocument"])
            self.assertNotIn('"Ref"', r["policyDocument"])
        self.assertIn('<testsuite name="Dev-App" tests="3" failures="0">', report)

    def test_a_blocking_finding_fails_the_build_and_the_report_names_the_policy(self):
        fake = FakeAnalyzer(
            {
                "sqs:SendMessage": [
                    {"findingType": "SUGGESTION", "issueCode": "EMPTY_ARRAY_ACTION", "findingDetails": "a suggestion"},
                    {"findingType": "ERROR", "issueCode": "INVALID_ACTION", "findingDetails": "bad action"},
                ]
            }
        )
        code, report = run(fake, settings())
        self.assertEqual(code, 1)
        self.assertIn('failures="1"', report)
        self.assertIn('name="RoleDefaultPolicy PolicyDocument"', report)
        self.assertIn("ERROR INVALID_ACTION: bad action", report)
        # The second page was asked for: the suggestion came first.
        self.assertIn("SUGGESTION EMPTY_ARRAY_ACTION: a suggestion", report)

    def test_non_blocking_types_are_notes_and_the_blocking_set_is_the_users(self):
        fake = FakeAnalyzer({"sqs:SendMessage": [{"findingType": "WARNING", "issueCode": "X", "findingDetails": "w"}]})
        self.assertEqual(run(fake, settings())[0], 0)
        fake = FakeAnalyzer({"sqs:SendMessage": [{"findingType": "WARNING", "issueCode": "X", "findingDetails": "w"}]})
        self.assertEqual(run(fake, settings(blocking=["ERROR", "WARNING"]))[0], 1)

    def test_new_access_against_the_reference_policy_blocks(self):
        reference = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
        fake = FakeAnalyzer(new_access="s3:GetObject")
        code, report = run(fake, settings(reference_policy=reference))
        self.assertEqual(code, 1)
        self.assertIn("NEW_ACCESS new access: s3:GetObject is new", report)
        checks = [r for r in fake.requests if "newPolicyDocument" in r]
        self.assertEqual(len(checks), 1, "identity policies only")
        self.assertEqual(json.loads(checks[0]["existingPolicyDocument"]), reference)


if __name__ == "__main__":
    unittest.main()
