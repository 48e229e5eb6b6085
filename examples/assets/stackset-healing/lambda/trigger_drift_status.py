"""TriggerDriftStatus: the status of a StackSet operation (drift detection, deployment,
deletion). The state machine waits and asks again while it is RUNNING, QUEUED or
STOPPING; a finished operation is recorded in the run's state."""

import common


def handler(event, _context):
    name = event["stackSetName"]
    operation_id = event["operationId"]
    op = common.call(
        common.cloudformation.describe_stack_set_operation,
        StackSetName=name,
        OperationId=operation_id,
    )["StackSetOperation"]
    status = op["Status"]
    result = {"status": status, "stackSetName": name, "operationId": operation_id}
    if status not in common.RUNNING_STATUSES:
        key = event["stateKey"]
        state = common.load_json(key)
        record = {
            "stackSetName": name,
            "operationId": operation_id,
            "action": op.get("Action"),
            "status": status,
            "reason": op.get("StatusReason"),
        }
        drift = op.get("StackSetDriftDetectionDetails")
        if drift:
            record["drift"] = {
                "status": drift.get("DriftStatus"),
                "drifted": drift.get("DriftedStackInstancesCount", 0),
                "inSync": drift.get("InSyncStackInstancesCount", 0),
                "failed": drift.get("FailedStackInstancesCount", 0),
            }
        state["operations"].append(record)
        common.save_json(key, state)
    return result
