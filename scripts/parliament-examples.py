#!/usr/bin/env python3
"""Runs parliament (the offline IAM policy linter) over every policy document of every
template under the given assembly directories, and prints its findings.

Intrinsics are flattened the way parliament can read them: a Fn::Join or Fn::Sub becomes
its text with every reference replaced by `*`, any other intrinsic becomes `*`.

Usage: scripts/parliament-examples.py [--fail-on ISSUE,...] DIR...
Exits non-zero when a finding of one of the --fail-on issue kinds is found (the test
command fails on UNKNOWN_ACTION, UNKNOWN_PREFIX and MALFORMED ones).
"""
import glob, json, re, sys
from parliament import analyze_policy_string

DOCS = {
    "AWS::IAM::Role": ["AssumeRolePolicyDocument", "Policies[*].PolicyDocument"],
    "AWS::IAM::User": ["Policies[*].PolicyDocument"],
    "AWS::IAM::Group": ["Policies[*].PolicyDocument"],
    "AWS::IAM::Policy": ["PolicyDocument"],
    "AWS::IAM::ManagedPolicy": ["PolicyDocument"],
    "AWS::S3::BucketPolicy": ["PolicyDocument"],
    "AWS::SQS::QueuePolicy": ["PolicyDocument"],
    "AWS::SNS::TopicPolicy": ["PolicyDocument"],
    "AWS::KMS::Key": ["KeyPolicy"],
    "AWS::SecretsManager::ResourcePolicy": ["ResourcePolicy"],
    "AWS::ECR::Repository": ["RepositoryPolicyText"],
    "AWS::Logs::ResourcePolicy": ["PolicyDocument"],
    "AWS::EC2::VPCEndpoint": ["PolicyDocument"],
}


def flat(v):
    if isinstance(v, list):
        return [flat(x) for x in v]
    if isinstance(v, dict):
        if len(v) == 1:
            (k, x), = v.items()
            if k == "Fn::Join":
                return x[0].join(p if isinstance(p, str) else "*" for p in (x[1] if isinstance(x[1], list) else ["*"]))
            if k == "Fn::Sub":
                t = x if isinstance(x, str) else x[0]
                return re.sub(r"\$\{[^!][^}]*\}", "*", t)
            if k == "Ref" or k.startswith("Fn::"):
                return "*"
        return {k: flat(x) for k, x in v.items()}
    return v


def documents(template):
    for lid, r in (template.get("Resources") or {}).items():
        for path in DOCS.get(r.get("Type"), []):
            props = r.get("Properties") or {}
            if "[*]." in path:
                lst, field = path.split("[*].")
                for i, p in enumerate(props.get(lst) or []):
                    if isinstance(p, dict) and field in p:
                        yield lid, f"{lst}[{i}].{field}", p[field], path.startswith("Assume")
            elif path in props:
                doc = props[path]
                if isinstance(doc, str):
                    try:
                        doc = json.loads(doc)
                    except ValueError:
                        continue
                yield lid, path, doc, path.startswith("Assume")


RESOURCE_POLICY_TYPES = {t for t in DOCS if not t.startswith("AWS::IAM::")}


def r_type_is_resource(template, lid):
    return template["Resources"][lid].get("Type") in RESOURCE_POLICY_TYPES


def main(argv):
    fail_on = set()
    if argv and argv[0] == "--fail-on":
        fail_on = set(argv[1].split(","))
        argv = argv[2:]
    policies = findings = failing = 0
    for d in argv:
        for f in sorted(glob.glob(f"{d}/**/*.template.json", recursive=True)):
            t = json.load(open(f))
            for lid, path, doc, trust in documents(t):
                doc = flat(doc)
                if not isinstance(doc, dict):
                    continue  # built at deploy time (a custom resource's output)
                policies += 1
                policy = analyze_policy_string(json.dumps(doc), include_community_auditors=False,
                                               ignore_private_auditors=True)
                for x in policy.findings:
                    # parliament reads every document as an identity policy: trust and
                    # resource policies name a Principal instead of always a Resource.
                    if (trust or r_type_is_resource(t, lid)) and "neither Resource nor NotResource" in str(x.detail):
                        continue
                    findings += 1
                    bad = x.issue in fail_on
                    failing += bad
                    print(f"{'FAIL ' if bad else ''}{f}: {lid}.{path}: {x.issue} {x.detail} {x.location}")
    print(f"parliament: {findings} finding(s) in {policies} policies; {failing} failing")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
