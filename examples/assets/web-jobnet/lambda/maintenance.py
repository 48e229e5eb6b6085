"""Puts the web site into maintenance and takes it out again.

create: adds a listener rule at PRIORITY on LISTENER_ARN that answers every path with
        the maintenance page (503); does nothing when the rule is already there.
delete: removes the rule at PRIORITY; does nothing when there is none.
"""

import os

import boto3

elbv2 = boto3.client("elbv2")
LISTENER_ARN = os.environ["LISTENER_ARN"]
PRIORITY = int(os.environ.get("PRIORITY", "1"))

with open(os.path.join(os.path.dirname(__file__), "maintenance.html"), encoding="utf-8") as f:
    PAGE = f.read()  # a fixed response body holds at most 1024 characters


def _maintenance_rules():
    rules = elbv2.describe_rules(ListenerArn=LISTENER_ARN)["Rules"]
    return [r for r in rules if r["Priority"] == str(PRIORITY)]


def create(_event, _context):
    existing = _maintenance_rules()
    if existing:
        return {"ruleArn": existing[0]["RuleArn"], "created": False}
    r = elbv2.create_rule(
        ListenerArn=LISTENER_ARN,
        Priority=PRIORITY,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
        Actions=[
            {
                "Type": "fixed-response",
                "FixedResponseConfig": {
                    "StatusCode": "503",
                    "ContentType": "text/html",
                    "MessageBody": PAGE,
                },
            }
        ],
    )
    rule_arn = r["Rules"][0]["RuleArn"]
    print(f"maintenance on: {rule_arn}")
    return {"ruleArn": rule_arn, "created": True}


def delete(_event, _context):
    deleted = []
    for rule in _maintenance_rules():
        elbv2.delete_rule(RuleArn=rule["RuleArn"])
        deleted.append(rule["RuleArn"])
    print(f"maintenance off: {deleted or 'no rule'}")
    return {"deleted": deleted}
