//! eks: the kubectl provider (handler, layers, provider framework, the handler's access
//! entry, the barrier), manifests, Helm charts, patches and service accounts applied
//! through it, with aws-cdk-lib's ids, property names, prune labels and release names;
//! and the kubectl handler's own tests (`eks_kubectl/test_handler.py`, fake tools).

use std::process::Command;

mod common;
use common::synth_clean;

use cairn_constructs::ec2::{Vpc, VpcProps};
use cairn_constructs::eks::{
    AwsCliLayer, Cluster, ClusterProps, EndpointAccess, HelmChartProps, KubectlProviderOptions,
    KubernetesPatch, KubernetesPatchProps, KubernetesVersion, PatchType, ServiceAccountProps,
};
use cairn_constructs::lambda::LayerVersion;
use cairn_core::{App, Error};
use serde_json::{json, Value as Json};

const STACK: &str = "EksManifest";

fn layers(app: &mut App, stack: cairn_core::Stack) -> KubectlProviderOptions {
    let kubectl = LayerVersion::from_layer_version_arn(
        app,
        stack,
        "KubectlLayer",
        "arn:aws:lambda:us-east-1:111111111111:layer:kubectl:1",
    )
    .unwrap();
    let awscli = LayerVersion::from_layer_version_arn(
        app,
        stack,
        "AwsCli",
        "arn:aws:lambda:us-east-1:111111111111:layer:awscli:1",
    )
    .unwrap();
    KubectlProviderOptions::new(kubectl, AwsCliLayer::Layer(awscli))
}

fn cluster(app: &mut App, kubectl: bool, endpoint: EndpointAccess) -> Cluster {
    let stack = app.stack(STACK).unwrap();
    let vpc = Vpc::new(app, stack, "Vpc", VpcProps::default()).unwrap();
    let kubectl_provider = kubectl.then(|| layers(app, stack));
    Cluster::new(
        app,
        stack,
        "Cluster",
        ClusterProps {
            kubectl_provider,
            endpoint_access: endpoint,
            ..ClusterProps::new(&vpc, KubernetesVersion::V1_33)
        },
    )
    .unwrap()
}

fn synth(mut app: App) -> Json {
    app.synth().unwrap().stack(STACK).unwrap().template.json().clone()
}

#[test]
fn manifests_and_charts_have_the_cdk_shapes() {
    let mut app = App::new();
    let c = cluster(&mut app, true, EndpointAccess::PRIVATE);
    c.add_manifest(
        &mut app,
        "Namespace",
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "jenkins"}})],
    )
    .unwrap();
    c.add_helm_chart(
        &mut app,
        "Jenkins",
        HelmChartProps {
            repository: Some("https://charts.jenkins.io".into()),
            version: Some("5.8.0".into()),
            namespace: "jenkins".into(),
            values: Some(cairn_core::Value::from_json(
                &json!({"controller": {"serviceType": "ClusterIP"}}),
            )),
            ..HelmChartProps::new(&c, "jenkins")
        },
    )
    .unwrap();
    // The recommended rules find nothing to fix; the schemas and cfn-lint pass.
    let t = synth_clean(app, STACK, &[], "eks_kubectl");
    let r = &t["Resources"];
    // aws-cdk-lib's logical IDs, prune label (Node.addr) and release name (uniqueId).
    let m = &r["ClustermanifestNamespaceA19F4DBE"];
    assert_eq!(m["Type"], "Custom::AWSCDK-EKS-KubernetesResource");
    assert_eq!(
        m["Properties"]["Manifest"],
        "[{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"jenkins\",\"labels\":{\"aws.cdk.eks/prune-c82212c3e7296ab64c3b567ec879dc5baa09358fa1\":\"\"}}}]"
    );
    assert_eq!(
        m["Properties"]["PruneLabel"],
        "aws.cdk.eks/prune-c82212c3e7296ab64c3b567ec879dc5baa09358fa1"
    );
    assert_eq!(
        m["Properties"]["ServiceToken"]["Fn::GetAtt"][0],
        "ClusterKubectlProviderframeworkonEvent68E0CF80"
    );
    assert!(m["DependsOn"]
        .as_array()
        .unwrap()
        .contains(&json!("ClusterKubectlReadyBarrier200052AF")));
    let h = &r["ClusterchartJenkins5BB21FBD"]["Properties"];
    assert_eq!(h["Release"], "eksmanifestclusterchartjenkinscc88fe16");
    assert_eq!(h["Values"], "{\"controller\":{\"serviceType\":\"ClusterIP\"}}");
    assert_eq!(h["CreateNamespace"], true);
    assert!(h.get("Wait").is_none());
    // The handler: both layers, in the VPC's private subnets with the cluster security group.
    let f = &r["ClusterKubectlProviderHandler2E05C68A"]["Properties"];
    assert_eq!(
        f["Layers"][1],
        "arn:aws:lambda:us-east-1:111111111111:layer:kubectl:1"
    );
    assert_eq!(f["MemorySize"], 1024);
    assert_eq!(
        f["VpcConfig"]["SecurityGroupIds"][0]["Fn::GetAtt"][1],
        "ClusterSecurityGroupId"
    );
    assert_eq!(
        f["Environment"]["Variables"]["AWS_STS_REGIONAL_ENDPOINTS"],
        "regional"
    );
    assert!(f["Code"]["ZipFile"]
        .as_str()
        .unwrap()
        .contains("update-kubeconfig"));
    // Its role is a cluster admin; the barrier waits for that access entry.
    let entry = &r["ClusterClusterAdminRoleAccessF2BFF759"]["Properties"];
    assert_eq!(
        entry["PrincipalArn"]["Fn::GetAtt"][0],
        "ClusterKubectlProviderHandlerServiceRoleB460AA6D"
    );
    assert!(r["ClusterKubectlReadyBarrier200052AF"]["DependsOn"]
        .as_array()
        .unwrap()
        .contains(&json!("ClusterClusterAdminRoleAccessF2BFF759")));
    assert_eq!(
        t["Conditions"]["ClusterKubectlProviderHandlerHasEcrPublic69E09706"]["Fn::Equals"][1],
        "aws"
    );
}

#[test]
fn a_public_endpoint_keeps_the_handler_out_of_the_vpc() {
    let mut app = App::new();
    let c = cluster(&mut app, true, EndpointAccess::PUBLIC);
    c.add_manifest(
        &mut app,
        "Ns",
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})],
    )
    .unwrap();
    let t = synth(app);
    assert!(
        t["Resources"]["ClusterKubectlProviderHandler2E05C68A"]["Properties"]
            .get("VpcConfig")
            .is_none()
    );
}

#[test]
fn service_accounts_are_applied_through_the_provider() {
    let mut app = App::new();
    let c = cluster(&mut app, true, EndpointAccess::PRIVATE);
    c.add_service_account(
        &mut app,
        "Agent",
        ServiceAccountProps::new(&c, "jenkins", "jenkins-agent"),
    )
    .unwrap();
    let t = synth(app);
    let m = &t["Resources"]["ClusterAgentmanifestAgentServiceAccountResourceE3AC2DE1"]["Properties"]
        ["Manifest"]["Fn::Join"][1];
    assert_eq!(
        m[0],
        "[{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"jenkins-agent\",\"namespace\":\"jenkins\",\"labels\":{\"aws.cdk.eks/prune-c831f5ae997e20ef0e87d1cc7d10483763f1ed4af4\":\"\",\"app.kubernetes.io/name\":\"jenkins-agent\"},\"annotations\":{\"eks.amazonaws.com/role-arn\":\""
    );
    assert_eq!(m[1]["Fn::GetAtt"][1], "Arn");
    assert_eq!(m[2], "\"}}}]");
}

#[test]
fn without_a_provider_service_accounts_stay_roles_and_manifests_are_refused() {
    let mut app = App::new();
    let c = cluster(&mut app, false, EndpointAccess::PRIVATE);
    c.add_service_account(
        &mut app,
        "Agent",
        ServiceAccountProps::new(&c, "jenkins", "jenkins-agent"),
    )
    .unwrap();
    let err = c
        .add_manifest(
            &mut app,
            "Ns",
            vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})],
        )
        .unwrap_err();
    let Error::InvalidProps { .. } = &err else {
        panic!("unexpected error {err}");
    };
    let text = err.to_string();
    assert_eq!(
        text.matches("EksManifest/Cluster/manifest-Ns").count(),
        1,
        "{text}"
    );
    assert!(text.contains("ClusterProps::kubectl_provider"), "{text}");
    let err = c
        .add_helm_chart(&mut app, "J", HelmChartProps::new(&c, "jenkins"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("KubectlProviderOptions::new"), "{err}");
    let t = synth(app);
    assert!(t["Resources"]
        .as_object()
        .unwrap()
        .values()
        .all(|r| !r["Type"].as_str().unwrap().starts_with("Custom::AWSCDK-EKS")));
}

#[test]
fn bad_objects_charts_and_patches_are_refused() {
    let mut app = App::new();
    let c = cluster(&mut app, true, EndpointAccess::PRIVATE);
    let err = c
        .add_manifest(&mut app, "Bad", vec![json!({"kind": "Namespace"})])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("object 0 of the manifest has no apiVersion"),
        "{err}"
    );
    assert!(err.contains("has no metadata.name"), "{err}");
    let err = c
        .add_helm_chart(
            &mut app,
            "Slow",
            HelmChartProps {
                timeout: Some(std::time::Duration::from_secs(901)),
                namespace: "Not_A_Label".into(),
                ..HelmChartProps::new(&c, "jenkins")
            },
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("15 minutes") && err.contains("Not_A_Label"), "{err}");
    let err = KubernetesPatch::new(
        &mut app,
        c.node(),
        "Patch",
        KubernetesPatchProps {
            cluster: c.clone(),
            resource_name: "coredns".into(),
            resource_namespace: "kube-system".into(),
            apply_patch: json!({}),
            restore_patch: json!({}),
            patch_type: PatchType::Strategic,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("<kind>/<name>"), "{err}");
}

fn python() -> String {
    std::env::var("CAIRN_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".to_string())
}

#[test]
fn the_kubectl_handler_passes_its_own_tests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(python())
        .arg(dir.join("tests/eks_kubectl/test_handler.py"))
        .arg(dir.join("src/eks/kubectl_handler.py"))
        .output()
        .expect("python3 runs (the kubectl handler's tests need it)");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
