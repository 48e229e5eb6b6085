"""Tests of the TeamsNotification function (lambda/teams_notification.py): which secret
values it posts to, and the card of a run and of a failure.

Run: python3 -m unittest discover -s tests (from the asset dir).
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lambda"))
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["DASHBOARD_URL"] = "https://d111.cloudfront.net/index.html"

import teams_notification  # noqa: E402


class TeamsNotificationTest(unittest.TestCase):
    def test_https_webhooks_and_receivers_on_this_machine_are_posted_to(self):
        url = teams_notification.webhook_url
        self.assertEqual(url(" https://example.webhook.office.com/webhookb2/x\n"), "https://example.webhook.office.com/webhookb2/x")
        self.assertEqual(url("http://127.0.0.1:8080/hook"), "http://127.0.0.1:8080/hook")
        for refused in ("http://example.webhook.office.com/x", "http://10.0.0.1/hook", "https://", "Xq8#placeholder"):
            self.assertIsNone(url(refused), refused)

    def test_the_card_sums_the_run_up_or_names_the_failure(self):
        done = teams_notification.message({"summary": {"stackSets": 5, "healed": 1, "inoperable": 0, "failedOperations": 0}})
        self.assertEqual(done["title"], "StackSet self-healing finished")
        self.assertIn("5 StackSets checked, 1 instances healed", done["text"])
        self.assertIn("https://d111.cloudfront.net/index.html", done["text"])
        failed = teams_notification.message({"error": {"Error": "States.TaskFailed", "Cause": "boom"}})
        self.assertEqual((failed["title"], failed["text"]), ("StackSet self-healing failed", "States.TaskFailed: boom"))


if __name__ == "__main__":
    unittest.main()
