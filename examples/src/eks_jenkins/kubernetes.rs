//! The Kubernetes side of `eks-jenkins`, applied by CloudFormation through the cluster's
//! kubectl provider (the post applies `k8s/manifest.yaml` by hand and pastes
//! `k8sPodTemplate.yaml` into the Jenkins UI):
//!
//! - the namespace [`NAMESPACE`];
//! - the Jenkins manager: its service account, the `jenkins` role and binding (pods, exec,
//!   logs, secrets, volume claims in the namespace, for the manager and the agents), the
//!   deployment on the `jenkins=manager` nodes (the manager image of the manager
//!   repository), and the service [`MANAGER_SERVICE`] (a network load balancer only the
//!   admins' network reaches; port 80 to the UI, 50000 for agents);
//! - the agents' pod template, as Jenkins configuration as code in the config map the
//!   manager reads at start: the Kubernetes cloud of this namespace, and a pod template of
//!   the agent image on the `jenkins=agent` nodes (tolerating their taint), running as the
//!   agents' service account, whose IRSA role assumes the target accounts' execution role;
//! - the cluster autoscaler (its Helm chart), running as the service account of its IRSA
//!   role.

use cairn::eks::{Cluster, HelmChartProps, KubernetesManifest, KubernetesManifestProps, ServiceAccount};
use cairn::Construct;
use cairn::{App, Result, Value};
use serde_json::json;

use super::{ADMIN_CIDR, AUTOSCALER_SERVICE_ACCOUNT, CLUSTER_NAME, REGION};

/// The namespace of Jenkins (manager and agents).
pub const NAMESPACE: &str = "jenkins";
/// The manager's service account.
pub const MANAGER_SERVICE_ACCOUNT: &str = "jenkins-manager";
/// The agents' service account (with an IRSA role).
pub const AGENT_SERVICE_ACCOUNT: &str = "jenkins-agent";
/// The manager's service (UI on port 80, agents' tunnel on 50000).
pub const MANAGER_SERVICE: &str = "jenkins-service";
/// The tag of the manager and agent images (the repositories' tags are immutable: push a
/// new tag and change this to roll out).
pub const IMAGE_TAG: &str = "1.0.0";
/// The cluster autoscaler's Helm chart version.
pub const AUTOSCALER_CHART_VERSION: &str = "9.46.6";

/// `s`, with every string equal to `marker` replaced by `value`.
fn fill(s: &serde_json::Value, marker: &str, value: &Value) -> Value {
    match s {
        serde_json::Value::String(t) if t == marker => value.clone(),
        serde_json::Value::Array(a) => Value::List(a.iter().map(|v| fill(v, marker, value)).collect()),
        serde_json::Value::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (k.clone(), fill(v, marker, value)))
                .collect(),
        ),
        other => Value::from_json(other),
    }
}

const IMAGE: &str = "<image>";

/// The Jenkins configuration as code: the Kubernetes cloud and the agents' pod template
/// (the post's `k8sPodTemplate.yaml`, on the agent nodes), the agent image filled in.
fn casc(agent_image: &Value) -> Value {
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "labels": { "some-label": "jenkins-pipeline" } },
        "spec": {
            "serviceAccountName": AGENT_SERVICE_ACCOUNT,
            "nodeSelector": { "jenkins": "agent" },
            "tolerations": [{ "key": "jenkins-agent", "operator": "Equal", "value": "true", "effect": "NoSchedule" }],
            "securityContext": { "runAsUser": 1000, "fsGroup": 1000, "runAsNonRoot": true },
            "containers": [{
                "name": "jenkins-agent",
                "image": IMAGE,
                "command": ["cat"],
                "tty": true,
                "resources": {
                    "requests": { "cpu": "100m", "memory": "256Mi" },
                    "limits": { "cpu": "1", "memory": "1024Mi" }
                }
            }]
        }
    });
    let cloud = json!({
        "jenkins": {
            "clouds": [{
                "kubernetes": {
                    "name": "eks",
                    "namespace": NAMESPACE,
                    "jenkinsUrl": format!("http://{MANAGER_SERVICE}.{NAMESPACE}.svc.cluster.local"),
                    "jenkinsTunnel": format!("{MANAGER_SERVICE}.{NAMESPACE}.svc.cluster.local:50000"),
                    "templates": [{
                        "name": AGENT_SERVICE_ACCOUNT,
                        "label": AGENT_SERVICE_ACCOUNT,
                        "serviceAccount": AGENT_SERVICE_ACCOUNT,
                        "yaml": "<pod>"
                    }]
                }
            }]
        }
    });
    // JSON is YAML: the pod template is the pod's JSON text, the file the cloud's.
    let pod_text = cairn::custom_resources::json_text(&fill(&pod, IMAGE, agent_image));
    cairn::custom_resources::json_text(&fill(&cloud, "<pod>", &pod_text))
}

/// The manager: service account, role and binding, the configuration as code, the
/// deployment and the service (the post's `k8s/manifest.yaml`), the manager image filled in.
fn manager_objects(manager_image: &Value, agent_image: &Value) -> Vec<Value> {
    let ns = NAMESPACE;
    let all = ["create", "delete", "get", "list", "patch", "update", "watch"];
    let objects = json!([
        { "apiVersion": "v1", "kind": "ServiceAccount", "metadata": { "name": MANAGER_SERVICE_ACCOUNT, "namespace": ns } },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": { "name": "jenkins", "namespace": ns },
            "rules": [
                { "apiGroups": [""], "resources": ["pods"], "verbs": all },
                { "apiGroups": [""], "resources": ["pods/exec"], "verbs": all },
                { "apiGroups": [""], "resources": ["pods/log"], "verbs": ["get", "list", "watch"] },
                { "apiGroups": [""], "resources": ["secrets"], "verbs": ["get"] },
                { "apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["create", "delete", "get", "list", "update", "watch"] }
            ]
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": { "name": "jenkins", "namespace": ns },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "jenkins" },
            "subjects": [
                { "kind": "ServiceAccount", "name": MANAGER_SERVICE_ACCOUNT, "namespace": ns },
                { "kind": "ServiceAccount", "name": AGENT_SERVICE_ACCOUNT, "namespace": ns }
            ]
        },
        {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "jenkins-casc", "namespace": ns },
            "data": { "jenkins.yaml": "<casc>" }
        },
        {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {
                "name": MANAGER_SERVICE, "namespace": ns,
                "labels": { "app.kubernetes.io/name": MANAGER_SERVICE },
                "annotations": {
                    "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
                    "service.beta.kubernetes.io/aws-load-balancer-internal": "false"
                }
            },
            "spec": {
                "type": "LoadBalancer",
                "externalTrafficPolicy": "Cluster",
                "loadBalancerSourceRanges": [ADMIN_CIDR],
                "selector": { "app.kubernetes.io/name": "jenkins" },
                "ports": [
                    { "port": 80, "targetPort": 8080, "protocol": "TCP", "name": "manager" },
                    { "port": 50000, "targetPort": 50000, "protocol": "TCP", "name": "agent" }
                ]
            }
        },
        {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": { "name": "jenkins-manager", "namespace": ns, "labels": { "app.kubernetes.io/name": "jenkins" } },
            "spec": {
                "replicas": 1,
                "strategy": { "type": "Recreate" },
                "selector": { "matchLabels": { "app.kubernetes.io/name": "jenkins" } },
                "template": {
                    "metadata": { "labels": { "app.kubernetes.io/name": "jenkins" } },
                    "spec": {
                        "serviceAccountName": MANAGER_SERVICE_ACCOUNT,
                        "nodeSelector": { "jenkins": "manager" },
                        "securityContext": { "runAsUser": 1000, "fsGroup": 1000, "runAsNonRoot": true },
                        "containers": [{
                            "name": "jenkins-manager",
                            "image": IMAGE,
                            "imagePullPolicy": "IfNotPresent",
                            "env": [{ "name": "CASC_JENKINS_CONFIG", "value": "/var/jenkins_home/casc_configs" }],
                            "resources": {
                                "requests": { "cpu": "500m", "memory": "512Mi" },
                                "limits": { "cpu": "1", "memory": "4096Mi" }
                            },
                            "ports": [
                                { "containerPort": 8080, "protocol": "TCP", "name": "manager" },
                                { "containerPort": 50000, "protocol": "TCP", "name": "jnlp" }
                            ],
                            "volumeMounts": [{ "name": "casc", "mountPath": "/var/jenkins_home/casc_configs", "readOnly": true }]
                        }],
                        "volumes": [{ "name": "casc", "configMap": { "name": "jenkins-casc" } }]
                    }
                }
            }
        }
    ]);
    let casc = casc(agent_image);
    objects
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| match fill(o, IMAGE, manager_image) {
            Value::Map(mut m) if o["kind"] == "ConfigMap" => {
                m.insert("data".into(), Value::map([("jenkins.yaml", casc.clone())]));
                Value::Map(m)
            }
            v => v,
        })
        .collect()
}

/// Applies everything above to `cluster`; `agents` and `autoscaler` are the service
/// accounts (IRSA) of the agents and of the cluster autoscaler, `*_image` the images'
/// repository URIs with their tag.
pub fn deploy_jenkins(
    app: &mut App,
    cluster: &Cluster,
    agents: &ServiceAccount,
    autoscaler: &ServiceAccount,
    manager_image: Value,
    agent_image: Value,
) -> Result<()> {
    let namespace = cluster.add_manifest(
        app,
        "JenkinsNamespace",
        vec![json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": NAMESPACE } })],
    )?;
    let manager = KubernetesManifest::new(
        app,
        cluster.node(),
        "manifest-JenkinsManager",
        KubernetesManifestProps::new(cluster, manager_objects(&manager_image, &agent_image)),
    )?;
    // Objects in the namespace wait for it; the chart for its service account.
    let mut waits = vec![(manager.resource().resource().node(), namespace.node())];
    if let Some(m) = agents.kubernetes_manifest() {
        waits.push((m.resource().resource().node(), namespace.node()));
    }
    let (sa_namespace, sa_name) = AUTOSCALER_SERVICE_ACCOUNT;
    let chart = cluster.add_helm_chart(
        app,
        "ClusterAutoscaler",
        HelmChartProps {
            repository: Some("https://kubernetes.github.io/autoscaler".into()),
            version: Some(AUTOSCALER_CHART_VERSION.into()),
            namespace: sa_namespace.into(),
            release: Some("cluster-autoscaler".into()),
            values: Some(Value::from_json(&json!({
                "autoDiscovery": { "clusterName": CLUSTER_NAME },
                "awsRegion": REGION,
                "rbac": { "serviceAccount": { "create": false, "name": sa_name } },
                "nodeSelector": { "jenkins": "manager" }
            }))),
            ..HelmChartProps::new(cluster, "cluster-autoscaler")
        },
    )?;
    if let Some(m) = autoscaler.kubernetes_manifest() {
        waits.push((chart.resource().resource().node(), m.node()));
    }
    for (resource, on) in waits {
        app.resource_options_mut(resource)?.depends_on.push(on);
    }
    if let Some(provider) = cluster.kubectl_provider() {
        crate::answer_checks(
            app,
            provider.node(),
            &[
                (
                    "CKV_AWS_116",
                    "The kubectl handler and its provider framework are invoked synchronously by CloudFormation's custom resource requests: a failure fails the stack operation with its reason, and a dead-letter queue is never used for synchronous invocations",
                ),
                (
                    "CKV_AWS_115",
                    "No reserved concurrency: invoked only by this stack's custom resources, a handful at a time while it deploys; a reservation would only carve capacity out of the account's shared regional pool",
                ),
                ("CKV_AWS_173", crate::lambda_reasons::ENV_WITHOUT_CMK),
            ],
        )?;
    }
    Ok(())
}
