"""StackSetOrderRefresh: writes the order parameter again from the StackSets as they are
now, whenever a StackSet operation has succeeded (an EventBridge rule on "CloudFormation
StackSet Operation Status Change"). Tags are part of a StackSet, so changing them is an
update operation: tags changed outside the app reach the order the next time the workflow
reads it.

The plan is cairn's (``cloudformation::plan_order``, ``StackSetPlan::to_json``): every
StackSet after those it ``dependson`` (Kahn's algorithm in waves, names sorted within a
wave), the ``antidependson`` conflicts where both deploy to the same target and Region
(the one that is not mandatory is skipped there). Only StackSets that carry the ordering
tags (``mandatory`` or ``selfhealing``) are ordered; their targets are their
auto-deployment targets (OU and Regions). An ordering problem (a tag naming an unknown
StackSet or the StackSet itself, a cycle, two mandatory StackSets excluding each other
where both deploy) leaves the parameter as it is and fails the invocation, naming it.
"""

import json
import os

import common

ORDER_TAGS = ("mandatory", "selfhealing")


class OrderError(Exception):
    """The StackSets' tags cannot be ordered; the parameter is left as it is."""


def _list(value):
    return [v for v in (value or "").split(":") if v]


def auto_deployment_targets(name):
    """The StackSet's auto-deployment targets (OU and Regions), every page: the SDK has no
    paginator for ListStackSetAutoDeploymentTargets, so NextToken is followed here."""
    out, token = [], None
    while True:
        kwargs = {"StackSetName": name}
        if token:
            kwargs["NextToken"] = token
        page = common.cloudformation.list_stack_set_auto_deployment_targets(**kwargs)
        out.extend(page.get("Summaries", []))
        token = page.get("NextToken")
        if not token:
            return out


def stack_set_specs():
    """name -> spec of every active StackSet with ordering tags."""
    specs = {}
    paginator = common.cloudformation.get_paginator("list_stack_sets")
    for page in paginator.paginate(Status="ACTIVE"):
        for summary in page.get("Summaries", []):
            name = summary["StackSetName"]
            described = common.cloudformation.describe_stack_set(StackSetName=name)["StackSet"]
            tags = {t["Key"]: t["Value"] for t in described.get("Tags", [])}
            if not any(k in tags for k in ORDER_TAGS):
                continue
            targets = [
                (t["OrganizationalUnitId"], region)
                for t in auto_deployment_targets(name)
                for region in t.get("Regions", [])
            ]
            specs[name] = {
                "name": name,
                "mandatory": tags.get("mandatory") == "true",
                "selfHealing": tags.get("selfhealing") == "true",
                "dependsOn": _list(tags.get("dependson")),
                "antiDependsOn": _list(tags.get("antidependson")),
                "targets": targets,
            }
    return specs


def _overlaps(a, b):
    return a == b or a.startswith("r-") or b.startswith("r-")


def plan(specs):
    """The order JSON of `specs` (name -> spec), as cairn writes it at synthesis."""
    errors = []
    for s in specs.values():
        for tag, names in (("dependson", s["dependsOn"]), ("antidependson", s["antiDependsOn"])):
            for n in names:
                if n == s["name"]:
                    errors.append(f"{s['name']}: tag {tag} names the StackSet itself")
                elif n not in specs:
                    errors.append(f"{s['name']}: tag {tag} names StackSet {n!r}, which is not ordered")
        for n in s["dependsOn"]:
            if n in s["antiDependsOn"]:
                errors.append(f"{s['name']}: {n!r} is in both dependson and antidependson")
    remaining = {n: {d for d in s["dependsOn"] if d in specs and d != n} for n, s in specs.items()}
    order, waves = [], []
    while True:
        ready = sorted(n for n, d in remaining.items() if not d)
        if not ready:
            break
        for n in ready:
            del remaining[n]
        for d in remaining.values():
            d.difference_update(ready)
        order.extend(ready)
        waves.append(ready)
    if remaining:
        errors.append("dependson cycle among " + ", ".join(sorted(remaining)))
    conflicts, seen = [], set()
    for name in sorted(specs):
        s = specs[name]
        for other in s["antiDependsOn"]:
            o = specs.get(other)
            if o is None or other == name:
                continue
            key = tuple(sorted((name, other)))
            if key in seen:
                continue
            seen.add(key)
            shared = sorted(
                {
                    (t2 if t1.startswith("r-") else t1, r1)
                    for t1, r1 in s["targets"]
                    for t2, r2 in o["targets"]
                    if r1 == r2 and _overlaps(t1, t2)
                }
            )
            for target, region in shared:
                if s["mandatory"] and o["mandatory"]:
                    errors.append(f"{name} and {other} are both mandatory and both deploy to {target} in {region}")
                    continue
                skipped = name if o["mandatory"] or not s["mandatory"] else other
                conflicts.append(
                    {"stackSet": name, "excludes": other, "target": target, "region": region, "skipped": skipped}
                )
    if errors:
        raise OrderError("; ".join(errors))
    stack_sets = []
    for n in order:
        s = specs[n]
        regions = []
        for _, r in s["targets"]:
            if r not in regions:
                regions.append(r)
        stack_sets.append(
            {
                "name": n,
                "mandatory": s["mandatory"],
                "selfHealing": s["selfHealing"],
                "dependsOn": s["dependsOn"],
                "antiDependsOn": s["antiDependsOn"],
                "regions": regions,
                "targets": [{"target": t, "region": r} for t, r in s["targets"]],
            }
        )
    return {"version": 1, "order": order, "waves": waves, "stackSets": stack_sets, "conflicts": conflicts}


def handler(event, _context):
    detail = event.get("detail", {})
    if detail.get("status") not in (None, "SUCCEEDED"):
        return {"updated": False, "reason": f"operation {detail.get('status')}"}
    order = plan(stack_set_specs())
    value = json.dumps(order, separators=(",", ":"))
    common.ssm.put_parameter(
        Name=os.environ["ORDER_PARAMETER"],
        Value=value,
        Type="String",
        Tier="Standard" if len(value) <= 4096 else "Advanced",
        Overwrite=True,
    )
    return {"updated": True, "order": order["order"], "conflicts": len(order["conflicts"])}
