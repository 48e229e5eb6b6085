"""Tests of the web-jobnet backup handler (lambda/backup_job.py), boto3 replaced by an
in-memory AWS Backup fake.

Run: python3 -m unittest discover -s examples/assets/web-jobnet/tests
(synth-tests/tests/web_jobnet.rs runs it too).
"""

import os
import unittest

import handlers

FUNCTION_ARN = "arn:aws:lambda:ap-northeast-1:111122223333:function:StartBackupJob"


class FakeBackup:
    """AWS Backup's StartBackupJob and DescribeBackupJob over a dict of jobs; a repeated
    idempotency token returns the job it started."""

    def __init__(self):
        self.jobs = {}
        self.tokens = {}
        self.calls = []

    def start_backup_job(self, **kw):
        self.calls.append(kw)
        if kw["IdempotencyToken"] in self.tokens:
            return {"BackupJobId": self.tokens[kw["IdempotencyToken"]]}
        job = f"job-{len(self.jobs) + 1}"
        self.jobs[job] = {"State": "CREATED", "ResourceArn": kw["ResourceArn"]}
        self.tokens[kw["IdempotencyToken"]] = job
        return {"BackupJobId": job, "RecoveryPointArn": f"arn:aws:backup:::recovery-point:{job}"}

    def describe_backup_job(self, BackupJobId):
        return dict(self.jobs[BackupJobId], BackupJobId=BackupJobId)


def load(fake):
    return handlers.load(
        "backup_job",
        fake,
        {
            "INSTANCE_IDS": "i-0aaa,i-0bbb",
            "VAULT_NAME": "WebJobnetWeb-backups",
            "RESOURCE_ARN": "arn:aws:rds:ap-northeast-1:111122223333:cluster:webjobnet",
            "BACKUP_ROLE_ARN": "arn:aws:iam::111122223333:role/BackupRole",
        },
    )


class Context:
    invoked_function_arn = FUNCTION_ARN
    aws_request_id = "request-1"


class BackupJobTest(unittest.TestCase):
    def setUp(self):
        self.fake = FakeBackup()
        self.handler = load(self.fake)

    def test_a_web_server_is_backed_up_by_its_arn(self):
        r = self.handler.start({"executionName": "run-1", "instanceId": "i-0aaa"}, Context())
        call = self.fake.calls[0]
        self.assertEqual(call["ResourceArn"], "arn:aws:ec2:ap-northeast-1:111122223333:instance/i-0aaa")
        self.assertEqual(call["BackupVaultName"], "WebJobnetWeb-backups")
        self.assertEqual(call["IamRoleArn"], "arn:aws:iam::111122223333:role/BackupRole")
        self.assertEqual(r["resourceArn"], call["ResourceArn"])
        self.assertEqual(r["backupJobId"], "job-1")

    def test_without_an_instance_the_database_cluster_is_backed_up(self):
        self.handler.start({"executionName": "run-1"}, Context())
        self.assertEqual(self.fake.calls[0]["ResourceArn"], os.environ["RESOURCE_ARN"])

    def test_one_job_per_execution_and_resource(self):
        a = self.handler.start({"executionName": "run-1", "instanceId": "i-0aaa"}, Context())
        again = self.handler.start({"executionName": "run-1", "instanceId": "i-0aaa"}, Context())
        b = self.handler.start({"executionName": "run-1", "instanceId": "i-0bbb"}, Context())
        db = self.handler.start({"executionName": "run-1"}, Context())
        later = self.handler.start({"executionName": "run-2", "instanceId": "i-0aaa"}, Context())
        self.assertEqual(a["backupJobId"], again["backupJobId"])
        self.assertEqual(len({a["backupJobId"], b["backupJobId"], db["backupJobId"], later["backupJobId"]}), 4)
        for call in self.fake.calls:
            self.assertLessEqual(len(call["IdempotencyToken"]), 64)

    def test_an_instance_outside_the_job_net_is_refused(self):
        with self.assertRaises(self.handler.UnknownInstance):
            self.handler.start({"executionName": "run-1", "instanceId": "i-0other"}, Context())
        self.assertEqual(self.fake.calls, [])

    def test_describe_returns_the_jobs_state(self):
        job = self.handler.start({"executionName": "run-1", "instanceId": "i-0aaa"}, Context())["backupJobId"]
        self.assertEqual(self.handler.describe({"backupJobId": job}, Context())["state"], "CREATED")
        self.fake.jobs[job]["State"] = "COMPLETED"
        self.assertEqual(
            self.handler.describe({"backupJobId": job}, Context()),
            {"backupJobId": job, "state": "COMPLETED"},
        )


if __name__ == "__main__":
    unittest.main()
