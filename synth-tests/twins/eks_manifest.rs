//! Twin pair `eks_manifest` (cairn side of `eks_manifest.js`): an EKS cluster with a kubectl
//! provider, a Kubernetes manifest and a Helm chart. The layers are the CDK's own packages'
//! (`@aws-cdk/lambda-layer-kubectl-v33`, `@aws-cdk/asset-awscli-v1`, in the twins'
//! node_modules), named by the CDK's asset hashes so that the layer versions (whose content
//! is create-only) are kept.

use cairn::ec2::{Vpc, VpcProps};
use cairn::eks::{
    AwsCliLayer, Cluster, ClusterProps, HelmChartProps, KubectlProviderOptions, KubernetesVersion,
    SecretsEncryption,
};
use cairn::lambda::{Code, LayerVersion, LayerVersionProps};
use cairn::App;
use serde_json::json;

/// The CDK's asset hash of the AWS CLI layer (`FileSystem.fingerprint` of the `layer`
/// directory of `@aws-cdk/asset-awscli-v1` 2.2.292, the version the lockfile pins).
const AWSCLI_ASSET_HASH: &str = "16aeb8d7870fa092aeb65aa295ddfb19433dafd8eee933aa00d3d7dca244896d";

pub fn build() -> cairn::Result<App> {
    let modules = super::node_modules();
    let mut app = App::new();
    let stack = app.stack("EksManifest")?;

    // KubectlV33Layer: named by the SHA-256 of its Dockerfile, as the package names it.
    let kubectl_package = modules.join("@aws-cdk/lambda-layer-kubectl-v33");
    let dockerfile = std::fs::read(kubectl_package.join("layer/Dockerfile")).unwrap_or_default();
    let kubectl_layer = LayerVersion::new(
        &mut app,
        stack,
        "KubectlLayer",
        LayerVersionProps {
            description: Some("/opt/kubectl/kubectl 1.33.0; /opt/helm/helm 4.1.3".into()),
            license: Some("Apache-2.0".into()),
            ..LayerVersionProps::new(Code::from_asset_with_hash(
                kubectl_package.join("lib/layer.zip"),
                cairn::asset::sha256_hex(&dockerfile),
            ))
        },
    )?;
    let awscli = AwsCliLayer::Code(Code::from_asset_with_hash(
        modules.join("@aws-cdk/asset-awscli-v1/lib/layer.zip"),
        AWSCLI_ASSET_HASH,
    ));

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
            secrets_encryption: SecretsEncryption::Disabled,
            bootstrap_cluster_creator_admin_permissions: true,
            kubectl_provider: Some(KubectlProviderOptions::new(kubectl_layer, awscli)),
            ..ClusterProps::new(&vpc, KubernetesVersion::V1_33)
        },
    )?;
    cluster.add_manifest(
        &mut app,
        "Namespace",
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "jenkins"}})],
    )?;
    cluster.add_helm_chart(
        &mut app,
        "Jenkins",
        HelmChartProps {
            repository: Some("https://charts.jenkins.io".into()),
            version: Some("5.8.0".into()),
            namespace: "jenkins".into(),
            values: Some(cairn::Value::from_json(
                &json!({"controller": {"serviceType": "ClusterIP"}}),
            )),
            ..HelmChartProps::new(&cluster, "jenkins")
        },
    )?;
    Ok(app)
}
