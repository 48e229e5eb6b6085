"""StackSetInitCleanup: starts a run.

Removes what an earlier attempt of the same execution left under ``runs/<execution>/``,
reads the order cairn wrote into SSM, records instances that are INOPERABLE (they need an
operator: the dashboard lists them) and writes the run's initial state.
"""

import common


def handler(event, _context):
    execution = event["executionId"]
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
        "inoperable": inoperable,
        "current": None,
    }
    key = common.state_key(execution)
    common.save_json(key, state)
    return {"stateKey": key, "stackSets": len(order["order"]), "inoperable": len(inoperable)}
