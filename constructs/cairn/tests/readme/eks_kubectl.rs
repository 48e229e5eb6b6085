use cairn::ec2::{Vpc, VpcProps};
use cairn::eks::{
    AwsCliLayer, Cluster, ClusterProps, HelmChartProps, KubectlProviderOptions, KubernetesVersion,
};
use cairn::lambda::LayerVersion;
use cairn::{App, Arn};
use serde_json::json;

pub fn main() -> cairn::Result<()> {
    let mut app = App::new();
    let stack = app.stack("Apps")?;
    let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default())?;
    let kubectl = LayerVersion::from_layer_version_arn(
        &mut app,
        stack,
        "Kubectl",
        Arn::new("lambda", "layer:kubectl-v33:1").format(),
    )?;
    let awscli = LayerVersion::from_layer_version_arn(
        &mut app,
        stack,
        "AwsCli",
        Arn::new("lambda", "layer:awscli-v2:1").format(),
    )?;
    let cluster = Cluster::new(
        &mut app,
        stack,
        "Cluster",
        ClusterProps {
            kubectl_provider: Some(KubectlProviderOptions::new(kubectl, AwsCliLayer::Layer(awscli))),
            ..ClusterProps::new(&vpc, KubernetesVersion::V1_33)
        },
    )?;
    cluster.add_manifest(
        &mut app,
        "Namespace",
        vec![json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": "jenkins" }
        })],
    )?;
    cluster.add_helm_chart(
        &mut app,
        "Jenkins",
        HelmChartProps {
            repository: Some("https://charts.jenkins.io".into()),
            namespace: "jenkins".into(),
            ..HelmChartProps::new(&cluster, "jenkins")
        },
    )?;
    app.synth()?;
    Ok(())
}
