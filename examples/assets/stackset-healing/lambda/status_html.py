"""StatusPrepareHTML: renders the dashboard (``index.html`` and ``status.json``) into the
dashboard bucket, which CloudFront serves."""

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
    healed = "".join(
        f"<li>{html.escape(h['stackSetName'])}: {html.escape(h['account'])} {html.escape(h['region'])}</li>"
        for h in state["healed"]
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>StackSet health</title></head><body>"
        f"<h1>StackSet health</h1><p>Run {html.escape(state['executionId'])}</p>"
        "<table><tr><th>StackSet</th><th>Mandatory</th><th>Self-healing</th><th>Instances</th>"
        f"<th>Status</th><th>Drift</th></tr>{body}</table>"
        f"<h2>Healed instances</h2><ul>{healed or '<li>none</li>'}</ul></body></html>"
    )


def handler(event, _context):
    state = common.load_json(event["stateKey"])
    rows = _rows(state)
    report = {
        "executionId": state["executionId"],
        "stackSets": rows,
        "operations": state["operations"],
        "healed": state["healed"],
        "inoperable": state["inoperable"],
    }
    common.s3.put_object(
        Bucket=DASHBOARD_BUCKET,
        Key="status.json",
        Body=json.dumps(report, sort_keys=True).encode(),
        ContentType="application/json",
    )
    common.s3.put_object(
        Bucket=DASHBOARD_BUCKET,
        Key="index.html",
        Body=render(state, rows).encode(),
        ContentType="text/html; charset=utf-8",
    )
    return {
        "stackSets": len(rows),
        "healed": len(state["healed"]),
        "inoperable": len(state["inoperable"]),
        "failedOperations": sum(1 for o in state["operations"] if o["status"] != "SUCCEEDED"),
    }
