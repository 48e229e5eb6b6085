"""Tracks the AMIs that an EC2 Image Builder pipeline builds.

Subscribed to the SNS topic of the pipeline's infrastructure configuration. Image Builder
publishes one message per image when it reaches AVAILABLE or FAILED; the message is the
image as JSON (see "SNS message format" in the Image Builder user guide). For each
AVAILABLE image, the AMI distributed to this function's Region is

- written to the SSM parameter named by PARAMETER_NAME (read by consumers through a
  template parameter of type AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>), and
- the parameter is tagged with the image and pipeline the AMI came from, as the seed's
  function does (checked with `aws ssm list-tags-for-resource --resource-type Parameter`).

FAILED builds and messages that are not Image Builder images are logged and skipped, so
one odd message never blocks the others.
"""

import json
import logging
import os
import re

import boto3

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)

AMI_ID = re.compile(r"^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
# SSM tag values are at most 256 characters.
TAG_VALUE_MAX = 256

_ssm = None


def _client():
    global _ssm
    if _ssm is None:
        _ssm = boto3.client("ssm")
    return _ssm


def available_ami(message, region):
    """The AMI id in `region` of an AVAILABLE image message, else None (with the reason)."""
    if not isinstance(message, dict) or ("outputResources" not in message and "state" not in message):
        return None, "not an Image Builder image message"
    status = (message.get("state") or {}).get("status")
    if status != "AVAILABLE":
        return None, f"image {message.get('arn', '?')} is {status or 'without a status'}"
    amis = (message.get("outputResources") or {}).get("amis") or []
    for ami in amis:
        image = ami.get("image", "")
        if ami.get("region") == region and AMI_ID.match(image):
            return image, None
    return None, f"image {message.get('arn', '?')} has no AMI in {region}"


def image_tags(message, parameter_name):
    """The tags put on the parameter for a tracked AMI."""
    tags = [
        ("cairn:image-arn", message.get("arn")),
        ("cairn:pipeline-arn", message.get("sourcePipelineArn")),
        ("cairn:ssm-parameter", parameter_name),
    ]
    return [{"Key": k, "Value": v[:TAG_VALUE_MAX]} for k, v in tags if isinstance(v, str) and v]


def handler(event, context):
    parameter_name = os.environ["PARAMETER_NAME"]
    region = os.environ["AWS_REGION"]
    ssm = _client()
    tracked = []
    for record in event.get("Records", []):
        raw = (record.get("Sns") or {}).get("Message", "")
        try:
            message = json.loads(raw)
        except ValueError:
            LOG.warning("skipped a message that is not JSON: %.200s", raw)
            continue
        ami, reason = available_ami(message, region)
        if ami is None:
            LOG.info("skipped: %s", reason)
            continue
        ssm.put_parameter(Name=parameter_name, Value=ami, Type="String", Overwrite=True)
        tags = image_tags(message, parameter_name)
        if tags:
            ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=parameter_name, Tags=tags)
        LOG.info("%s = %s (from %s)", parameter_name, ami, message.get("arn"))
        tracked.append(ami)
    return {"tracked": tracked}
