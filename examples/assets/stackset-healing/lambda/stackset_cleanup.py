"""StackSetCleanup: heals one drifted instance in two steps.

``delete``: caches the instance's parameter overrides in the state bucket (they are lost
with the instance), then deletes the instance (its stack too). Returns ``done`` when no
drifted instance of the StackSet is left.
``redeploy``: creates the instance again with the cached overrides (recorded with its
operation: the instance is healed when that operation succeeds).
"""

import common


def _targets(instance):
    targets = {"Accounts": [instance["account"]]}
    if instance.get("organizationalUnitId"):
        targets["OrganizationalUnitIds"] = [instance["organizationalUnitId"]]
        targets["AccountFilterType"] = "INTERSECTION"
    return targets


def _overrides_key(state, name, instance):
    return (
        f"runs/{state['executionId']}/overrides/{name}/"
        f"{instance['account']}-{instance['region']}.json"
    )


def handler(event, _context):
    key = event["stateKey"]
    name = event["stackSetName"]
    state = common.load_json(key)
    current = state["current"]
    if event["action"] == "delete":
        drifted = common.load_json(current["healKey"])
        if current["index"] >= len(drifted):
            return {"done": True, "stackSetName": name, "operationId": None}
        instance = drifted[current["index"]]
        described = common.call(
            common.cloudformation.describe_stack_instance,
            StackSetName=name,
            StackInstanceAccount=instance["account"],
            StackInstanceRegion=instance["region"],
        )["StackInstance"]
        common.save_json(
            _overrides_key(state, name, instance), described.get("ParameterOverrides", [])
        )
        response = common.call(
            common.cloudformation.delete_stack_instances,
            StackSetName=name,
            DeploymentTargets=_targets(instance),
            Regions=[instance["region"]],
            RetainStacks=False,
            OperationPreferences=common.OPERATION_PREFERENCES,
        )
        current["index"] += 1
        current["instance"] = instance
        common.save_json(key, state)
        return {"done": False, "stackSetName": name, "operationId": response["OperationId"]}

    instance = current["instance"]
    overrides = common.load_json(_overrides_key(state, name, instance))
    kwargs = {
        "StackSetName": name,
        "DeploymentTargets": _targets(instance),
        "Regions": [instance["region"]],
        "OperationPreferences": common.OPERATION_PREFERENCES,
    }
    if overrides:
        kwargs["ParameterOverrides"] = overrides
    response = common.call(common.cloudformation.create_stack_instances, **kwargs)
    # Healed once this operation succeeds (the status check records it; the dashboard reads it).
    state["healed"].append({"stackSetName": name, **instance, "operationId": response["OperationId"]})
    common.save_json(key, state)
    return {"done": False, "stackSetName": name, "operationId": response["OperationId"]}
