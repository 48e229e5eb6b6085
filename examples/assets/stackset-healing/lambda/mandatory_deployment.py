"""MandatoryStackSetDeployment: deploys the next mandatory StackSet, in the order cairn
computed, to every account where it has no instance yet.

"Mandatory" is per account: for each target (OU and Region) of the StackSet, every
ACTIVE account under the OU (nested OUs included) must have an instance in the Region.
An OU that has an instance in one account says nothing about the others (an account
that joined the OU later, or whose instance was deleted). The missing instances of one
Region are created in one operation (those accounts, intersected with their OUs); the
state machine polls it and calls again until the StackSet is complete, then moves on.

Returns ``done`` when every mandatory StackSet was handled; otherwise the operation the
state machine polls until it is complete. Accounts whose creation was already started in
this run are not tried again (a failed operation is recorded by the status check).
"""

import common


def missing_instances(order, name, tried=()):
    """(ou, account, region) of every instance the mandatory StackSet `name` lacks."""
    spec = common.stack_set(order, name)
    skip = common.skipped(order, name)
    present = {(i.get("Account"), i.get("Region")) for i in common.list_instances(name)}
    missing = set()
    for t in spec["targets"]:
        ou, region = t["target"], t["region"]
        if (ou, region) in skip:
            continue
        for account in common.accounts_under(ou):
            if (account, region) not in present and (name, account, region) not in tried:
                missing.add((ou, account, region))
    return sorted(missing)


def handler(event, _context):
    key = event["stateKey"]
    state = common.load_json(key)
    order = state["order"]
    state.setdefault("deployed", [])
    tried = {(d["stackSetName"], d["account"], d["region"]) for d in state["deployed"]}
    while state["mandatoryQueue"]:
        name = state["mandatoryQueue"][0]
        missing = missing_instances(order, name, tried)
        if not missing:
            state["mandatoryQueue"].pop(0)
            continue
        region = missing[0][2]
        batch = [m for m in missing if m[2] == region]
        response = common.call(
            common.cloudformation.create_stack_instances,
            StackSetName=name,
            DeploymentTargets={
                "OrganizationalUnitIds": sorted({ou for ou, _, _ in batch}),
                "Accounts": sorted({a for _, a, _ in batch}),
                "AccountFilterType": "INTERSECTION",
            },
            Regions=[region],
            OperationPreferences=common.OPERATION_PREFERENCES,
        )
        for _, account, _ in batch:
            state["deployed"].append(
                {"stackSetName": name, "account": account, "region": region, "operationId": response["OperationId"]}
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
