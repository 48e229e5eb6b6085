"""Consumes the events that the HTTP API stores in the queue (POST /).

Each SQS message body is the `MessageBody` of the request the client sent (the seed's
contract: `POST /` with `{"MessageBody": "..."}`). A valid event is a JSON
object with a string "type"; it is logged as one structured line (a real system would
write it on, e.g. to a table). Invalid messages are reported as batch item failures, so
only they are received again, and after the queue's maxReceiveCount they move to the
dead-letter queue.
"""

import json
import logging

LOG = logging.getLogger()
LOG.setLevel(logging.INFO)


def parse_event(body):
    """The event of a message body, or raises ValueError saying what is wrong."""
    event = json.loads(body)
    if not isinstance(event, dict):
        raise ValueError("the body is not a JSON object")
    if not isinstance(event.get("type"), str) or not event["type"]:
        raise ValueError('the event has no string "type"')
    return event


def handler(event, context):
    failures = []
    for record in event.get("Records", []):
        message_id = record.get("messageId", "")
        try:
            parsed = parse_event(record.get("body", ""))
        except ValueError as e:
            LOG.warning("message %s rejected: %s", message_id, e)
            failures.append({"itemIdentifier": message_id})
            continue
        LOG.info(
            json.dumps(
                {
                    "messageId": message_id,
                    "type": parsed["type"],
                    "sentAt": (record.get("attributes") or {}).get("SentTimestamp"),
                },
                sort_keys=True,
            )
        )
    return {"batchItemFailures": failures}
