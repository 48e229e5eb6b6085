"""StackSetDriftDetection: starts drift detection on the next self-healing StackSet (in
order). Returns ``done`` when none is left."""

import common


def handler(event, _context):
    key = event["stateKey"]
    state = common.load_json(key)
    if not state["healQueue"]:
        return {"done": True, "stackSetName": None, "operationId": None}
    name = state["healQueue"][0]
    response = common.call(
        common.cloudformation.detect_stack_set_drift,
        StackSetName=name,
        OperationPreferences=common.OPERATION_PREFERENCES,
    )
    # Only popped once the operation started: a retried invocation starts it again.
    state["healQueue"].pop(0)
    state["current"] = {"stackSetName": name, "operationId": response["OperationId"]}
    common.save_json(key, state)
    return {"done": False, "stackSetName": name, "operationId": response["OperationId"]}
