# cairn's kubectl handler (eks::KubectlProvider): the on-event function of the provider
# framework behind Custom::AWSCDK-EKS-KubernetesResource (manifests),
# Custom::AWSCDK-EKS-HelmChart (Helm releases) and Custom::AWSCDK-EKS-KubernetesPatch.
#
# Every request first writes a kubeconfig for the cluster (`aws eks update-kubeconfig`,
# with the handler's role, a cluster admin through its access entry); then:
# - a manifest is created (`kubectl create`, or `apply` with Overwrite) on Create, applied on
#   Update (`--prune -l <PruneLabel>` deletes the objects that left it) and deleted on Delete;
# - a chart is installed or upgraded (`helm upgrade --install`) on Create and Update, and
#   uninstalled on Delete;
# - a patch is applied on Create and Update, and the restore patch on Delete.
# The tools come from the layers (/opt/awscli/aws, /opt/kubectl/kubectl, /opt/helm/helm),
# else from PATH. A failed command fails the request with its output.
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile

logger = logging.getLogger()
logger.setLevel(logging.INFO)

LAYER_DIRS = {"aws": "/opt/awscli", "kubectl": "/opt/kubectl", "helm": "/opt/helm"}
MANIFEST = "Custom::AWSCDK-EKS-KubernetesResource"
HELM_CHART = "Custom::AWSCDK-EKS-HelmChart"
PATCH = "Custom::AWSCDK-EKS-KubernetesPatch"
ECR_HOST = re.compile(r"^oci://(\d+\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?)/")


def tool(name):
    """The executable `name`: in its layer's directory, else on PATH."""
    in_layer = os.path.join(LAYER_DIRS[name], name)
    if os.access(in_layer, os.X_OK):
        return in_layer
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeError(
        f"{name} is neither at {in_layer} nor on PATH: give the kubectl provider its layers "
        "(kubectl_layer with kubectl/kubectl and helm/helm, awscli_layer with awscli/aws)"
    )


def run(name, *args, stdin=None):
    """Runs tool `name` with `args`; its output, or an error with its output."""
    command = [tool(name), *args]
    logger.info("running %s", " ".join([name, *args]))
    done = subprocess.run(command, input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        output = (done.stderr or done.stdout or "").strip()
        raise RuntimeError(f"{name} {' '.join(args[:2])} failed (exit {done.returncode}): {output[-3000:]}")
    return done.stdout


def update_kubeconfig(cluster_name, workdir):
    """A kubeconfig for the cluster in `workdir`, written by the AWS CLI."""
    path = os.path.join(workdir, "kubeconfig")
    args = ["eks", "update-kubeconfig", "--name", cluster_name, "--kubeconfig", path]
    region = os.environ.get("AWS_REGION")
    if region:
        args += ["--region", region]
    run("aws", *args)
    return path


def handler(event, context):
    props = event.get("ResourceProperties") or {}
    kind = event.get("ResourceType")
    handlers = {MANIFEST: manifest, HELM_CHART: helm_chart, PATCH: patch}
    if kind not in handlers:
        raise ValueError(f"the kubectl handler serves {', '.join(handlers)}, not {kind}")
    cluster = props.get("ClusterName")
    if not cluster:
        raise ValueError(f"{kind} {event.get('LogicalResourceId')}: ClusterName is missing")
    with tempfile.TemporaryDirectory() as workdir:
        kubeconfig = update_kubeconfig(cluster, workdir)
        return handlers[kind](event, props, kubeconfig, workdir) or {}


def truthy(value):
    return value is True or str(value).lower() == "true"


def write_manifest(text, workdir):
    """The objects of a Manifest property (a JSON list) as a multi-document file."""
    objects = json.loads(text)
    if not isinstance(objects, list):
        objects = [objects]
    path = os.path.join(workdir, "manifest.yaml")
    with open(path, "w") as f:
        f.write("\n---\n".join(json.dumps(o) for o in objects) + "\n")
    return path


def manifest(event, props, kubeconfig, workdir):
    request = event["RequestType"]
    path = write_manifest(props["Manifest"], workdir)
    common = ["-f", path, "--kubeconfig", kubeconfig]
    if truthy(props.get("SkipValidation")):
        common.append("--validate=false")
    label = props.get("PruneLabel")
    if request == "Create":
        verb = "apply" if truthy(props.get("Overwrite")) else "create"
        run("kubectl", verb, *common)
    elif request == "Update":
        prune = ["--prune", "-l", label] if label else []
        run("kubectl", "apply", *common, *prune)
        old = event.get("OldResourceProperties") or {}
        if not label and old.get("Manifest") and old["Manifest"] != props["Manifest"]:
            logger.info("no prune label: objects that left the manifest stay in the cluster")
    elif request == "Delete":
        run("kubectl", "delete", *common, "--ignore-not-found")
    return {}


def helm_chart(event, props, kubeconfig, workdir):
    request = event["RequestType"]
    release = props["Release"]
    namespace = props.get("Namespace") or "default"
    if request == "Delete":
        try:
            run("helm", "uninstall", release, "--namespace", namespace, "--kubeconfig", kubeconfig)
        except RuntimeError as e:
            if "not found" not in str(e):
                raise
            logger.info("release %s is not installed", release)
        return {}
    old = event.get("OldResourceProperties") or {}
    if request == "Update" and (old.get("Release"), old.get("Namespace") or "default") != (release, namespace):
        # Another release (or namespace): install it; CloudFormation deletes the old one.
        physical_id = f"{namespace}/{release}"
    else:
        physical_id = event.get("PhysicalResourceId") or f"{namespace}/{release}"
    repository = props.get("Repository")
    chart = props["Chart"]
    args = ["upgrade", release, "--install", "--namespace", namespace, "--kubeconfig", kubeconfig]
    if repository and repository.startswith("oci://"):
        login_to_ecr(repository)
        chart = repository
    elif repository:
        args += ["--repo", repository]
    args.insert(2, chart)
    if props.get("Version"):
        args += ["--version", props["Version"]]
    if props.get("Values"):
        values = os.path.join(workdir, "values.yaml")
        with open(values, "w") as f:
            f.write(props["Values"])
        args += ["--values", values]
    if truthy(props.get("CreateNamespace")):
        args.append("--create-namespace")
    if truthy(props.get("Wait")):
        args.append("--wait")
    if props.get("Timeout"):
        args += ["--timeout", props["Timeout"]]
    if truthy(props.get("Atomic")):
        args.append("--atomic")
    if truthy(props.get("SkipCrds")):
        args.append("--skip-crds")
    run("helm", *args)
    return {"PhysicalResourceId": physical_id}


def login_to_ecr(repository):
    """Logs helm in to the ECR registry of an oci:// repository (others need no login)."""
    m = ECR_HOST.match(repository)
    if not m:
        return
    host = m.group(1)
    region = host.split(".")[3]
    password = run("aws", "ecr", "get-login-password", "--region", region)
    run("helm", "registry", "login", "--username", "AWS", "--password-stdin", host, stdin=password)


def patch(event, props, kubeconfig, workdir):
    request = event["RequestType"]
    body = props["RestorePatchJson"] if request == "Delete" else props["ApplyPatchJson"]
    run(
        "kubectl", "patch", props["ResourceName"],
        "-n", props.get("ResourceNamespace") or "default",
        "--type", props.get("PatchType") or "strategic",
        "-p", body,
        "--kubeconfig", kubeconfig,
    )
    return {}
