"""Runs the workflow's functions in the state machine's order against in-memory fakes of
CloudFormation, S3 and SSM: mandatory StackSets deployed where instances are missing,
drift detected, the drifted instance deleted and redeployed with its cached parameter
overrides, the dashboard written.

ORDER_JSON_FILE names the order JSON cairn synthesized (the synth tests pass it); without
it a small order is used. Run: python3 -m unittest discover -s tests (from the asset dir).
"""

import io
import json
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lambda"))
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["STATE_BUCKET"] = "state"
os.environ["ORDER_PARAMETER"] = "/order"
os.environ["DASHBOARD_BUCKET"] = "dashboard"

from botocore.exceptions import ClientError  # noqa: E402

import common  # noqa: E402
import drift_detection  # noqa: E402
import init_cleanup  # noqa: E402
import mandatory_deployment  # noqa: E402
import search_instance_to_heal  # noqa: E402
import stackset_cleanup  # noqa: E402
import status_html  # noqa: E402
import trigger_drift_status  # noqa: E402

SMALL_ORDER = {
    "version": 1,
    "order": ["base", "app"],
    "waves": [["base"], ["app"]],
    "stackSets": [
        {"name": "base", "mandatory": True, "selfHealing": True, "dependsOn": [], "antiDependsOn": [],
         "regions": ["us-east-1"], "targets": [{"target": "ou-aaaa-11111111", "region": "us-east-1"}]},
        {"name": "app", "mandatory": False, "selfHealing": True, "dependsOn": ["base"], "antiDependsOn": [],
         "regions": ["us-east-1"], "targets": [{"target": "ou-aaaa-11111111", "region": "us-east-1"}]},
    ],
    "conflicts": [],
}


class Pages:
    def __init__(self, pages):
        self.pages = pages

    def paginate(self, **kwargs):
        return self.pages(**kwargs)


class FakeS3:
    def __init__(self):
        self.objects = {}

    def put_object(self, Bucket, Key, Body, ContentType=None):
        self.objects[(Bucket, Key)] = Body

    def get_object(self, Bucket, Key):
        return {"Body": io.BytesIO(self.objects[(Bucket, Key)])}

    def delete_objects(self, Bucket, Delete):
        for o in Delete["Objects"]:
            self.objects.pop((Bucket, o["Key"]), None)

    def get_paginator(self, name):
        assert name == "list_objects_v2"
        return Pages(lambda Bucket, Prefix: [{"Contents": [
            {"Key": k} for (b, k) in self.objects if b == Bucket and k.startswith(Prefix)]}])


class FakeSsm:
    def __init__(self, order):
        self.order = order

    def get_parameter(self, Name):
        assert Name == "/order"
        return {"Parameter": {"Value": json.dumps(self.order)}}


class FakeCloudFormation:
    """Instances per StackSet; every operation completes at once."""

    def __init__(self, instances):
        self.instances = instances
        self.calls = []
        self.operations = {}
        self.busy = 0

    def _op(self, name, action):
        op = f"op-{len(self.operations) + 1}"
        self.operations[op] = {"Action": action, "Status": "SUCCEEDED"}
        return {"OperationId": op}

    def get_paginator(self, name):
        assert name == "list_stack_instances"

        def pages(StackSetName, Filters=None):
            out = list(self.instances.get(StackSetName, []))
            for f in Filters or []:
                if f["Name"] == "DRIFT_STATUS":
                    out = [i for i in out if i.get("DriftStatus") == f["Values"]]
                if f["Name"] == "DETAILED_STATUS":
                    out = [i for i in out if i["StackInstanceStatus"]["DetailedStatus"] == f["Values"]]
            return [{"Summaries": out}]

        return Pages(pages)

    def create_stack_instances(self, StackSetName, DeploymentTargets, Regions, OperationPreferences,
                               ParameterOverrides=None):
        if self.busy:
            self.busy -= 1
            raise ClientError({"Error": {"Code": "OperationInProgressException", "Message": "busy"}},
                              "CreateStackInstances")
        self.calls.append(("create", StackSetName, DeploymentTargets, Regions, ParameterOverrides))
        for ou in DeploymentTargets.get("OrganizationalUnitIds", []):
            for r in Regions:
                account = DeploymentTargets.get("Accounts", ["222222222222"])[0]
                self.instances.setdefault(StackSetName, []).append(
                    {"Account": account, "Region": r, "OrganizationalUnitId": ou, "DriftStatus": "IN_SYNC",
                     "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}})
        return self._op(StackSetName, "CREATE")

    def detect_stack_set_drift(self, StackSetName, OperationPreferences):
        self.calls.append(("detect", StackSetName))
        return self._op(StackSetName, "DETECT_DRIFT")

    def describe_stack_set_operation(self, StackSetName, OperationId):
        return {"StackSetOperation": self.operations[OperationId]}

    def describe_stack_instance(self, StackSetName, StackInstanceAccount, StackInstanceRegion):
        return {"StackInstance": {"ParameterOverrides": [{"ParameterKey": "Env", "ParameterValue": "dev"}]}}

    def delete_stack_instances(self, StackSetName, DeploymentTargets, Regions, RetainStacks, OperationPreferences):
        self.calls.append(("delete", StackSetName, DeploymentTargets, Regions, RetainStacks))
        self.instances[StackSetName] = [
            i for i in self.instances.get(StackSetName, [])
            if not (i["Account"] in DeploymentTargets["Accounts"] and i["Region"] in Regions)]
        return self._op(StackSetName, "DELETE")


def load_order():
    path = os.environ.get("ORDER_JSON_FILE")
    if path:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return SMALL_ORDER


class WorkflowTest(unittest.TestCase):
    def setUp(self):
        self.order = load_order()
        first = self.order["stackSets"][0]
        target = first["targets"][0]
        healing = [s["name"] for s in self.order["stackSets"] if s["selfHealing"]]
        self.drifted_set = healing[-1]
        drifted_spec = common.stack_set(self.order, self.drifted_set)
        # The first StackSet is deployed nowhere; the last self-healing one has one
        # drifted instance.
        self.cfn = FakeCloudFormation({
            self.drifted_set: [{
                "Account": "333333333333", "Region": drifted_spec["targets"][0]["region"],
                "OrganizationalUnitId": drifted_spec["targets"][0]["target"], "DriftStatus": "DRIFTED",
                "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}}],
        })
        self.first = first
        self.first_target = target
        self.s3 = FakeS3()
        common.cloudformation = self.cfn
        common.s3 = self.s3
        common.ssm = FakeSsm(self.order)

    def run_operation(self, key, result):
        """Wait/poll loop of the state machine: until the operation is not running."""
        while True:
            status = trigger_drift_status.handler(
                {"stateKey": key, "stackSetName": result["stackSetName"], "operationId": result["operationId"]},
                None)
            if status["status"] not in common.RUNNING_STATUSES:
                return status

    def test_the_workflow_deploys_mandatory_stack_sets_and_heals_drift(self):
        run = init_cleanup.handler({"executionId": "exec-1"}, None)
        key = run["stateKey"]
        self.assertEqual(key, "runs/exec-1/state.json")

        # Mandatory StackSets, in order, until done.
        deployed = []
        while True:
            result = mandatory_deployment.handler({"stateKey": key}, None)
            if result["done"]:
                break
            deployed.append(result["stackSetName"])
            self.assertEqual(self.run_operation(key, result)["status"], "SUCCEEDED")
        mandatory = [s["name"] for s in self.order["stackSets"] if s["mandatory"]]
        self.assertNotIn(self.drifted_set, mandatory)
        self.assertEqual(deployed, [n for n in self.order["order"] if n in mandatory])
        creates = [c for c in self.cfn.calls if c[0] == "create"]
        self.assertEqual(creates[0][1], self.first["name"])
        self.assertIn(self.first_target["target"], creates[0][2]["OrganizationalUnitIds"])

        # Drift detection on each self-healing StackSet; heal what drifted.
        detected = []
        while True:
            drift = drift_detection.handler({"stateKey": key}, None)
            if drift["done"]:
                break
            detected.append(drift["stackSetName"])
            self.run_operation(key, drift)
            found = search_instance_to_heal.handler({"stateKey": key, "stackSetName": drift["stackSetName"]}, None)
            if found["count"] == 0:
                continue
            while True:
                heal = stackset_cleanup.handler(
                    {"stateKey": key, "stackSetName": drift["stackSetName"], "action": "delete"}, None)
                if heal["done"]:
                    break
                if self.run_operation(key, {**heal, "stackSetName": drift["stackSetName"]})["status"] != "SUCCEEDED":
                    continue
                redeploy = stackset_cleanup.handler(
                    {"stateKey": key, "stackSetName": drift["stackSetName"], "action": "redeploy"}, None)
                self.run_operation(key, {**redeploy, "stackSetName": drift["stackSetName"]})
        self.assertEqual(detected, [s["name"] for s in self.order["stackSets"] if s["selfHealing"]])

        # The drifted instance was deleted, then recreated with its cached overrides.
        deletes = [c for c in self.cfn.calls if c[0] == "delete"]
        self.assertEqual(len(deletes), 1)
        self.assertEqual(deletes[0][1], self.drifted_set)
        self.assertEqual(deletes[0][2]["Accounts"], ["333333333333"])
        self.assertEqual(deletes[0][2]["AccountFilterType"], "INTERSECTION")
        self.assertFalse(deletes[0][4])
        recreate = [c for c in self.cfn.calls if c[0] == "create" and c[1] == self.drifted_set][-1]
        self.assertEqual(recreate[4], [{"ParameterKey": "Env", "ParameterValue": "dev"}])
        overrides = [k for (_, k) in self.s3.objects if "/overrides/" in k]
        self.assertEqual(overrides, [f"runs/exec-1/overrides/{self.drifted_set}/333333333333-"
                                     f"{deletes[0][3][0]}.json"])

        summary = status_html.handler({"stateKey": key}, None)
        self.assertEqual(summary["healed"], 1)
        self.assertEqual(summary["failedOperations"], 0)
        page = self.s3.objects[("dashboard", "index.html")].decode()
        self.assertIn(self.drifted_set, page)
        self.assertIn("333333333333", page)

    def test_concurrency_errors_are_raised_by_name_for_the_retry(self):
        self.cfn.busy = 1
        with self.assertRaises(common.OperationInProgressException):
            common.call(self.cfn.create_stack_instances, StackSetName="x",
                        DeploymentTargets={"OrganizationalUnitIds": ["ou-aaaa-11111111"]},
                        Regions=["us-east-1"], OperationPreferences={})
        self.assertEqual(common.OperationInProgressException.__name__, "OperationInProgressException")


if __name__ == "__main__":
    unittest.main()
