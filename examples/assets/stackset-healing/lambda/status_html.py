"""StatusPrepareHTML: renders the dashboard (``index.html`` and ``status.json``) into the
dashboard bucket, which CloudFront serves (to the allowed networks only).

Neither object names an account: an instance is shown by its StackSet, Region and the
last four digits of its account id (``common.mask_account``). The run state in the state
bucket keeps the full ids for the operators."""

import html
import json
import os
from collections import Counter

import common

DASHBOARD_BUCKET = os.environ.get("DASHBOARD_BUCKET", "")


def _rows(state):
    rows = []
    for name in state["order"]["order"]:
        instances = common.list_instances(name)
        status = Counter(i.get("StackInstanceStatus", {}).get("DetailedStatus", i.get("Status")) for i in instances)
        drift = Counter(i.get("DriftStatus", "NOT_CHECKED") for i in instances)
        spec = common.stack_set(state["order"], name)
        rows.append(
            {
                "stackSetName": name,
                "mandatory": spec["mandatory"],
                "selfHealing": spec["selfHealing"],
                "instances": len(instances),
                "status": dict(sorted(status.items())),
                "drift": dict(sorted(drift.items())),
            }
        )
    return rows


def heal_outcomes(state):
    """The heals whose redeployment succeeded, and those whose redeployment failed or never
    finished (an instance deleted and not deployed again is not healed)."""
    status = {o["operationId"]: o["status"] for o in state["operations"]}
    healed = [h for h in state["healed"] if status.get(h.get("operationId")) == "SUCCEEDED"]
    failed = [h for h in state["healed"] if status.get(h.get("operationId")) != "SUCCEEDED"]
    return healed, failed


def render(state, rows):
    def cell(v):
        return f"<td>{html.escape(str(v))}</td>"

    body = "".join(
        "<tr>"
        + cell(r["stackSetName"])
        + cell("yes" if r["mandatory"] else "no")
        + cell("yes" if r["selfHealing"] else "no")
        + cell(r["instances"])
        + cell(", ".join(f"{k}: {v}" for k, v in r["status"].items()))
        + cell(", ".join(f"{k}: {v}" for k, v in r["drift"].items()))
        + "</tr>"
        for r in rows
    )
    def instances(records):
        return "".join(
            f"<li>{html.escape(h['stackSetName'])}: {html.escape(h['account'])} {html.escape(h['region'])}</li>"
            for h in records
        )

    healed = instances(state["healed"])
    heal_failed = instances(state.get("healFailed", []))
    removed = "".join(
        f"<li>{html.escape(r['stackSetName'])}: {html.escape(r['account'])} {html.escape(r['region'])}"
        f" ({html.escape(r['reason'])})</li>"
        for r in state.get("removed", [])
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>StackSet health</title></head><body>"
        f"<h1>StackSet health</h1><p>Run {html.escape(state['executionId'])}</p>"
        "<table><tr><th>StackSet</th><th>Mandatory</th><th>Self-healing</th><th>Instances</th>"
        f"<th>Status</th><th>Drift</th></tr>{body}</table>"
        f"<h2>Healed instances</h2><ul>{healed or '<li>none</li>'}</ul>"
        f"<h2>Deleted but not deployed again</h2><ul>{heal_failed or '<li>none</li>'}</ul>"
        f"<h2>Removed instances</h2><ul>{removed or '<li>none</li>'}</ul></body></html>"
    )


def masked(records):
    """Records of instances with their account ids masked."""
    return [dict(r, account=common.mask_account(r.get("account"))) for r in records]


def handler(event, _context):
    state = common.load_json(event["stateKey"])
    rows = _rows(state)
    healed, heal_failed = heal_outcomes(state)
    public = dict(
        state,
        healed=masked(healed),
        healFailed=masked(heal_failed),
        removed=masked(state.get("removed", [])),
        inoperable=masked(state["inoperable"]),
    )
    report = {
        "executionId": state["executionId"],
        "stackSets": rows,
        "operations": state["operations"],
        "healed": public["healed"],
        "healFailed": public["healFailed"],
        "removed": public["removed"],
        "inoperable": public["inoperable"],
    }
    common.s3.put_object(
        Bucket=DASHBOARD_BUCKET,
        Key="status.json",
        Body=common.mask_accounts_in(json.dumps(report, sort_keys=True)).encode(),
        ContentType="application/json",
    )
    common.s3.put_object(
        Bucket=DASHBOARD_BUCKET,
        Key="index.html",
        Body=common.mask_accounts_in(render(public, rows)).encode(),
        ContentType="text/html; charset=utf-8",
    )
    return {
        "stackSets": len(rows),
        "healed": len(healed),
        "inoperable": len(state["inoperable"]),
        "failedOperations": sum(1 for o in state["operations"] if o["status"] != "SUCCEEDED"),
    }
