//! The L2 convention (docs/architecture.md): every handle is a `Construct` and converts
//! into its `NodeId`; what belongs to another construct names its owner in its props,
//! with a method on the owner that uses it as scope.

use cairn_constructs::ec2::{Vpc, VpcProps};
use cairn_constructs::eks::{Cluster, ClusterProps, KubernetesVersion, Nodegroup, NodegroupProps};
use cairn_constructs::pipelines::{Pipeline, PipelineProps, Source};
use cairn_constructs::*;
use cairn_core::{App, Construct, Error, NodeId};

/// Compiles only for a handle of the convention.
fn handle<T: Construct + Into<NodeId>>() {}

#[test]
fn every_handle_is_a_construct_and_a_node() {
    handle::<applicationautoscaling::ScalableTarget>();
    handle::<athena::WorkGroup>();
    handle::<cloudformation::StackSet>();
    handle::<cloudformation::StackSetOrder>();
    handle::<cloudfront::Distribution>();
    handle::<codebuild::Project>();
    handle::<codepipeline::Pipeline>();
    handle::<dynamodb::Table>();
    handle::<ec2::Vpc>();
    handle::<ec2::Subnet>();
    handle::<ec2::FlowLog>();
    handle::<ec2::SecurityGroup>();
    handle::<ec2::Instance>();
    handle::<ec2::GatewayVpcEndpoint>();
    handle::<ec2::InterfaceVpcEndpoint>();
    handle::<ecr::Repository>();
    handle::<ecs::Cluster>();
    handle::<ecs::FargateTaskDefinition>();
    handle::<ecs::FargateService>();
    handle::<ecs::ScalableTaskCount>();
    handle::<eks::Cluster>();
    handle::<eks::Nodegroup>();
    handle::<eks::ServiceAccount>();
    handle::<elbv2::ApplicationLoadBalancer>();
    handle::<elbv2::ApplicationListener>();
    handle::<elbv2::ApplicationTargetGroup>();
    handle::<events::Rule>();
    handle::<glue::Database>();
    handle::<glue::SecurityConfiguration>();
    handle::<glue::DataCatalogEncryption>();
    handle::<glue::Connection>();
    handle::<glue::Job>();
    handle::<glue::Crawler>();
    handle::<iam::Role>();
    handle::<iam::OpenIdConnectProvider>();
    handle::<kms::Key>();
    handle::<lakeformation::DataLakeSettings>();
    handle::<lakeformation::DataLakeLocation>();
    handle::<lakeformation::Permissions>();
    handle::<lambda::Function>();
    handle::<logs::LogGroup>();
    handle::<pipelines::Pipeline>();
    handle::<rds::DatabaseCluster>();
    handle::<s3::Bucket>();
    handle::<secretsmanager::Secret>();
    handle::<sns::Topic>();
    handle::<sqs::Queue>();
    handle::<ssm::StringParameter>();
    handle::<ssm::Document>();
}

fn cluster(app: &mut App, id: &str) -> Cluster {
    let stack = app.stack(id).unwrap();
    let vpc = Vpc::new(app, stack, "Vpc", VpcProps::default()).unwrap();
    Cluster::new(
        app,
        stack,
        "Cluster",
        ClusterProps::new(&vpc, KubernetesVersion::V1_33),
    )
    .unwrap()
}

#[test]
fn an_owned_construct_names_its_owner_in_its_props_and_the_owner_adds_it() {
    let mut app = App::new();
    let a = cluster(&mut app, "A");
    let b = cluster(&mut app, "B");
    // Through the owner: the cluster is the scope, the id aws-cdk-lib's
    // (`addNodegroupCapacity` prefixes `Nodegroup`).
    let nodes = a
        .add_nodegroup(&mut app, "Nodes", NodegroupProps::new(&a))
        .unwrap();
    assert_eq!(app.path(nodes.node()), "A/Cluster/NodegroupNodes");
    // `new` under any scope of the cluster's stack.
    let stack = app.find("A").unwrap();
    let other = Nodegroup::new(&mut app, stack, "More", NodegroupProps::new(&a)).unwrap();
    assert_eq!(app.path(other.node()), "A/More");
    // Props for another cluster are refused by the owner method.
    let err = a
        .add_nodegroup(&mut app, "Wrong", NodegroupProps::new(&b))
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidProps { path, problem } if path == "A/Cluster" && problem.contains("B/Cluster")),
        "{err}"
    );
    assert!(app.find("A/Cluster/Wrong").is_none());
}

#[test]
fn a_cdk_pipeline_takes_any_scope_inside_a_stack() {
    let mut app = App::new();
    let stack = app.stack("Toolchain").unwrap();
    let group = app.construct(stack, "Delivery").unwrap();
    let props = || PipelineProps::new(Source::codecommit("repo", "main"), "app");
    let p = Pipeline::new(&mut app, group, "Pipeline", props()).unwrap();
    assert_eq!(app.path(p.node()), "Toolchain/Delivery/Pipeline");
    let root = app.root();
    let err = Pipeline::new(&mut app, root, "Loose", props()).unwrap_err();
    assert!(err.to_string().contains("inside a stack"), "{err}");
}
