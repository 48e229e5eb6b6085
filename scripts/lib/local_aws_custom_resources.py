"""CloudFormation custom resources, run locally as CloudFormation runs them (used by
local-aws.py).

moto's own support sends a Create only, to a ResponseURL on a Docker host, ignores the
answer's physical id and a FAILED answer, and leaves `AWS::CloudFormation::CustomResource`
out. Here, `Custom::*` and `AWS::CloudFormation::CustomResource`:

- Create, Update (with `OldResourceProperties`; a new physical id is followed by a Delete
  of the old one, as in CloudFormation's clean-up) and Delete requests go to the service
  token's Lambda function, invoked asynchronously (the local Lambda runs the real
  handler), with a ResponseURL on this endpoint (`/_local-aws/cfn-response/<token>`);
- the operation waits for the answer (at most the resource's `ServiceTimeout`, else
  LOCAL_AWS_CUSTOM_RESOURCE_TIMEOUT seconds, default 300): SUCCESS gives the physical id
  (`Ref`) and `Data` (`Fn::GetAtt`, an attribute the answer lacks is an error); FAILED
  fails the operation with the answer's reason;
- a stack's custom resources are deleted first (later-created first), while the functions
  that serve them still exist (moto deletes a stack's resources in no particular order);
- the resources an update or a change set adds are created dependencies first (moto adds
  them in template order, ignoring DependsOn).
"""

import json
import os
import threading
import uuid

PATH = "/_local-aws/cfn-response/"

# Answers waited for: token -> [threading.Event, body]
_pending = {}
_lock = threading.Lock()
_endpoint = [None]


def failed(message):
    """The error of a custom resource whose provider answered FAILED or not in time: a
    CloudFormation ValidationError, so the caller reads the reason."""
    from moto.cloudformation.exceptions import ValidationError

    return ValidationError(message=message)


def receive(token, body):
    """Records the answer PUT at the ResponseURL; False when no request waits for it."""
    with _lock:
        waiting = _pending.get(token)
    if waiting is None:
        return False
    waiting[1] = body
    waiting[0].set()
    return True


def _timeout(properties):
    limit = properties.get("ServiceTimeout")
    if limit not in (None, ""):
        return float(limit)
    return float(os.environ.get("LOCAL_AWS_CUSTOM_RESOURCE_TIMEOUT", "300"))


def send(request_type, properties, account_id, region_name, logical_id, stack_id, resource_type, physical_id=None,
         old_properties=None):
    """Sends one request to the service token's function and waits for the answer (its
    body, a dict), as CloudFormation does."""
    from moto.awslambda.utils import get_backend

    token = uuid.uuid4().hex
    event = {
        "RequestType": request_type,
        "ServiceToken": properties["ServiceToken"],
        "ResponseURL": f"{_endpoint[0]}{PATH}{token}",
        "StackId": stack_id,
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": properties,
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = old_properties
    waiting = [threading.Event(), None]
    with _lock:
        _pending[token] = waiting
    try:
        fn = get_backend(account_id, region_name).get_function(properties["ServiceToken"])
        threading.Thread(
            target=fn.invoke, args=(json.dumps(event), {"x-amz-invocation-type": "Event"}, {}), daemon=True
        ).start()
        limit = _timeout(properties)
        if not waiting[0].wait(limit):
            raise failed(f"{logical_id} ({resource_type}): no answer to {request_type} within {limit:g} s")
    finally:
        with _lock:
            _pending.pop(token, None)
    body = waiting[1]
    if body.get("Status") != "SUCCESS":
        raise failed(f"{logical_id} ({resource_type}): {request_type} failed: {body.get('Reason') or 'no reason given'}")
    return body


def add(patched, endpoint):
    """Replaces moto's custom resource model; returns the model classes to keep referenced."""
    import moto.cloudformation.parsing as parsing
    from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
    from moto.core.common_models import CloudFormationModel

    _endpoint[0] = endpoint

    class LocalCustomResource(CloudFormationModel):
        __module__ = "moto.cairn_local.models"  # moto files models by their module
        created = []  # the instances, in creation order

        def __init__(self, logical_id, stack_id, resource_type, properties, body, account_id, region_name):
            self.logical_id = logical_id
            self.stack_id = stack_id
            self.resource_type = resource_type
            self.properties = properties
            self.account_id = account_id
            self.region_name = region_name
            self.answer(body)

        def answer(self, body):
            self.physical_id = body.get("PhysicalResourceId") or self.logical_id
            self.data = body.get("Data") or {}

        @property
        def physical_resource_id(self):
            return self.physical_id

        @staticmethod
        def cloudformation_type():
            return "AWS::CloudFormation::CustomResource"

        @classmethod
        def has_cfn_attr(cls, attr):
            return True

        def get_cfn_attribute(self, attribute_name):
            if attribute_name in self.data:
                return self.data[attribute_name]
            raise UnformattedGetAttTemplateException()

        def is_created(self):
            return True

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
            properties = cloudformation_json.get("Properties") or {}
            logical_id = kwargs["LogicalId"]
            body = send("Create", properties, account_id, region_name, logical_id, kwargs["StackId"],
                        kwargs["ResourceType"])
            instance = cls(logical_id, kwargs["StackId"], kwargs["ResourceType"], properties, body, account_id,
                           region_name)
            cls.created.append(instance)
            return instance

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json,
                                            account_id, region_name):
            old = original_resource
            properties = cloudformation_json.get("Properties") or {}
            body = send("Update", properties, account_id, region_name, old.logical_id, old.stack_id,
                        old.resource_type, physical_id=old.physical_id, old_properties=old.properties)
            old_id = old.physical_id
            if (body.get("PhysicalResourceId") or old_id) != old_id:
                # A replacement: CloudFormation deletes the old resource in its clean-up.
                send("Delete", old.properties, account_id, region_name, old.logical_id, old.stack_id,
                     old.resource_type, physical_id=old_id)
            old.properties = properties
            old.answer(body)
            return old

        def delete(self, account_id, region_name):
            if getattr(self, "deleted", False):
                return
            send("Delete", self.properties, account_id, region_name, self.logical_id, self.stack_id,
                 self.resource_type, physical_id=self.physical_id)
            self.deleted = True

    parsing.CustomModel = LocalCustomResource

    original_delete = parsing.ResourceMap.delete

    def delete_custom_first(self):
        """A stack's custom resources go first, latest first, while their functions exist."""
        mine = [r for r in reversed(LocalCustomResource.created) if r.stack_id == self.stack_id]
        for resource in mine:
            if resource.logical_id in self._parsed_resources and not getattr(resource, "deleted", False):
                json_ = self._resource_json_map.get(resource.logical_id) or {}
                if json_.get("DeletionPolicy") != "Retain":
                    resource.delete(self._account_id, self._region_name)
        LocalCustomResource.created[:] = [r for r in LocalCustomResource.created if r not in mine]
        return original_delete(self)

    parsing.ResourceMap.delete = delete_custom_first

    original_diff = parsing.ResourceMap.build_resource_diff

    def diff_in_dependency_order(self, other_template, parameters=None):
        """The resources an update (a change set's execution) adds, dependencies first: moto
        adds them in template order, ignoring DependsOn (which custom resources, whose
        order is otherwise unseen, rely on)."""
        diff = original_diff(self, other_template, parameters)
        resources = other_template.get("Resources") or {}
        adding = set(diff["Add"])
        ordered = []

        def visit(name, seen):
            if name in ordered or name not in adding or name in seen:
                return
            seen.add(name)
            depends = resources[name].get("DependsOn") or []
            for d in [depends] if isinstance(depends, str) else depends:
                visit(d, seen)
            ordered.append(name)

        for name in diff["Add"]:
            visit(name, set())
        diff["Add"] = ordered
        return diff

    parsing.ResourceMap.build_resource_diff = diff_in_dependency_order
    patched.append(
        "cloudformation: custom resources (Custom::* and AWS::CloudFormation::CustomResource) get Create, "
        "Update and Delete requests with a ResponseURL here and wait for the answer (physical id, Data, "
        "FAILED with its reason); a stack's custom resources are deleted first; added resources follow DependsOn"
    )
    return [LocalCustomResource]
