"""MandatoryStackSetDeployment: deploys the next mandatory StackSet, in the order cairn
computed, to the targets (OU and Region) where it has no instance yet.

Returns ``done`` when every mandatory StackSet was handled; otherwise the operation the
state machine polls until it is complete.
"""

import common


def handler(event, _context):
    key = event["stateKey"]
    state = common.load_json(key)
    order = state["order"]
    while state["mandatoryQueue"]:
        name = state["mandatoryQueue"].pop(0)
        spec = common.stack_set(order, name)
        skip = common.skipped(order, name)
        present = {
            (i.get("OrganizationalUnitId"), i.get("Region"))
            for i in common.list_instances(name)
        }
        missing = [
            (t["target"], t["region"])
            for t in spec["targets"]
            if (t["target"], t["region"]) not in present | skip
        ]
        if not missing:
            continue
        ous = sorted({t for t, _ in missing})
        regions = sorted({r for _, r in missing})
        response = common.call(
            common.cloudformation.create_stack_instances,
            StackSetName=name,
            DeploymentTargets={"OrganizationalUnitIds": ous},
            Regions=regions,
            OperationPreferences=common.OPERATION_PREFERENCES,
        )
        state["current"] = {"stackSetName": name, "operationId": response["OperationId"]}
        common.save_json(key, state)
        return {
            "done": False,
            "stackSetName": name,
            "operationId": response["OperationId"],
        }
    state["current"] = None
    common.save_json(key, state)
    return {"done": True, "stackSetName": None, "operationId": None}
