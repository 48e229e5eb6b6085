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


class FakeOrganizations:
    """Accounts per OU (no nested OUs unless `children` says so) and their status; an
    account in no OU and not in `others` has left the organisation."""

    def __init__(self, ous, status=None, children=None):
        self.ous = ous
        self.status = status or {}
        self.children = children or {}

    def _accounts(self):
        ids = {a for accounts in self.ous.values() for a in accounts}
        return [{"Id": a, "Status": self.status.get(a, "ACTIVE")} for a in sorted(ids)]

    def get_paginator(self, name):
        if name == "list_accounts":
            return Pages(lambda: [{"Accounts": self._accounts()}])
        if name == "list_accounts_for_parent":
            return Pages(lambda ParentId: [{"Accounts": [
                {"Id": a, "Status": self.status.get(a, "ACTIVE")} for a in self.ous.get(ParentId, [])]}])
        assert name == "list_children"
        return Pages(lambda ParentId, ChildType: [{"Children": [
            {"Id": c, "Type": ChildType} for c in self.children.get(ParentId, [])]}])


def organization_for(order, members=("222222222222", "333333333333")):
    """Every OU of the order has the same member accounts."""
    ous = {t["target"] for s in order["stackSets"] for t in s["targets"]}
    return FakeOrganizations({ou: list(members) for ou in ous})


class FakeCloudFormation:
    """Instances per StackSet; every operation completes at once."""

    def __init__(self, instances):
        self.instances = instances
        self.calls = []
        self.operations = {}
        self.busy = 0
        self.failing_deletes = set()

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
        ou = DeploymentTargets.get("OrganizationalUnitIds", [None])[0]
        for account in DeploymentTargets.get("Accounts", ["222222222222"]):
            for r in Regions:
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
        if StackSetName in self.failing_deletes:
            op = self._op(StackSetName, "DELETE")
            self.operations[op["OperationId"]]["Status"] = "FAILED"
            return op
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
        common.organizations = organization_for(self.order)

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
        # One operation per StackSet and Region with missing instances, in the order.
        in_order = [n for i, n in enumerate(deployed) if i == 0 or deployed[i - 1] != n]
        self.assertEqual(in_order, [n for n in self.order["order"] if n in mandatory])
        for name in mandatory:
            self.assertEqual(mandatory_deployment.missing_instances(self.order, name), [], name)
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
        # The dashboard names no account: the last four digits only.
        self.assertIn("********3333", page)
        self.assertNotIn("333333333333", page)

    def cleanup_loop(self):
        """InitCleanup, its deletion polled, InitCleanup again ... until done (the state
        machine's loop); returns the state key and the number of calls."""
        result = init_cleanup.handler({"executionId": "exec-2"}, None)
        calls = 1
        while not result["done"]:
            self.run_operation(result["stateKey"], result)
            result = init_cleanup.handler({"executionId": "exec-2", "stateKey": result["stateKey"]}, None)
            calls += 1
            self.assertLess(calls, 20, "the cleanup loop ends")
        return result["stateKey"], calls

    def test_init_cleanup_deletes_instances_of_accounts_that_left_or_are_suspended(self):
        names = self.order["order"]
        ou, region = self.first_target["target"], self.first_target["region"]

        def instance(account):
            return {"Account": account, "Region": region, "OrganizationalUnitId": ou, "DriftStatus": "IN_SYNC",
                    "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}}

        # 555555555555 left the organisation; 444444444444 is suspended.
        common.organizations = FakeOrganizations(
            {ou: ["222222222222", "444444444444"]}, status={"444444444444": "SUSPENDED"})
        self.cfn.instances = {
            names[0]: [instance("222222222222"), instance("444444444444"), instance("555555555555")],
            names[-1]: [instance("555555555555")],
        }
        key, calls = self.cleanup_loop()
        deletes = [c for c in self.cfn.calls if c[0] == "delete"]
        self.assertEqual([d[1] for d in deletes], [names[0], names[-1]])
        self.assertEqual(deletes[0][2], {"Accounts": ["444444444444", "555555555555"],
                                         "OrganizationalUnitIds": [ou], "AccountFilterType": "INTERSECTION"})
        self.assertEqual(deletes[0][3], [region])
        self.assertTrue(deletes[0][4], "the stacks are retained: their accounts cannot be reached")
        self.assertEqual(calls, 3)
        # Clean: only the active account's instance is left.
        self.assertEqual([i["Account"] for i in self.cfn.instances[names[0]]], ["222222222222"])
        self.assertEqual(self.cfn.instances[names[-1]], [])
        state = common.load_json(key)
        self.assertEqual(
            sorted((r["stackSetName"], r["account"], r["reason"]) for r in state["removed"]),
            sorted([(names[0], "444444444444", "suspended"), (names[0], "555555555555", "left the organisation"),
                    (names[-1], "555555555555", "left the organisation")]))
        self.assertEqual([o["status"] for o in state["operations"]], ["SUCCEEDED", "SUCCEEDED"])

    def test_a_failed_cleanup_is_not_retried_forever(self):
        name = self.order["order"][0]
        region = self.first_target["region"]
        self.cfn.instances = {name: [{"Account": "555555555555", "Region": region,
                                      "OrganizationalUnitId": self.first_target["target"],
                                      "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}}]}
        self.cfn.failing_deletes.add(name)
        key, calls = self.cleanup_loop()
        self.assertEqual(calls, 2)
        self.assertEqual(common.load_json(key)["operations"][0]["status"], "FAILED")

    def test_mandatory_is_checked_per_account(self):
        name = self.first["name"]
        ou, region = self.first_target["target"], self.first_target["region"]
        # Two accounts in the OU, one of them in a nested OU; only one has the instance.
        common.organizations = FakeOrganizations(
            {ou: ["222222222222"], "ou-nested": ["666666666666"]}, children={ou: ["ou-nested"]})
        self.cfn.instances = {name: [{"Account": "222222222222", "Region": region, "OrganizationalUnitId": ou,
                                      "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}}]}
        key = init_cleanup.handler({"executionId": "exec-3"}, None)["stateKey"]
        result = mandatory_deployment.handler({"stateKey": key}, None)
        self.assertFalse(result["done"])
        self.assertEqual(result["stackSetName"], name)
        create = [c for c in self.cfn.calls if c[0] == "create"][0]
        self.assertEqual(create[2], {"OrganizationalUnitIds": [ou], "Accounts": ["666666666666"],
                                     "AccountFilterType": "INTERSECTION"})
        self.assertEqual(create[3], [region])
        self.run_operation(key, result)
        # Every account of every target now has the first StackSet.
        while not result["done"]:
            result = mandatory_deployment.handler({"stateKey": key}, None)
            if not result["done"]:
                self.run_operation(key, result)
        for t in self.first["targets"]:
            accounts = {i["Account"] for i in self.cfn.instances[name] if i["Region"] == t["region"]}
            self.assertTrue({"222222222222", "666666666666"} <= accounts or t["target"] != ou, t)
        self.assertEqual(mandatory_deployment.missing_instances(self.order, name), [])

    def test_the_dashboard_names_no_account(self):
        ou, region = self.first_target["target"], self.first_target["region"]
        name = self.order["order"][0]
        common.organizations = FakeOrganizations({ou: ["222222222222"]})
        self.cfn.instances = {name: [
            {"Account": "555555555555", "Region": region, "OrganizationalUnitId": ou,
             "StackInstanceStatus": {"DetailedStatus": "INOPERABLE"}}]}
        key, _ = self.cleanup_loop()
        state = common.load_json(key)
        state["operations"].append({"stackSetName": name, "operationId": "op-x", "action": "CREATE",
                                    "status": "FAILED", "reason": "Account 666666666666 should have a role"})
        state["operations"].append({"stackSetName": name, "operationId": "op-y", "action": "CREATE",
                                    "status": "SUCCEEDED", "reason": None})
        state["healed"].append({"stackSetName": name, "account": "777777777777", "region": region,
                                "operationId": "op-y"})
        common.save_json(key, state)
        status_html.handler({"stateKey": key}, None)
        for obj in ("status.json", "index.html"):
            text = self.s3.objects[("dashboard", obj)].decode()
            for account in ("555555555555", "666666666666", "777777777777"):
                self.assertNotIn(account, text, obj)
                if obj == "status.json" or account != "666666666666":
                    self.assertIn("********" + account[-4:], text, obj)
        report = json.loads(self.s3.objects[("dashboard", "status.json")])
        self.assertEqual(report["removed"][0]["reason"], "left the organisation")
        self.assertEqual(report["inoperable"][0]["account"], "********5555")
        # The run state keeps the ids for the operators.
        self.assertEqual(common.load_json(key)["removed"][0]["account"], "555555555555")

    def test_a_failed_redeployment_is_not_counted_healed(self):
        name = self.order["order"][0]
        region = self.first_target["region"]
        self.cfn.instances = {}
        key, _ = self.cleanup_loop()
        state = common.load_json(key)
        # The drifted instance was deleted; its redeployment failed (e.g. a resource kept
        # on deletion under a fixed name already exists).
        state["operations"].append({"stackSetName": name, "operationId": "op-r", "action": "CREATE",
                                    "status": "FAILED", "reason": "Resource already exists"})
        state["healed"].append({"stackSetName": name, "account": "888888888888", "region": region,
                                "operationId": "op-r"})
        common.save_json(key, state)
        summary = status_html.handler({"stateKey": key}, None)
        self.assertEqual(summary["healed"], 0)
        self.assertEqual(summary["failedOperations"], 1)
        report = json.loads(self.s3.objects[("dashboard", "status.json")])
        self.assertEqual(report["healed"], [])
        self.assertEqual([h["account"] for h in report["healFailed"]], ["********8888"])
        page = self.s3.objects[("dashboard", "index.html")].decode()
        self.assertIn("Deleted but not deployed again</h2><ul><li>" + name, page)

    def test_concurrency_errors_are_raised_by_name_for_the_retry(self):
        self.cfn.busy = 1
        with self.assertRaises(common.OperationInProgressException):
            common.call(self.cfn.create_stack_instances, StackSetName="x",
                        DeploymentTargets={"OrganizationalUnitIds": ["ou-aaaa-11111111"]},
                        Regions=["us-east-1"], OperationPreferences={})
        self.assertEqual(common.OperationInProgressException.__name__, "OperationInProgressException")


if __name__ == "__main__":
    unittest.main()
