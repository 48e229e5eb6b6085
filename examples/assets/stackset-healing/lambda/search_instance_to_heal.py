"""SearchStackSetInstanceToHeal: after drift detection, lists the drifted instances of
the StackSet (minus those a conflict makes the workflow skip) into
``runs/<execution>/heal/<stackset>.json``; the state carries only that key."""

import common


def handler(event, _context):
    key = event["stateKey"]
    name = event["stackSetName"]
    state = common.load_json(key)
    skip = common.skipped(state["order"], name)
    drifted = [
        {
            "account": i["Account"],
            "region": i["Region"],
            "organizationalUnitId": i.get("OrganizationalUnitId"),
        }
        for i in common.list_instances(name, [{"Name": "DRIFT_STATUS", "Values": "DRIFTED"}])
        if (i.get("OrganizationalUnitId"), i["Region"]) not in skip
    ]
    heal_key = f"runs/{state['executionId']}/heal/{name}.json"
    common.save_json(heal_key, drifted)
    state["current"] = {"stackSetName": name, "healKey": heal_key, "index": 0, "instance": None}
    common.save_json(key, state)
    return {"stackSetName": name, "count": len(drifted), "healKey": heal_key}
