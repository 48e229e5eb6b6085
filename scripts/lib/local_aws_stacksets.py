"""Service-managed StackSets in the local environment (local-aws.py), for systems that
work on an organisation's StackSets (stackset-healing). moto 5 keeps StackSets and their
instances, but has no CloudFormation model of `AWS::CloudFormation::StackSet`, ignores
`DeploymentTargets` when deleting instances and `AccountFilterType` when creating them,
lists instances without their OU, drift status or filters, detects no drift, and ends
every operation at once. Here:

- `AWS::CloudFormation::StackSet` deploys: the StackSet (tags, parameters, auto-deployment
  targets kept for `ListStackSetAutoDeploymentTargets`) and one instance per ACTIVE account
  of each `StackInstancesGroup`'s OUs (nested OUs included) and Region, with the group's
  parameter overrides; deleting the resource deletes its instances and the StackSet.
- Instances know the OU they were deployed through (`OrganizationalUnitId`), their drift
  status and detailed status; `ListStackInstances` applies its `Filters`
  (`DETAILED_STATUS`, `DRIFT_STATUS`, `LAST_OPERATION_ID`) and the account/Region ones.
- `CreateStackInstances` and `DeleteStackInstances` take `DeploymentTargets` (OUs,
  accounts, `AccountFilterType`); a deletion with `RetainStacks` keeps the stacks; an
  instance's stack takes the StackSet's parameters with the overrides over them. An
  instance whose stack cannot be created is kept OUTDATED / FAILED with the reason, and
  its operation FAILS.
- `DetectStackSetDrift` compares each instance's stack with what its account holds now:
  a resource deleted behind CloudFormation's back is drifted, and so is a log group whose
  retention, or an IAM role whose description or maximum session, differs from the
  template's; the operation reports `StackSetDriftDetectionDetails`. Other resource types
  are taken as in sync (listed in the gaps).
- An operation is RUNNING at its first `DescribeStackSetOperation` and has its final
  status from the second on (its effect is immediate), so callers' wait loops run.
- Each operation (UpdateStackSet's too) puts its "CloudFormation StackSet Operation Status
  Change" (its final status) on the administrator account's default event bus, as
  CloudFormation does; `ListStackSets` applies its `Status` filter.
"""

import json
import sys

GAP = (
    "StackSet operations take effect at once (RUNNING at the first describe); drift detection compares "
    "resource existence, log group retention and IAM role description and session duration only (other "
    "types count as in sync); suspended accounts get no new instances; no concurrency limits"
)


def _log(message):
    print(f"local-aws: stacksets: {message}", file=sys.stderr, flush=True)


# --- the organisation --------------------------------------------------------------------


def _accounts_under(org, ou):
    """account id -> the OU it was targeted through, for the ACTIVE accounts under `ou`."""
    found = {}
    parents = [ou]
    while parents:
        parent = parents.pop()
        for account in org.accounts:
            if account.parent_id == parent and account.status == "ACTIVE":
                found.setdefault(account.id, ou)
        parents.extend(o.id for o in org.ou if o.parent_id == parent)
    return found


def _selected(targets, ous_of, listed):
    """Applies AccountFilterType: `ous_of` (account -> OU) are the OUs' accounts, `listed`
    the accounts named."""
    kind = targets.get("AccountFilterType") or "NONE"
    if kind == "INTERSECTION":
        return {a: o for a, o in ous_of.items() if a in listed}
    if kind == "DIFFERENCE":
        return {a: o for a, o in ous_of.items() if a not in listed}
    if kind == "UNION":
        return {**{a: None for a in listed}, **ous_of}
    return dict(ous_of)


# --- instances -----------------------------------------------------------------------------


def _patch_instances():
    from moto.cloudformation.models import StackInstance

    init = StackInstance.__init__

    def create(self, *args, **kwargs):
        self.cairn_ou = None
        self.drift_status = "NOT_CHECKED"
        self.failure = None
        self.last_operation_id = None
        try:
            init(self, *args, **kwargs)
        except Exception as e:  # the instance stays, OUTDATED, as CloudFormation keeps it
            self.stack = None
            self.failure = f"{type(e).__name__}: {e}"
            _log(f"instance {self.account_id}/{self.region_name} of {self.name} failed: {self.failure}")

    def delete(self):
        if self.stack is not None:
            self.stack.delete()

    def to_dict(self):
        ok = self.failure is None
        out = {
            "StackId": self.stack.stack_id if self.stack is not None else None,
            "StackSetId": self.stackset_id,
            "Region": self.region_name,
            "Account": self.account_id,
            "Status": "CURRENT" if ok else "OUTDATED",
            "StatusReason": None if ok else self.failure[:1000],
            "ParameterOverrides": self.parameters if isinstance(self.parameters, list) else [],
            "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED" if ok else "FAILED"},
            "DriftStatus": self.drift_status,
            "LastOperationId": self.last_operation_id,
        }
        if self.cairn_ou:
            out["OrganizationalUnitId"] = self.cairn_ou
        return {k: v for k, v in out.items() if v is not None}

    StackInstance.__init__ = create
    StackInstance.delete = delete
    StackInstance.to_dict = to_dict


def _operation(stack_set, action, status="SUCCEEDED", reason=None, instances=(), **extra):
    import uuid

    operation_id = extra.pop("operation_id", None) or str(uuid.uuid4())
    operation = stack_set._create_operation(
        operation_id=operation_id,
        action=action,
        status=status,
        accounts=[],
        regions=[],
    )
    operation["Instances"] = [{i.account_id: i.region_name} for i in instances]
    operation["StatusReason"] = reason
    operation["cairn_describes"] = 0
    operation.update(extra)
    for i in instances:
        i.last_operation_id = operation_id
    _announce(operation, stack_set)
    return operation


def _patch_stack_set():
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import StackInstance, StackSet

    def create_stack_instances(self, accounts, regions, deployment_targets, parameters):
        targets = deployment_targets or {}
        listed = set(targets.get("Accounts") or accounts or [])
        if self.permission_model == "SERVICE_MANAGED":
            ous = targets.get("OrganizationalUnitIds") or []
            if not ous:
                raise ValidationError(
                    message="StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target"
                )
            ous_of = {}
            for ou in ous:
                for account, via in _accounts_under(self.instances.org_backend, ou).items():
                    ous_of.setdefault(account, via)
            chosen = _selected(targets, ous_of, listed)
        else:
            if "OrganizationalUnitIds" in targets:
                raise ValidationError(
                    message="StackSets with SELF_MANAGED permission model can only have accounts as target"
                )
            chosen = {a: None for a in listed}
        # The instance's stack takes the StackSet's parameters, the overrides over them.
        overrides = parameters if isinstance(parameters, list) else []
        merged = dict(self.parameters or {})
        merged.update({p["ParameterKey"]: p["ParameterValue"] for p in overrides})
        made = []
        for region in regions:
            for account, ou in sorted(chosen.items()):
                if self.instances.get_instance(account, region) is not None:
                    continue
                instance = StackInstance(
                    account_id=account,
                    region_name=region,
                    stackset_id=self.id,
                    stack_name=self.instances.stack_name,
                    name=self.name,
                    template=self.template,
                    parameters=merged,
                    permission_model=self.permission_model,
                )
                instance.parameters = list(overrides)
                instance.cairn_ou = ou
                made.append(instance)
        self.instances.stack_instances += made
        failed = [i for i in made if i.failure]
        operation = _operation(
            self,
            "CREATE",
            "FAILED" if failed else "SUCCEEDED",
            "; ".join(f"{i.account_id}/{i.region_name}: {i.failure}" for i in failed)[:1000] or None,
            made,
        )
        return operation["OperationId"]

    def delete_stack_instances(self, accounts, regions, deployment_targets=None, retain_stacks=False):
        targets = deployment_targets or {}
        listed = set(targets.get("Accounts") or accounts or [])
        ous = targets.get("OrganizationalUnitIds") or []
        regions = set(regions)
        candidates = [i for i in self.instances.stack_instances if i.region_name in regions]
        if ous:
            # The instances deployed through those OUs (or in accounts under them now).
            under = {}
            for ou in ous:
                under.update(_accounts_under(self.instances.org_backend, ou))
            of_ous = {i.account_id: i.cairn_ou for i in candidates if i.cairn_ou in ous or i.account_id in under}
            chosen = set(_selected(targets, of_ous, listed))
        else:
            chosen = listed
        gone = [i for i in candidates if i.account_id in chosen]
        for instance in gone:
            if not retain_stacks:
                instance.delete()
            self.instances.stack_instances.remove(instance)
        return _operation(self, "DELETE", instances=gone)["OperationId"]

    update = StackSet.update

    def update_announced(self, *args, **kwargs):
        operation = update(self, *args, **kwargs)
        _announce(operation, self)
        return operation

    StackSet.create_stack_instances = create_stack_instances
    StackSet.delete_stack_instances = delete_stack_instances
    StackSet.update = update_announced


# --- drift ---------------------------------------------------------------------------------


def _resolved(stack, logical_id, key):
    from moto.cloudformation.parsing import clean_json

    props = (stack.resource_map._resource_json_map.get(logical_id) or {}).get("Properties") or {}
    if key not in props:
        return None
    return clean_json(props[key], stack.resource_map)


def _resource_drift(stack, logical_id, resource, account, region):
    """None when in sync, else what differs."""
    kind = (stack.resource_map._resource_json_map.get(logical_id) or {}).get("Type")
    physical = getattr(resource, "physical_resource_id", None)
    if kind == "AWS::Logs::LogGroup":
        from moto.logs.models import logs_backends

        group = logs_backends[account][region].groups.get(physical)
        if group is None:
            return "DELETED"
        expected = _resolved(stack, logical_id, "RetentionInDays")
        if expected is not None and str(group.retention_in_days) != str(expected):
            return f"RetentionInDays: expected {expected}, actual {group.retention_in_days}"
        return None
    if kind == "AWS::IAM::Role":
        from moto.iam.models import iam_backends

        role = None
        for r in iam_backends[account]["aws"].roles.values():
            if r.name == physical:
                role = r
        if role is None:
            return "DELETED"
        for key, actual in (("Description", role.description), ("MaxSessionDuration", role.max_session_duration)):
            expected = _resolved(stack, logical_id, key)
            if expected is not None and str(expected) != str(actual):
                return f"{key}: expected {expected}, actual {actual}"
        return None
    return None


def _instance_drift(instance):
    if instance.stack is None:
        return "FAILED", []
    drifted = []
    for logical_id, resource in instance.stack.resource_map._parsed_resources.items():
        if logical_id not in instance.stack.resource_map._resource_json_map:
            continue  # pseudo parameters
        why = _resource_drift(instance.stack, logical_id, resource, instance.account_id, instance.region_name)
        if why:
            drifted.append(f"{logical_id}: {why}")
    return ("DRIFTED" if drifted else "IN_SYNC"), drifted


def _detect_drift(stack_set):
    from moto.core.utils import utcnow

    counts = {"DRIFTED": 0, "IN_SYNC": 0, "FAILED": 0}
    for instance in stack_set.instances.stack_instances:
        status, drifted = _instance_drift(instance)
        counts[status] += 1
        if status != "FAILED":
            instance.drift_status = status
        if drifted:
            _log(f"{stack_set.name} {instance.account_id}/{instance.region_name} drifted: {'; '.join(drifted)}")
    stack_set.drift_status = "DRIFTED" if counts["DRIFTED"] else "IN_SYNC"
    details = {
        "DriftStatus": stack_set.drift_status,
        "DriftDetectionStatus": "FAILED" if counts["FAILED"] else "COMPLETED",
        "LastDriftCheckTimestamp": utcnow(),
        "TotalStackInstancesCount": len(stack_set.instances.stack_instances),
        "DriftedStackInstancesCount": counts["DRIFTED"],
        "InSyncStackInstancesCount": counts["IN_SYNC"],
        "InProgressStackInstancesCount": 0,
        "FailedStackInstancesCount": counts["FAILED"],
    }
    operation = _operation(
        stack_set,
        "DETECT_DRIFT",
        instances=list(stack_set.instances.stack_instances),
        StackSetDriftDetectionDetails=details,
    )
    return operation["OperationId"]


# --- the API ---------------------------------------------------------------------------------


def _patch_responses():
    from moto.cloudformation import responses
    from moto.cloudformation.responses import CloudFormationResponse, StackSetOperationDTO
    from moto.core.responses import ActionResult

    def delete_stack_instances(self):
        params = self._get_params()
        stack_set = self.cloudformation_backend.describe_stack_set(params["StackSetName"])
        retain = str(params.get("RetainStacks", "false")).lower() == "true"
        operation_id = stack_set.delete_stack_instances(
            params.get("Accounts") or [],
            params.get("Regions") or [],
            params.get("DeploymentTargets"),
            retain,
        )
        return ActionResult({"OperationId": operation_id})

    def list_stack_instances(self):
        params = self._get_params()
        stack_set = self.cloudformation_backend.describe_stack_set(params["StackSetName"])
        rows = [i.to_dict() for i in stack_set.instances.stack_instances]
        fields = {"DETAILED_STATUS": lambda r: r["StackInstanceStatus"]["DetailedStatus"],
                  "DRIFT_STATUS": lambda r: r["DriftStatus"],
                  "LAST_OPERATION_ID": lambda r: r.get("LastOperationId")}
        for f in params.get("Filters") or []:
            read = fields.get(f.get("Name"))
            if read is not None:
                rows = [r for r in rows if read(r) == f.get("Values")]
        if params.get("StackInstanceAccount"):
            rows = [r for r in rows if r["Account"] == params["StackInstanceAccount"]]
        if params.get("StackInstanceRegion"):
            rows = [r for r in rows if r["Region"] == params["StackInstanceRegion"]]
        return ActionResult({"Summaries": rows})

    def detect_stack_set_drift(self):
        stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
        return ActionResult({"OperationId": _detect_drift(stack_set)})

    def list_auto_deployment_targets(self):
        stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
        return ActionResult({"Summaries": getattr(stack_set, "cairn_auto_targets", [])})

    def list_stack_sets(self):
        status = self._get_param("Status")
        sets = self.cloudformation_backend.list_stack_sets()
        return ActionResult({"Summaries": [s for s in sets if not status or s.status == status]})

    CloudFormationResponse.list_stack_sets = list_stack_sets
    CloudFormationResponse.delete_stack_instances = delete_stack_instances
    CloudFormationResponse.list_stack_instances = list_stack_instances
    CloudFormationResponse.detect_stack_set_drift = detect_stack_set_drift
    CloudFormationResponse.list_stack_set_auto_deployment_targets = list_auto_deployment_targets

    init = StackSetOperationDTO.__init__

    def dto(self, operation, stack_set):
        init(self, operation, stack_set)
        # RUNNING at the first describe, final from the second on.
        operation["cairn_describes"] = operation.get("cairn_describes", 1) + 1
        if operation["cairn_describes"] == 1:
            self.status = "RUNNING"
            self.end_timestamp = None
        self.status_reason = operation.get("StatusReason")
        self.stack_set_drift_detection_details = operation.get("StackSetDriftDetectionDetails")

    StackSetOperationDTO.__init__ = dto
    responses.StackSetOperationDTO = StackSetOperationDTO


def _announce(operation, stack_set):
    """Puts the operation's status change on the administrator account's default bus."""
    from moto.events.models import events_backends
    from moto.utilities.arns import parse_arn

    arn = parse_arn(stack_set.arn)
    backend = events_backends[arn.account][arn.region]
    event = {
        "Source": "aws.cloudformation",
        "DetailType": "CloudFormation StackSet Operation Status Change",
        "Resources": [stack_set.arn],
        "Detail": json.dumps(
            {
                "stack-set-arn": stack_set.arn,
                "stack-set-operation-id": operation["OperationId"],
                "action": operation["Action"],
                "status": operation["Status"],
                "status-reason": operation.get("StatusReason"),
            }
        ),
    }
    try:
        backend.put_events([event])
    except Exception as e:  # a delivery failure is the target's, not the operation's
        _log(f"status change event of {operation['OperationId']} not delivered: {e}")


# --- AWS::CloudFormation::StackSet ------------------------------------------------------------


def _create_stack_set_resource(p, name, account, region):
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[account][region]
    stack_set = backend.create_stack_set(
        name=p.get("StackSetName") or name,
        template=p.get("TemplateBody") or "",
        parameters={x["ParameterKey"]: x["ParameterValue"] for x in p.get("Parameters") or []},
        tags={t["Key"]: t["Value"] for t in p.get("Tags") or []},
        permission_model=p.get("PermissionModel") or "SELF_MANAGED",
        admin_role=p.get("AdministrationRoleARN"),
        exec_role=p.get("ExecutionRoleName"),
        description=p.get("Description"),
    )
    auto = p.get("AutoDeployment") or {}
    stack_set.cairn_auto_targets = []
    for group in p.get("StackInstancesGroup") or []:
        targets = group.get("DeploymentTargets") or {}
        if auto.get("Enabled"):
            for ou in targets.get("OrganizationalUnitIds") or []:
                stack_set.cairn_auto_targets.append({"OrganizationalUnitId": ou, "Regions": list(group.get("Regions") or [])})
        stack_set.create_stack_instances(
            accounts=[],
            regions=group.get("Regions") or [],
            deployment_targets=targets,
            parameters=group.get("ParameterOverrides") or [],
        )
    return {"id": stack_set.id, "StackSetId": stack_set.id}


def _delete_stack_set_resource(state, account, region):
    from moto.cloudformation.models import cloudformation_backends

    backend = cloudformation_backends[account][region]
    stack_set = backend.describe_stack_set(state["id"])
    for instance in list(stack_set.instances.stack_instances):
        instance.delete()
        stack_set.instances.stack_instances.remove(instance)
    backend.delete_stack_set(state["id"])


def add(patched, model):
    """Patches moto's StackSets and returns the `AWS::CloudFormation::StackSet` model (made
    by local_aws_models.model, for the caller to keep referenced)."""
    _patch_instances()
    _patch_stack_set()
    _patch_responses()
    patched.append(
        "cloudformation: service-managed StackSets (AWS::CloudFormation::StackSet deploys to its OUs' accounts; "
        "instances keep their OU, drift and detailed status; DeploymentTargets, AccountFilterType, RetainStacks "
        "and ListStackInstances filters honoured; DetectStackSetDrift; operations RUNNING at the first describe; "
        "status change events on the default bus)"
    )
    return [
        model(
            "AWS::CloudFormation::StackSet",
            "StackSetName",
            _create_stack_set_resource,
            _delete_stack_set_resource,
        )
    ]
