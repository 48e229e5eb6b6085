//! `eks-jenkins`: Jenkins on EKS with dynamic agents, deploying CloudFormation stacks into
//! target accounts (the setup of the AWS blog "Orchestrate Jenkins Workloads using Dynamic
//! Pod Autoscaling with Amazon EKS").
//!
//! One stack in the shared-services account ([`SHARED_SERVICES_ACCOUNT`], [`REGION`]):
//!
//! - a VPC (public and private subnets in two AZs, a NAT gateway per AZ, flow logs to an
//!   encrypted log group);
//! - the EKS cluster [`CLUSTER_NAME`] (Kubernetes 1.33): Kubernetes secrets encrypted with
//!   a customer managed key, the API endpoint private and public only from
//!   [`ADMIN_CIDR`], every control-plane log type sent to CloudWatch Logs, access through
//!   EKS access entries (the platform admins' role [`ADMIN_ROLE_ARN`] is cluster admin);
//! - two managed node groups: `ManagerNodes` (On-Demand, 1 to 2 nodes, label
//!   `jenkins=manager`) runs the Jenkins manager; `AgentNodes` (Spot over three similar
//!   instance types, 1 to 10 nodes, label `jenkins=agent`, tainted so that only agent pods
//!   land there) runs the build agents the Kubernetes plugin starts per job. The cluster
//!   autoscaler adds and removes agent nodes as agent pods wait or finish;
//! - the cluster's OpenID Connect provider and the cluster autoscaler's IAM role for the
//!   service account `kube-system/cluster-autoscaler` (IRSA), allowed to resize only the
//!   node groups' Auto Scaling groups of this cluster;
//! - ECR repositories for the manager and agent images ([`MANAGER_REPOSITORY`],
//!   [`AGENT_REPOSITORY`]): scan on push, immutable tags, encrypted with a customer managed
//!   key, untagged images expire; each node group may pull (and decrypt) its image;
//! - the agents' service account `jenkins/jenkins-agent` with an IRSA role that may
//!   `sts:AssumeRole` exactly the [`EXECUTION_ROLE_NAME`] role of each target account: that
//!   is how a pipeline deploys into a target account (only agent pods get it, not every pod
//!   of the agent nodes);
//! - Jenkins itself, applied by CloudFormation through the cluster's kubectl provider (its
//!   layers [`KUBECTL_LAYER`] and [`AWSCLI_LAYER`], published in the account beforehand):
//!   the manager (deployment, service, RBAC), the agents' pod template (configuration as
//!   code) and the cluster autoscaler's Helm chart; see [`kubernetes`].
//!
//! One stack per target account ([`TARGET_ACCOUNTS`], same region): the
//! [`EXECUTION_ROLE_NAME`] role, trusted only by the shared-services account, which may run
//! CloudFormation stack operations and pass [`DEPLOYMENT_ROLE_NAME`] to CloudFormation;
//! that role (trusted only by `cloudformation.amazonaws.com`) holds what the deployed
//! stacks need (`PowerUserAccess`), so the role the agents assume never touches resources
//! directly.
//!
//! The recommended compliance rules run over the whole app in fix mode, and every property
//! is checked against its CloudFormation schema at synthesis.

use cairn::aspects::RuleSet;
use cairn::ec2::{FlowLogOptions, Vpc, VpcProps};
use cairn::ecr::{LifecycleRule, Repository, RepositoryEncryption, RepositoryProps};
use cairn::eks::{
    AccessPolicy, AwsCliLayer, CapacityType, Cluster, ClusterProps, EndpointAccess, KubectlProviderOptions,
    KubernetesVersion, NodegroupProps, ServiceAccountProps, Taint, TaintEffect,
};
use cairn::iam::{PolicyDocument, PolicyStatement, Principal, Role, RoleProps};
use cairn::kms::{Key, KeyProps};
use cairn::lambda::LayerVersion;
use cairn::{App, Arn, Environment, Output, Pseudo, Result, Stack, StackProps, Value};

pub mod kubernetes;

/// The shared-services account, where Jenkins runs.
pub const SHARED_SERVICES_ACCOUNT: &str = "111111111111";
/// The accounts Jenkins deploys into.
pub const TARGET_ACCOUNTS: [&str; 2] = ["222222222222", "333333333333"];
/// The region of every stack.
pub const REGION: &str = "us-east-1";
/// The stacks: shared services, then one per target account.
pub const STACKS: [&str; 3] = [
    "EksJenkinsSharedServices",
    "EksJenkinsTarget222222222222",
    "EksJenkinsTarget333333333333",
];
/// The cluster's name.
pub const CLUSTER_NAME: &str = "jenkins";
/// The role Jenkins agents assume in each target account.
pub const EXECUTION_ROLE_NAME: &str = "CloudFormationStackExecutionRole";
/// The role CloudFormation deploys with in each target account.
pub const DEPLOYMENT_ROLE_NAME: &str = "CloudFormationDeploymentRole";
/// The only addresses that reach the cluster's public API endpoint (the admins' network).
pub const ADMIN_CIDR: &str = "203.0.113.0/24";
/// The platform admins' role, cluster admin through an access entry.
pub const ADMIN_ROLE_ARN: &str = "arn:aws:iam::111111111111:role/JenkinsPlatformAdmin";
/// The Jenkins manager image repository.
pub const MANAGER_REPOSITORY: &str = "jenkins/manager";
/// The Jenkins agent image repository.
pub const AGENT_REPOSITORY: &str = "jenkins/agent";
/// The Kubernetes namespace and name of the cluster autoscaler's service account.
pub const AUTOSCALER_SERVICE_ACCOUNT: (&str, &str) = ("kube-system", "cluster-autoscaler");
/// The Lambda layer with `kubectl` and `helm` (the layout of the CDK's
/// `@aws-cdk/lambda-layer-kubectl-v33`), published in the shared-services account.
pub const KUBECTL_LAYER: &str = "layer:kubectl-v33:1";
/// The Lambda layer with the AWS CLI (`awscli/aws`), published in the shared-services
/// account.
pub const AWSCLI_LAYER: &str = "layer:awscli-v2:1";

/// `arn:<partition>:iam::<account>:role/<name>`.
fn role_arn(account: &str, name: &str) -> Value {
    Value::join(
        "",
        [
            Value::from("arn:"),
            Value::pseudo(Pseudo::Partition),
            Value::from(format!(":iam::{account}:role/{name}")),
        ],
    )
}

/// The ARNs of the execution roles of every target account.
pub fn execution_role_arns() -> Vec<Value> {
    TARGET_ACCOUNTS
        .iter()
        .map(|a| role_arn(a, EXECUTION_ROLE_NAME))
        .collect()
}

fn image_repository(app: &mut App, stack: Stack, id: &str, name: &str, key: Key) -> Result<Repository> {
    Repository::new(
        app,
        stack,
        id,
        RepositoryProps {
            repository_name: Some(name.into()),
            encryption: RepositoryEncryption::Kms(key),
            lifecycle_rules: vec![
                LifecycleRule::expire_untagged_after_days(7),
                LifecycleRule::keep_last(50),
            ],
            ..RepositoryProps::default()
        },
    )
}

/// The cluster autoscaler's permissions (its documented least-privilege policy): describe
/// everything, change only the Auto Scaling groups EKS tagged as this cluster's.
fn autoscaler_statements() -> Vec<PolicyStatement> {
    vec![
        PolicyStatement::allow()
            .actions([
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
                "eks:DescribeNodegroup",
            ])
            .resource("*"),
        PolicyStatement::allow()
            .actions([
                "autoscaling:SetDesiredCapacity",
                "autoscaling:TerminateInstanceInAutoScalingGroup",
            ])
            .resource("*")
            .condition(
                "StringEquals",
                &format!("aws:ResourceTag/k8s.io/cluster-autoscaler/{CLUSTER_NAME}"),
                "owned",
            ),
    ]
}

fn shared_services_stack(app: &mut App) -> Result<()> {
    let root = app.root();
    let stack = app.stack_with(
        root,
        STACKS[0],
        StackProps {
            env: Some(Environment::new(SHARED_SERVICES_ACCOUNT, REGION)),
            description: Some("eks-jenkins: Jenkins on EKS with dynamic agents (shared services)".into()),
            ..StackProps::default()
        },
    )?;
    let vpc = Vpc::new(
        app,
        stack,
        "Vpc",
        VpcProps {
            flow_logs: Some(FlowLogOptions::default()),
            ..VpcProps::default()
        },
    )?;
    // The layers of the kubectl provider, published in this account beforehand.
    let kubectl_layer = LayerVersion::from_layer_version_arn(
        app,
        stack,
        "KubectlLayer",
        Arn::new("lambda", KUBECTL_LAYER).format(),
    )?;
    let awscli_layer = LayerVersion::from_layer_version_arn(
        app,
        stack,
        "AwsCliLayer",
        Arn::new("lambda", AWSCLI_LAYER).format(),
    )?;
    let cluster = Cluster::new(
        app,
        stack,
        "Cluster",
        ClusterProps {
            cluster_name: Some(CLUSTER_NAME.into()),
            endpoint_access: EndpointAccess::PUBLIC_AND_PRIVATE.only_from([ADMIN_CIDR]),
            kubectl_provider: Some(KubectlProviderOptions::new(
                kubectl_layer,
                AwsCliLayer::Layer(awscli_layer),
            )),
            ..ClusterProps::new(&vpc, KubernetesVersion::V1_33)
        },
    )?;
    cluster.grant_access(
        app,
        "PlatformAdmins",
        ADMIN_ROLE_ARN,
        vec![AccessPolicy::cluster_admin()],
    )?;

    let manager_nodes = cluster.add_nodegroup(
        app,
        "ManagerNodes",
        NodegroupProps {
            instance_types: vec!["m5.large".into()],
            min_size: 1,
            desired_size: Some(1),
            max_size: 2,
            disk_size: Some(50),
            labels: [("jenkins".to_string(), "manager".to_string())]
                .into_iter()
                .collect(),
            ..NodegroupProps::new(&cluster)
        },
    )?;
    let agent_nodes = cluster.add_nodegroup(
        app,
        "AgentNodes",
        NodegroupProps {
            capacity_type: CapacityType::Spot,
            instance_types: vec!["m5.xlarge".into(), "m5a.xlarge".into(), "m5d.xlarge".into()],
            min_size: 1,
            desired_size: Some(1),
            max_size: 10,
            disk_size: Some(100),
            labels: [("jenkins".to_string(), "agent".to_string())]
                .into_iter()
                .collect(),
            taints: vec![Taint {
                key: "jenkins-agent".into(),
                value: Some("true".into()),
                effect: TaintEffect::NoSchedule,
            }],
            max_unavailable: Some(2),
            ..NodegroupProps::new(&cluster)
        },
    )?;

    // Pipelines deploy into the target accounts by assuming their execution role: the
    // agent pods' service account may.
    let agents = cluster.add_service_account(
        app,
        "JenkinsAgents",
        ServiceAccountProps::new(&cluster, kubernetes::NAMESPACE, kubernetes::AGENT_SERVICE_ACCOUNT),
    )?;
    agents.role().add_to_policy(
        app,
        PolicyStatement::allow()
            .sid("AssumeTargetAccountExecutionRoles")
            .actions(["sts:AssumeRole"])
            .resources(execution_role_arns()),
    )?;

    let (namespace, name) = AUTOSCALER_SERVICE_ACCOUNT;
    let autoscaler = cluster.add_service_account(
        app,
        "ClusterAutoscaler",
        ServiceAccountProps::new(&cluster, namespace, name),
    )?;
    for s in autoscaler_statements() {
        autoscaler.role().add_to_policy(app, s)?;
    }

    let image_key = Key::new(
        app,
        stack,
        "ImageKey",
        KeyProps {
            description: Some("Encryption of the Jenkins images".into()),
            alias: Some("eks-jenkins/images".into()),
            ..KeyProps::default()
        },
    )?;
    let manager_repo = image_repository(app, stack, "ManagerRepository", MANAGER_REPOSITORY, image_key)?;
    let agent_repo = image_repository(app, stack, "AgentRepository", AGENT_REPOSITORY, image_key)?;
    manager_repo.grant_pull(app, &manager_nodes)?;
    agent_repo.grant_pull(app, &agent_nodes)?;

    let tagged = |repo: &Repository| {
        Value::join(
            "",
            [
                repo.repository_uri(),
                Value::from(format!(":{}", kubernetes::IMAGE_TAG)),
            ],
        )
    };
    kubernetes::deploy_jenkins(
        app,
        &cluster,
        &agents,
        &autoscaler,
        tagged(&manager_repo),
        tagged(&agent_repo),
    )?;

    app.output(
        stack,
        "ClusterName",
        Output::new(cluster.cluster_name()).description("aws eks update-kubeconfig --name <this>"),
    )?;
    app.output(
        stack,
        "ManagerImageRepositoryUri",
        Output::new(manager_repo.repository_uri()).description("Push the Jenkins manager image here"),
    )?;
    app.output(
        stack,
        "AgentImageRepositoryUri",
        Output::new(agent_repo.repository_uri()).description("Push the Jenkins agent image here"),
    )?;
    Ok(())
}

/// The execution and deployment roles of one target account.
fn target_stack(app: &mut App, id: &str, account: &str) -> Result<Stack> {
    let root = app.root();
    let stack = app.stack_with(
        root,
        id,
        StackProps {
            env: Some(Environment::new(account, REGION)),
            description: Some(format!(
                "eks-jenkins: the role Jenkins in {SHARED_SERVICES_ACCOUNT} deploys CloudFormation stacks with"
            )),
            ..StackProps::default()
        },
    )?;
    let deployment = Role::new(
        app,
        stack,
        "DeploymentRole",
        RoleProps {
            role_name: Some(DEPLOYMENT_ROLE_NAME.into()),
            description: Some("CloudFormation deploys the pipelines' stacks with this role".into()),
            managed_policies: vec![Role::aws_managed_policy("PowerUserAccess")],
            ..RoleProps::new(Principal::service("cloudformation.amazonaws.com"))
        },
    )?;
    let stacks_arn =
        Value::sub("arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/*");
    let execution_policy = PolicyDocument::new([
        PolicyStatement::allow()
            .sid("ManageStacks")
            .actions([
                "cloudformation:CreateStack",
                "cloudformation:UpdateStack",
                "cloudformation:DeleteStack",
                "cloudformation:CreateChangeSet",
                "cloudformation:DescribeChangeSet",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:DeleteChangeSet",
                "cloudformation:DescribeStacks",
                "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStackResources",
                "cloudformation:GetTemplate",
            ])
            .resource(stacks_arn),
        PolicyStatement::allow()
            .sid("ValidateTemplates")
            .actions(["cloudformation:ValidateTemplate", "cloudformation:ListStacks"])
            .resource("*"),
        PolicyStatement::allow()
            .sid("PassDeploymentRole")
            .actions(["iam:PassRole"])
            .resource(deployment.arn())
            .condition(
                "StringEquals",
                "iam:PassedToService",
                "cloudformation.amazonaws.com",
            ),
    ]);
    Role::new(
        app,
        stack,
        "ExecutionRole",
        RoleProps {
            role_name: Some(EXECUTION_ROLE_NAME.into()),
            description: Some(format!(
                "Assumed by the Jenkins agents of {SHARED_SERVICES_ACCOUNT} to deploy CloudFormation stacks"
            )),
            inline_policies: [("DeployStacks".to_string(), execution_policy)]
                .into_iter()
                .collect(),
            ..RoleProps::new(Principal::account(SHARED_SERVICES_ACCOUNT))
        },
    )?;
    Ok(stack)
}

/// Builds the `eks-jenkins` app.
pub fn build() -> Result<App> {
    build_with(cairn::Context::from_env()?)
}

/// The context committed with the example (`examples/eks-jenkins/cdk.context.json`: the zones
/// of its environments, as `cairn synth` there looked them up), for tests that synthesize
/// it without the CLI.
pub fn committed_context() -> Result<cairn::Context> {
    cairn::Context::from_json(include_str!("../eks-jenkins/cdk.context.json"))
}

/// [`build`] with a given context (the zones of the concrete environments are looked up).
pub fn build_with(context: cairn::Context) -> Result<App> {
    let mut app = context.into_app();
    app.add_validator_once(cairn::cfn::SchemaValidator::new());
    app.add_validator_once(cairn::cfn::policy::PolicyValidator::new());
    shared_services_stack(&mut app)?;
    for (id, account) in STACKS[1..].iter().zip(TARGET_ACCOUNTS) {
        target_stack(&mut app, id, account)?;
    }
    let root = app.root();
    RuleSet::recommended().apply(&mut app, root);
    Ok(app)
}
