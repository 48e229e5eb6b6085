"""Tests of the web-jobnet Slack notifier (lambda/notify_slack.py): which secret values it
posts to, and the message of a Step Functions status change event, boto3 replaced by a
fake secret.

Run: python3 -m unittest discover -s examples/assets/web-jobnet/tests
(synth-tests/tests/web_jobnet.rs runs it too).
"""

import unittest

import handlers

MACHINE = "arn:aws:states:ap-northeast-1:111122223333:stateMachine:StopNet"


class FakeSecrets:
    def __init__(self, value):
        self.value = value

    def get_secret_value(self, SecretId):
        return {"SecretString": self.value}


def load(secret_value):
    return handlers.load(
        "notify_slack",
        FakeSecrets(secret_value),
        {"WEBHOOK_SECRET_ARN": "arn:aws:secretsmanager:ap-northeast-1:111122223333:secret:hook"},
    )


def event(status, **detail):
    return {
        "region": "ap-northeast-1",
        "detail": dict(
            {"status": status, "stateMachineArn": MACHINE, "executionArn": f"{MACHINE}:run-1", "name": "run-1"},
            **detail,
        ),
    }


class NotifySlackTest(unittest.TestCase):
    def test_only_slack_webhooks_and_receivers_on_this_machine_are_posted_to(self):
        notifier = load("unused")
        self.assertEqual(
            notifier.webhook_url(" https://hooks.slack.com/services/T/B/x\n"),
            "https://hooks.slack.com/services/T/B/x",
        )
        self.assertEqual(notifier.webhook_url("http://127.0.0.1:8080/hook"), "http://127.0.0.1:8080/hook")
        self.assertEqual(notifier.webhook_url("http://localhost:9/hook"), "http://localhost:9/hook")
        for refused in (
            "http://hooks.slack.com/services/T/B/x",
            "https://hooks.slack.com.example.org/x",
            "http://10.0.0.1/hook",
            "http://127.0.0.1.example.org/hook",
            "Xq8#generated-secret-value",
        ):
            self.assertIsNone(notifier.webhook_url(refused), refused)

    def test_the_placeholder_secret_logs_the_message_and_posts_nothing(self):
        notifier = load("Xq8#generated-secret-value")
        self.assertEqual(notifier.handler(event("SUCCEEDED"), None), {"sent": False})

    def test_a_failure_names_the_job_net_the_error_and_the_cause(self):
        notifier = load("unused")
        text = notifier.message(event("FAILED", error="WebJobnet.StopFailed", cause="i-0bbb: terminated"))
        self.assertIn(":x: job net *StopNet*: run-1 FAILED", text)
        self.assertIn("WebJobnet.StopFailed: i-0bbb: terminated", text)
        self.assertIn("#/v2/executions/details/" + MACHINE + ":run-1", text)


if __name__ == "__main__":
    unittest.main()
