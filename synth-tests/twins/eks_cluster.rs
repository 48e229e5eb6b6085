//! Twin pair `eks_cluster` (cairn side of `eks_cluster.js`): an EKS cluster in a VPC's
//! private subnets with a managed node group.

use cairn::ec2::{Vpc, VpcProps};
use cairn::eks::{
    nodegroup::AmiType, Cluster, ClusterProps, KubernetesVersion, NodegroupProps, SecretsEncryption,
};
use cairn::App;

pub fn build() -> cairn::Result<App> {
    let mut app = App::new();
    let stack = app.stack("EksCluster")?;

    let vpc = Vpc::new(
        &mut app,
        stack,
        "Vpc",
        VpcProps {
            nat_gateways: Some(1),
            ..VpcProps::default()
        },
    )?;
    let cluster = Cluster::new(
        &mut app,
        stack,
        "Cluster",
        ClusterProps {
            // Both create-only: the CDK encrypts no secrets with a key of its own and lets
            // EKS make the creator an admin; cairn's defaults would replace the cluster.
            secrets_encryption: SecretsEncryption::Disabled,
            bootstrap_cluster_creator_admin_permissions: true,
            ..ClusterProps::new(&vpc, KubernetesVersion::V1_33)
        },
    )?;
    cluster.add_nodegroup(
        &mut app,
        "Nodes",
        NodegroupProps {
            instance_types: vec!["t3.medium".into()],
            ami_type: Some(AmiType::Al2023X8664Standard),
            min_size: 1,
            max_size: 3,
            ..NodegroupProps::new(&cluster)
        },
    )?;
    Ok(app)
}
