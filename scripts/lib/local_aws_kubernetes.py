"""Kubernetes, stood in for in the local environment (used by local-aws.py).

moto's EKS clusters run no control plane, so the kubectl handler of a cluster's kubectl
provider (eks::KubectlProvider, cairn's real handler code, run by the local Lambda) runs
against stand-ins of the tools its layers carry: `aws`, `kubectl` and `helm` executables,
put first on the PATH of every function with layers. They keep what they were asked in a
state file, per cluster:

- `aws eks update-kubeconfig --name N --kubeconfig F` writes a kubeconfig naming N (the
  other two refuse to run without one); `aws ecr get-login-password` prints a password;
- `kubectl create|apply|delete -f F` creates (refused if it exists), applies (with
  `--prune -l LABEL`: deleting the labelled objects the file no longer holds) or deletes
  (`--ignore-not-found`) the objects of F; an object of a namespace that does not exist is
  refused, as the API server refuses it; `kubectl patch` merges a patch into an object;
- `helm upgrade REL CHART --install ...` records the release (chart, repository, version,
  values), refused when its namespace is missing without `--create-namespace`;
  `helm uninstall` removes it (`release: not found` when absent); `helm registry login`.

Every call is logged too. GET /_local-aws/kubernetes serves the state, for the checks of
scripts/deploy-examples. Nothing runs: no pod, no load balancer, no chart rendering.
"""

import fcntl
import json
import os
import sys

GAP = (
    "EKS runs no Kubernetes: the kubectl provider's handler (cairn's code) runs against stand-in aws, kubectl and "
    "helm executables (scripts/lib/local_aws_kubernetes.py) that keep the objects and Helm releases they are asked "
    "for; no pod runs, no chart is rendered, no load balancer is made"
)
TOOLS = ("aws", "kubectl", "helm")
# Objects of these kinds have no namespace.
CLUSTER_SCOPED = {
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
    "StorageClass", "PriorityClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "APIService", "IngressClass", "Node", "RuntimeClass",
}
# Namespaces every cluster has.
BUILT_IN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

_dir = [None]


def install(work):
    """Writes the stand-in executables into WORK/kubernetes/bin; returns that directory."""
    base = os.path.join(work, "kubernetes")
    bin_dir = os.path.join(base, "bin")
    os.makedirs(bin_dir, exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    for tool in TOOLS:
        path = os.path.join(bin_dir, tool)
        with open(path, "w") as f:
            f.write(
                f"#!{sys.executable}\n"
                "import sys\n"
                f"sys.path.insert(0, {here!r})\n"
                "import local_aws_kubernetes\n"
                f"sys.exit(local_aws_kubernetes.main({tool!r}, {base!r}, sys.argv[1:]))\n"
            )
        os.chmod(path, 0o755)
    _dir[0] = base
    return bin_dir


def state():
    """The stand-in clusters' state (what GET /_local-aws/kubernetes serves)."""
    if _dir[0] is None:
        return {"clusters": {}, "calls": []}
    with Locked(_dir[0]) as s:
        return s


class Failed(Exception):
    pass


class Locked:
    """The state file, read and (on a clean exit) written under an exclusive lock."""

    def __init__(self, base):
        self.path = os.path.join(base, "state.json")
        self.lock = open(os.path.join(base, "state.lock"), "a")

    def __enter__(self):
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        try:
            with open(self.path) as f:
                self.state = json.load(f)
        except FileNotFoundError:
            self.state = {"clusters": {}, "calls": []}
        return self.state

    def __exit__(self, kind, *_):
        if kind is None or kind is Failed:
            with open(self.path + ".tmp", "w") as f:
                json.dump(self.state, f)
            os.replace(self.path + ".tmp", self.path)
        fcntl.flock(self.lock, fcntl.LOCK_UN)
        self.lock.close()
        return False


def option(args, name, default=None):
    if name in args:
        i = args.index(name)
        if i + 1 < len(args):
            return args[i + 1]
    for a in args:
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return default


def main(tool, base, args):
    with Locked(base) as s:
        s["calls"].append({"tool": tool, "args": args})
        try:
            out = {"aws": aws, "kubectl": kubectl, "helm": helm}[tool](s, args)
        except Failed as e:
            s["calls"][-1]["error"] = str(e)
            sys.stderr.write(f"Error: {e}\n")
            return 1
    if out:
        sys.stdout.write(out)
    return 0


def aws(s, args):
    if args[:2] == ["eks", "update-kubeconfig"]:
        name = option(args, "--name")
        path = option(args, "--kubeconfig")
        if not name or not path:
            raise Failed("aws eks update-kubeconfig needs --name and --kubeconfig")
        with open(path, "w") as f:
            json.dump({"cluster": name, "region": option(args, "--region")}, f)
        s["clusters"].setdefault(name, {"objects": {}, "releases": {}})
        return f"Added new context for {name} to {path}\n"
    if args[:2] == ["ecr", "get-login-password"]:
        return "local-password"
    raise Failed(f"the stand-in aws does not know {' '.join(args[:2])}")


def cluster_of(s, args):
    path = option(args, "--kubeconfig") or os.environ.get("KUBECONFIG")
    if not path or not os.path.exists(path):
        raise Failed("no kubeconfig (run aws eks update-kubeconfig first)")
    with open(path) as f:
        name = json.load(f)["cluster"]
    return s["clusters"].setdefault(name, {"objects": {}, "releases": {}})


def read_objects(path):
    with open(path) as f:
        text = f.read()
    objects = []
    for doc in text.split("\n---\n"):
        doc = doc.strip()
        if doc:
            o = json.loads(doc)
            objects.extend(o["items"] if o.get("kind") == "List" else [o])
    return objects


def key(o):
    kind = o["kind"]
    meta = o.get("metadata") or {}
    ns = None if kind in CLUSTER_SCOPED else meta.get("namespace") or "default"
    return f"{kind}/{ns}/{meta.get('name')}" if ns else f"{kind}//{meta.get('name')}"


def namespace_exists(c, ns):
    return ns in BUILT_IN_NAMESPACES or f"Namespace//{ns}" in c["objects"]


def kubectl(s, args):
    c = cluster_of(s, args)
    verb = args[0] if args else ""
    if verb in ("create", "apply", "delete"):
        objects = read_objects(option(args, "-f"))
        if verb == "delete":
            for o in objects:
                if c["objects"].pop(key(o), None) is None and "--ignore-not-found" not in args:
                    raise Failed(f'{o["kind"]} "{o["metadata"]["name"]}" not found')
            return "".join(f'{o["kind"].lower()} "{o["metadata"]["name"]}" deleted\n' for o in objects)
        for o in objects:
            k = key(o)
            ns = k.split("/")[1]
            if ns and not namespace_exists(c, ns):
                raise Failed(f'namespaces "{ns}" not found')
            if verb == "create" and k in c["objects"]:
                raise Failed(f'{o["kind"]} "{o["metadata"]["name"]}" already exists')
            c["objects"][k] = o
        label = option(args, "-l") if "--prune" in args else None
        if label:
            keep = {key(o) for o in objects}
            for k in [k for k, o in c["objects"].items()
                      if label in ((o.get("metadata") or {}).get("labels") or {}) and k not in keep]:
                del c["objects"][k]
        return "".join(f'{o["kind"].lower()}/{o["metadata"]["name"]} {verb}d\n' for o in objects)
    if verb == "patch":
        kind, name = args[1].split("/", 1)
        ns = option(args, "-n", "default")
        match = [k for k, o in c["objects"].items()
                 if o["kind"].lower() == kind.lower() and o["metadata"]["name"] == name
                 and k.split("/")[1] in (ns, "")]
        body = json.loads(option(args, "-p"))
        if not match:
            # Objects EKS makes itself (e.g. deployment/coredns) are not in the stand-in.
            c["objects"][f"{kind}/{ns}/{name}"] = {"kind": kind, "metadata": {"name": name, "namespace": ns},
                                                   "patches": [body]}
            return f"{kind}/{name} patched\n"
        c["objects"][match[0]].setdefault("patches", []).append(body)
        return f"{kind}/{name} patched\n"
    raise Failed(f"the stand-in kubectl does not know {verb}")


def helm(s, args):
    verb = args[0] if args else ""
    if verb == "registry":
        return "Login Succeeded\n"
    c = cluster_of(s, args)
    ns = option(args, "--namespace", "default")
    if verb == "upgrade":
        release, chart = args[1], args[2]
        if not namespace_exists(c, ns):
            if "--create-namespace" not in args:
                raise Failed(f'create: failed to create: namespaces "{ns}" not found')
            c["objects"][f"Namespace//{ns}"] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        values = None
        if option(args, "--values"):
            with open(option(args, "--values")) as f:
                values = json.load(f)
        c["releases"][f"{ns}/{release}"] = {
            "chart": chart, "repository": option(args, "--repo"), "version": option(args, "--version"),
            "values": values, "wait": "--wait" in args,
        }
        return f'Release "{release}" has been upgraded. Happy Helming!\n'
    if verb == "uninstall":
        release = args[1]
        if c["releases"].pop(f"{ns}/{release}", None) is None:
            raise Failed(f"uninstall: Release not loaded: {release}: release: not found")
        return f'release "{release}" uninstalled\n'
    raise Failed(f"the stand-in helm does not know {verb}")
