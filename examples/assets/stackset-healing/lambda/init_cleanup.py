"""StackSetInitCleanup: starts a run, then removes the StackSet instances of accounts
that left the organisation or are suspended, one StackSet per call, until none is left.

First call (``{"executionId"}``): removes what an earlier attempt of the same execution
left under ``runs/<execution>/``, reads the order cairn wrote into SSM, records instances
that are INOPERABLE (they need an operator: the dashboard lists them) and writes the
run's initial state. Every call (the state machine calls again with ``{"executionId",
"stateKey"}`` once the deletion it started is complete) then looks for stale instances:
their account is not in the organisation (``ListAccounts``) or is SUSPENDED. The first
StackSet that has some gets one ``DeleteStackInstances`` (those accounts in its OUs,
their Regions, ``RetainStacks``: the stacks are in accounts nobody can reach any more)
and ``done`` is false with the operation to wait for; ``done`` is true when no stale
instance is left. An instance whose deletion was already started in this run is not
tried again (a failed deletion is recorded by the status check and on the dashboard).
"""

import common


def _start(execution):
    prefix = f"runs/{execution}/"
    paginator = common.s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=common.STATE_BUCKET, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            common.s3.delete_objects(Bucket=common.STATE_BUCKET, Delete={"Objects": keys})

    order = common.load_order()
    inoperable = []
    for name in order["order"]:
        for i in common.list_instances(
            name, [{"Name": "DETAILED_STATUS", "Values": "INOPERABLE"}]
        ):
            inoperable.append(
                {"stackSetName": name, "account": i.get("Account"), "region": i.get("Region")}
            )
    state = {
        "executionId": execution,
        "order": order,
        "mandatoryQueue": [s["name"] for s in order["stackSets"] if s["mandatory"]],
        "healQueue": [s["name"] for s in order["stackSets"] if s["selfHealing"]],
        "operations": [],
        "healed": [],
        "removed": [],
        "inoperable": inoperable,
        "current": None,
    }
    key = common.state_key(execution)
    common.save_json(key, state)
    return key, state


def stale_instances(name, accounts):
    """Instances of `name` whose account is not an active member of the organisation
    (`accounts`: account id -> status)."""
    return [
        i
        for i in common.list_instances(name)
        if accounts.get(i.get("Account")) in (None, "SUSPENDED")
    ]


def handler(event, _context):
    execution = event["executionId"]
    key = event.get("stateKey")
    if key:
        state = common.load_json(key)
    else:
        key, state = _start(execution)
    state.setdefault("removed", [])
    accounts = common.organization_accounts()
    tried = {(r["stackSetName"], r["account"], r["region"]) for r in state["removed"]}
    for name in state["order"]["order"]:
        stale = [
            i
            for i in stale_instances(name, accounts)
            if (name, i.get("Account"), i.get("Region")) not in tried
        ]
        if not stale:
            continue
        ous = sorted({i["OrganizationalUnitId"] for i in stale if i.get("OrganizationalUnitId")})
        targets = {"Accounts": sorted({i["Account"] for i in stale})}
        if ous:
            targets["OrganizationalUnitIds"] = ous
            targets["AccountFilterType"] = "INTERSECTION"
        response = common.call(
            common.cloudformation.delete_stack_instances,
            StackSetName=name,
            DeploymentTargets=targets,
            Regions=sorted({i["Region"] for i in stale}),
            RetainStacks=True,
            OperationPreferences=common.OPERATION_PREFERENCES,
        )
        for i in stale:
            state["removed"].append(
                {
                    "stackSetName": name,
                    "account": i["Account"],
                    "region": i["Region"],
                    "reason": "suspended" if accounts.get(i["Account"]) == "SUSPENDED" else "left the organisation",
                    "operationId": response["OperationId"],
                }
            )
        common.save_json(key, state)
        return {
            "stateKey": key,
            "done": False,
            "stackSetName": name,
            "operationId": response["OperationId"],
        }
    return {"stateKey": key, "done": True, "stackSetName": None, "operationId": None}
