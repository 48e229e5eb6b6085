//! Kubernetes service accounts with an IAM role (IRSA), and the DNS name checks Kubernetes
//! applies to namespaces and object names.

use cairn_core::{App, NodeId, Result, Value};
use indexmap::IndexMap;

use super::{Cluster, KubernetesManifest, KubernetesManifestProps, STS_AUDIENCE};
use crate::iam::{OpenIdConnectPrincipal, Role, RoleProps};

/// A DNS-1123 label (Kubernetes namespaces): 1 to 63 of `a-z`, `0-9`, `-`, alphanumeric
/// at both ends.
pub(super) fn check_dns_label(s: &str) -> std::result::Result<(), String> {
    let ok_chars = s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let ends = s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    if s.is_empty() || s.len() > 63 || !ok_chars || !ends {
        return Err(
            "must be 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit"
                .into(),
        );
    }
    Ok(())
}

/// A DNS-1123 subdomain (Kubernetes object names): up to 253 characters, dot-separated
/// labels.
pub(super) fn check_dns_subdomain(s: &str) -> std::result::Result<(), String> {
    if s.is_empty() || s.len() > 253 || s.split('.').any(|l| check_dns_label(l).is_err()) {
        return Err("must be up to 253 lowercase letters, digits, '-' or '.', each dot-separated part starting and ending with a letter or digit".into());
    }
    Ok(())
}

/// Settings of a [`ServiceAccount`].
///
/// ```
/// use cairn_constructs::ec2::{Vpc, VpcProps};
/// use cairn_constructs::eks::{Cluster, ClusterProps, KubernetesVersion, ServiceAccountProps};
/// # let mut app = cairn_core::App::new();
/// # let stack = app.stack("S").unwrap();
/// # let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default()).unwrap();
/// # let cluster = Cluster::new(&mut app, stack, "Cluster", ClusterProps::new(&vpc, KubernetesVersion::V1_33)).unwrap();
/// let props = ServiceAccountProps::new(&cluster, "jenkins", "jenkins-agent");
/// assert_eq!(props.namespace, "jenkins");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccountProps {
    /// The cluster whose OIDC provider the role trusts.
    pub cluster: Cluster,
    /// The Kubernetes namespace.
    pub namespace: String,
    /// The service account's name.
    pub name: String,
    /// A physical role name; generated when `None`.
    pub role_name: Option<Value>,
    /// The role's description.
    pub description: Option<String>,
    /// More labels of the Kubernetes object (after `app.kubernetes.io/name: <name>`).
    pub labels: IndexMap<String, String>,
    /// More annotations of the Kubernetes object (after `eks.amazonaws.com/role-arn`).
    pub annotations: IndexMap<String, String>,
    /// Apply over an existing service account of the same name instead of failing
    /// (with a kubectl provider). Default: off.
    pub overwrite: bool,
}

impl ServiceAccountProps {
    /// The service account `name` in `namespace` of `cluster`.
    pub fn new(cluster: &Cluster, namespace: &str, name: &str) -> Self {
        ServiceAccountProps {
            cluster: cluster.clone(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            role_name: None,
            description: None,
            labels: IndexMap::new(),
            annotations: IndexMap::new(),
            overwrite: false,
        }
    }
}

/// An IAM role for a Kubernetes service account (IRSA): only pods running as
/// `system:serviceaccount:<namespace>:<name>` of this cluster, with a token for STS, may
/// assume it. The trust has the conditions `<issuer>:sub` and `<issuer>:aud`; since the
/// issuer is known only once the cluster exists, the trust policy renders as one
/// `Fn::Sub` (see [`OpenIdConnectPrincipal`]).
///
/// With a kubectl provider on the cluster ([`super::ClusterProps::kubectl_provider`]) the
/// Kubernetes object is applied too (`<id>/manifest-<id>ServiceAccountResource`, as in
/// aws-cdk-lib: labelled `app.kubernetes.io/name`, annotated with the role's ARN).
/// Without one, the Kubernetes side is yours to apply: annotate the service account with
/// [`ServiceAccount::annotation`] (or apply [`ServiceAccount::manifest`]).
///
/// ```
/// use cairn_constructs::ec2::{Vpc, VpcProps};
/// use cairn_constructs::eks::{Cluster, ClusterProps, KubernetesVersion, ServiceAccountProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
/// let cluster = Cluster::new(&mut app, stack, "Cluster", ClusterProps::new(&vpc, KubernetesVersion::V1_33))?;
/// let sa = cluster.add_service_account(&mut app, "Manager", ServiceAccountProps::new(&cluster, "jenkins", "jenkins-manager"))?;
/// let asm = app.synth()?;
/// let s = asm.stack("S").unwrap();
/// let role = &s.template["Resources"][s.resources_of_type("AWS::IAM::Role").last().unwrap()];
/// let text = role["Properties"]["AssumeRolePolicyDocument"]["Fn::Sub"][0].as_str().unwrap();
/// assert!(text.contains(r#""${OidcIssuer}:sub":"system:serviceaccount:jenkins:jenkins-manager""#));
/// # let _ = sa;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    node: NodeId,
    role: Role,
    namespace: String,
    name: String,
    applied: Option<KubernetesManifest>,
}

impl PartialEq for ServiceAccount {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl ServiceAccount {
    /// Creates the role as `<id>/Role` under `scope` (usually the cluster:
    /// [`Cluster::add_service_account`]), creating the cluster's OIDC provider if needed.
    /// A namespace or name that Kubernetes would refuse is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: ServiceAccountProps,
    ) -> Result<ServiceAccount> {
        let node = app.construct(scope, id)?;
        let cluster = &props.cluster;
        let mut problems = Vec::new();
        if let Err(e) = check_dns_label(&props.namespace) {
            problems.push(format!("the namespace {:?} {e}", props.namespace));
        }
        if let Err(e) = check_dns_subdomain(&props.name) {
            problems.push(format!("the service account name {:?} {e}", props.name));
        }
        crate::check_props(app, node, problems)?;
        let provider = cluster.open_id_connect_provider(app)?;
        let principal = OpenIdConnectPrincipal::new(&provider)
            .string_equals(
                "sub",
                &format!("system:serviceaccount:{}:{}", props.namespace, props.name),
            )
            .string_equals("aud", STS_AUDIENCE);
        let role = Role::new(
            app,
            node,
            "Role",
            RoleProps {
                role_name: props.role_name.clone(),
                description: Some(props.description.clone().unwrap_or_else(|| {
                    format!(
                        "IRSA role of the service account {}/{}",
                        props.namespace, props.name
                    )
                })),
                ..RoleProps::web_identity(principal)
            },
        )?;
        let mut account = ServiceAccount {
            node,
            role,
            namespace: props.namespace.clone(),
            name: props.name.clone(),
            applied: None,
        };
        if cluster.kubectl_provider().is_some() {
            // The Kubernetes object too, as aws-cdk-lib applies it.
            let manifest = KubernetesManifest::new(
                app,
                node,
                &format!("manifest-{id}ServiceAccountResource"),
                KubernetesManifestProps {
                    overwrite: props.overwrite,
                    ..KubernetesManifestProps::new(cluster, vec![account.object(&props)])
                },
            )?;
            account.applied = Some(manifest);
        }
        Ok(account)
    }

    /// The Kubernetes `ServiceAccount` object, annotated with the role's ARN.
    fn object(&self, props: &ServiceAccountProps) -> Value {
        let strings = |first: (&str, Value), more: &IndexMap<String, String>| {
            let mut m = IndexMap::new();
            m.insert(first.0.to_string(), first.1);
            for (k, v) in more {
                m.insert(k.clone(), Value::from(v.as_str()));
            }
            Value::Map(m)
        };
        Value::map([
            ("apiVersion", Value::from("v1")),
            ("kind", Value::from("ServiceAccount")),
            (
                "metadata",
                Value::map([
                    ("name", Value::from(self.name.as_str())),
                    ("namespace", Value::from(self.namespace.as_str())),
                    (
                        "labels",
                        strings(
                            ("app.kubernetes.io/name", Value::from(self.name.as_str())),
                            &props.labels,
                        ),
                    ),
                    ("annotations", strings(self.annotation(), &props.annotations)),
                ]),
            ),
        ])
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The manifest applying the Kubernetes object, when the cluster has a kubectl
    /// provider (e.g. to make it wait for the manifest creating its namespace).
    pub fn kubernetes_manifest(&self) -> Option<KubernetesManifest> {
        self.applied
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The role's ARN.
    pub fn role_arn(&self) -> Value {
        self.role.arn()
    }

    /// The namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The service account's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The annotation the Kubernetes service account needs:
    /// `eks.amazonaws.com/role-arn: <role ARN>`.
    pub fn annotation(&self) -> (&'static str, Value) {
        ("eks.amazonaws.com/role-arn", self.role_arn())
    }

    /// The service account's Kubernetes manifest (YAML text with the role ARN filled in
    /// at deploy time), e.g. for a stack output to `kubectl apply`.
    pub fn manifest(&self) -> Value {
        Value::join(
            "",
            [
                Value::from(format!(
                    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {}\n  namespace: {}\n  annotations:\n    eks.amazonaws.com/role-arn: ",
                    self.name, self.namespace
                )),
                self.role_arn(),
                Value::from("\n"),
            ],
        )
    }
}

grantable_by_role!(ServiceAccount);

impl From<&ServiceAccount> for NodeId {
    fn from(s: &ServiceAccount) -> NodeId {
        s.node
    }
}

construct!(ServiceAccount);
node_from!(ServiceAccount);
