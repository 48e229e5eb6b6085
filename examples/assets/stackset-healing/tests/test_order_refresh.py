"""StackSetOrderRefresh against an in-memory CloudFormation and SSM: the order written
when a StackSet operation succeeds is the one cairn synthesizes from the same tags, a
tag changed outside the app changes it (and the workflow's next run reads it), and an
ordering problem leaves the parameter as it is.

STACK_SETS_FILE names the StackSets of the synthesized template (name, tags, instance
groups) and ORDER_JSON_FILE the order cairn wrote for them (the synth tests pass both);
without them a small built-in set is used.
"""

import copy
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lambda"))
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["STATE_BUCKET"] = "state"
os.environ["ORDER_PARAMETER"] = "/order"

import boto3  # noqa: E402
import common  # noqa: E402
import order_refresh  # noqa: E402

SMALL = [
    {"name": "app", "tags": [{"Key": "dependson", "Value": "base"}, {"Key": "mandatory", "Value": "false"},
                             {"Key": "selfhealing", "Value": "true"}],
     "groups": [{"ous": ["ou-aaaa-11111111"], "regions": ["us-east-1"]}]},
    {"name": "base", "tags": [{"Key": "mandatory", "Value": "true"}, {"Key": "selfhealing", "Value": "true"}],
     "groups": [{"ous": ["ou-aaaa-11111111"], "regions": ["us-east-1", "eu-west-1"]}]},
    {"name": "untagged", "tags": [], "groups": [{"ous": ["ou-aaaa-11111111"], "regions": ["us-east-1"]}]},
]
SMALL_ORDER = {
    "version": 1, "order": ["base", "app"], "waves": [["base"], ["app"]], "conflicts": [],
    "stackSets": [
        {"name": "base", "mandatory": True, "selfHealing": True, "dependsOn": [], "antiDependsOn": [],
         "regions": ["us-east-1", "eu-west-1"],
         "targets": [{"target": "ou-aaaa-11111111", "region": "us-east-1"},
                     {"target": "ou-aaaa-11111111", "region": "eu-west-1"}]},
        {"name": "app", "mandatory": False, "selfHealing": True, "dependsOn": ["base"], "antiDependsOn": [],
         "regions": ["us-east-1"], "targets": [{"target": "ou-aaaa-11111111", "region": "us-east-1"}]},
    ],
}


class Pages:
    def __init__(self, pages):
        self.pages = pages

    def paginate(self, **kwargs):
        return self.pages(**kwargs)


# What the SDK can paginate (a paginator the SDK lacks fails in Lambda as it does here).
SDK = boto3.client("cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


class FakeCloudFormation:
    def __init__(self, stack_sets):
        self.stack_sets = {s["name"]: s for s in stack_sets}

    def get_paginator(self, name):
        assert SDK.can_paginate(name), f"the SDK has no paginator for {name}"
        assert name == "list_stack_sets"
        return Pages(lambda Status: [{"Summaries": [
            {"StackSetName": n, "Status": "ACTIVE"} for n in sorted(self.stack_sets)]}])

    def list_stack_set_auto_deployment_targets(self, StackSetName, NextToken=None):
        """One OU per page, as a long list comes."""
        targets = [{"OrganizationalUnitId": ou, "Regions": g["regions"]}
                   for g in self.stack_sets[StackSetName]["groups"] for ou in g["ous"]]
        start = int(NextToken or 0)
        page = {"Summaries": targets[start:start + 1]}
        if start + 1 < len(targets):
            page["NextToken"] = str(start + 1)
        return page

    def describe_stack_set(self, StackSetName):
        return {"StackSet": {"StackSetName": StackSetName, "Tags": self.stack_sets[StackSetName]["tags"]}}


class FakeSsm:
    def __init__(self):
        self.values = {}

    def put_parameter(self, Name, Value, Type, Tier, Overwrite):
        assert Type == "String" and Overwrite
        self.values[Name] = Value

    def get_parameter(self, Name):
        return {"Parameter": {"Value": self.values[Name]}}


def load():
    sets_file, order_file = os.environ.get("STACK_SETS_FILE"), os.environ.get("ORDER_JSON_FILE")
    if sets_file and order_file:
        with open(sets_file, encoding="utf-8") as f, open(order_file, encoding="utf-8") as g:
            return json.load(f), json.load(g)
    return copy.deepcopy(SMALL), SMALL_ORDER


def set_tag(stack_set, key, value):
    stack_set["tags"] = [t for t in stack_set["tags"] if t["Key"] != key] + [{"Key": key, "Value": value}]


SUCCEEDED = {"source": "aws.cloudformation", "detail-type": "CloudFormation StackSet Operation Status Change",
             "detail": {"status": "SUCCEEDED"}}


class OrderRefreshTest(unittest.TestCase):
    def setUp(self):
        self.sets, self.synthesized = load()
        self.cfn = FakeCloudFormation(self.sets)
        self.ssm = FakeSsm()
        common.cloudformation = self.cfn
        common.ssm = self.ssm

    def written(self):
        return json.loads(self.ssm.values["/order"])

    def test_the_refreshed_order_is_the_synthesized_one(self):
        result = order_refresh.handler(SUCCEEDED, None)
        self.assertTrue(result["updated"])
        self.assertEqual(self.written(), self.synthesized)

    def test_a_tag_changed_outside_the_app_changes_the_order(self):
        order_refresh.handler(SUCCEEDED, None)
        before = self.written()
        last = before["order"][-1]
        self.assertNotIn(last, before["waves"][0])
        # The last StackSet's dependson tag is removed (edited in the console): it no
        # longer waits for anything.
        stack_set = self.cfn.stack_sets[last]
        stack_set["tags"] = [t for t in stack_set["tags"] if t["Key"] != "dependson"]
        order_refresh.handler(SUCCEEDED, None)
        after = self.written()
        self.assertIn(last, after["waves"][0])
        self.assertNotEqual(after["order"], before["order"])
        self.assertEqual(common.stack_set(after, last)["dependsOn"], [])
        # The workflow's next run reads the new order.
        self.assertEqual(common.load_order()["order"], after["order"])

    def test_an_ordering_problem_leaves_the_parameter_as_it_is(self):
        order_refresh.handler(SUCCEEDED, None)
        before = self.ssm.values["/order"]
        order = self.written()["order"]
        set_tag(self.cfn.stack_sets[order[0]], "dependson", order[-1])
        set_tag(self.cfn.stack_sets[order[-1]], "dependson", order[0])
        with self.assertRaises(order_refresh.OrderError) as e:
            order_refresh.handler(SUCCEEDED, None)
        self.assertIn("cycle", str(e.exception))
        self.assertEqual(self.ssm.values["/order"], before)

    def test_a_failed_operation_changes_nothing(self):
        result = order_refresh.handler({"detail": {"status": "FAILED"}}, None)
        self.assertFalse(result["updated"])
        self.assertEqual(self.ssm.values, {})


if __name__ == "__main__":
    unittest.main()
