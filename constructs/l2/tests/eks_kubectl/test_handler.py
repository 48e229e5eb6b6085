"""Tests of the kubectl handler (constructs/l2/src/eks/kubectl_handler.py, its path the
first argument): fake `aws`, `kubectl` and `helm` on PATH record their arguments (and the
manifest or values files they were given); the handler must write the kubeconfig first,
then run the right commands for each request, and fail with a command's output."""
import importlib.util
import json
import os
import sys
import tempfile
import unittest

FAKE = """#!{python}
import json, os, sys
args = sys.argv[1:]
files = {{}}
for flag in ("-f", "--values"):
    if flag in args:
        files[flag] = open(args[args.index(flag) + 1]).read()
if "--kubeconfig" in args and os.path.basename(sys.argv[0]) != "aws":
    assert os.path.exists(args[args.index("--kubeconfig") + 1]), "no kubeconfig written first"
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({{"tool": os.path.basename(sys.argv[0]), "args": args, "files": files}}) + "\\n")
if os.path.basename(sys.argv[0]) == "aws" and "update-kubeconfig" in args:
    open(args[args.index("--kubeconfig") + 1], "w").write("kind: Config\\n")
fail = os.environ.get("FAKE_FAIL")
if fail and fail in " ".join(args):
    sys.stderr.write("Error: " + fail + " went wrong\\n")
    sys.exit(1)
"""


def load(path):
    spec = importlib.util.spec_from_file_location("kubectl_handler", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Handler(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        bin_dir = os.path.join(self.dir.name, "bin")
        os.mkdir(bin_dir)
        for name in ("aws", "kubectl", "helm"):
            path = os.path.join(bin_dir, name)
            with open(path, "w") as f:
                f.write(FAKE.format(python=sys.executable))
            os.chmod(path, 0o755)
        self.log = os.path.join(self.dir.name, "log")
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
        os.environ["FAKE_LOG"] = self.log
        os.environ.pop("FAKE_FAIL", None)
        os.environ["AWS_REGION"] = "us-east-1"

    def tearDown(self):
        self.dir.cleanup()

    def calls(self):
        with open(self.log) as f:
            return [json.loads(line) for line in f]

    def event(self, request, resource_type, props, old=None):
        e = {"RequestType": request, "ResourceType": resource_type, "LogicalResourceId": "R",
             "ResourceProperties": {"ServiceToken": "arn", "ClusterName": "jenkins", **props}}
        if request != "Create":
            e["PhysicalResourceId"] = "p"
        if old is not None:
            e["OldResourceProperties"] = old
        return e

    def test_manifest_create_update_delete(self):
        manifest = json.dumps([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "jenkins"}},
                               {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a"}}])
        props = {"Manifest": manifest, "PruneLabel": "aws.cdk.eks/prune-c8x"}
        kind = "Custom::AWSCDK-EKS-KubernetesResource"
        for request in ("Create", "Update", "Delete"):
            HANDLER.handler(self.event(request, kind, props, old=props if request == "Update" else None), None)
        calls = self.calls()
        self.assertEqual([c["tool"] for c in calls], ["aws", "kubectl"] * 3)
        self.assertEqual(calls[0]["args"][:4], ["eks", "update-kubeconfig", "--name", "jenkins"])
        self.assertEqual(calls[1]["args"][0], "create")
        docs = calls[1]["files"]["-f"].split("\n---\n")
        self.assertEqual([json.loads(d)["kind"] for d in docs], ["Namespace", "ServiceAccount"])
        self.assertEqual(calls[3]["args"][0], "apply")
        self.assertEqual(calls[3]["args"][-3:], ["--prune", "-l", "aws.cdk.eks/prune-c8x"])
        self.assertEqual(calls[5]["args"][0], "delete")
        self.assertIn("--ignore-not-found", calls[5]["args"])

    def test_overwrite_applies_on_create(self):
        props = {"Manifest": "[]", "Overwrite": "true", "SkipValidation": "true"}
        HANDLER.handler(self.event("Create", "Custom::AWSCDK-EKS-KubernetesResource", props), None)
        args = self.calls()[1]["args"]
        self.assertEqual(args[0], "apply")
        self.assertIn("--validate=false", args)

    def test_chart_install_and_uninstall(self):
        props = {"Release": "jenkins", "Chart": "jenkins", "Repository": "https://charts.jenkins.io",
                 "Version": "5.8.0", "Namespace": "jenkins", "Values": "{\"a\":1}", "CreateNamespace": "true",
                 "Wait": "true", "Timeout": "600s"}
        kind = "Custom::AWSCDK-EKS-HelmChart"
        answer = HANDLER.handler(self.event("Create", kind, props), None)
        self.assertEqual(answer, {"PhysicalResourceId": "jenkins/jenkins"})
        HANDLER.handler(self.event("Delete", kind, props), None)
        calls = self.calls()
        install = calls[1]["args"]
        self.assertEqual(install[:4], ["upgrade", "jenkins", "jenkins", "--install"])
        for flag in (["--repo", "https://charts.jenkins.io"], ["--version", "5.8.0"], ["--timeout", "600s"],
                     ["--namespace", "jenkins"]):
            i = install.index(flag[0])
            self.assertEqual(install[i:i + 2], flag)
        self.assertIn("--create-namespace", install)
        self.assertIn("--wait", install)
        self.assertEqual(calls[1]["files"]["--values"], "{\"a\":1}")
        self.assertEqual(calls[3]["args"][:4], ["uninstall", "jenkins", "--namespace", "jenkins"])

    def test_an_ecr_chart_logs_in_first(self):
        props = {"Release": "r", "Chart": "c", "Repository": "oci://111111111111.dkr.ecr.us-east-1.amazonaws.com/charts/c"}
        HANDLER.handler(self.event("Create", "Custom::AWSCDK-EKS-HelmChart", props), None)
        calls = self.calls()
        self.assertEqual(calls[1]["args"][:2], ["ecr", "get-login-password"])
        self.assertEqual(calls[2]["args"][:2], ["registry", "login"])
        self.assertEqual(calls[3]["args"][2], props["Repository"])

    def test_patch_applies_and_restores(self):
        props = {"ResourceName": "deployment/coredns", "ResourceNamespace": "kube-system",
                 "ApplyPatchJson": "{\"a\":1}", "RestorePatchJson": "{\"a\":0}", "PatchType": "merge"}
        for request in ("Create", "Delete"):
            HANDLER.handler(self.event(request, "Custom::AWSCDK-EKS-KubernetesPatch", props), None)
        calls = self.calls()
        self.assertEqual(calls[1]["args"][:2], ["patch", "deployment/coredns"])
        self.assertIn("{\"a\":1}", calls[1]["args"])
        self.assertIn("{\"a\":0}", calls[3]["args"])

    def test_a_failed_command_fails_the_request_with_its_output(self):
        os.environ["FAKE_FAIL"] = "create"
        with self.assertRaisesRegex(RuntimeError, "create went wrong"):
            HANDLER.handler(self.event("Create", "Custom::AWSCDK-EKS-KubernetesResource", {"Manifest": "[]"}), None)

    def test_an_unknown_type_is_refused(self):
        with self.assertRaisesRegex(ValueError, "not Custom::Other"):
            HANDLER.handler(self.event("Create", "Custom::Other", {}), None)


if __name__ == "__main__":
    HANDLER = load(sys.argv.pop(1))
    unittest.main()
