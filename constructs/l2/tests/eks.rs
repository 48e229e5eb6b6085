//! eks: Cluster (secrets encryption, endpoint access, logging, role, access entries),
//! Nodegroup (scaling, node role, validation), the OIDC provider and IRSA roles (the
//! `Fn::Sub` trust policy with issuer-keyed conditions), and the iam web identity pieces.

mod common;
use common::{logical, logical_of, of_type, synth_clean};

use cairn_constructs::ec2::{Vpc, VpcProps};
use cairn_constructs::eks::{
    AccessPolicy, CapacityType, Cluster, ClusterLoggingType, ClusterProps, EndpointAccess, KubernetesVersion,
    NodegroupProps, SecretsEncryption, ServiceAccountProps, Taint, TaintEffect,
};
use cairn_constructs::iam::{OpenIdConnectPrincipal, Role, RoleProps};
use cairn_core::{App, Error, Stack, Value};
use serde_json::{json, Value as Json};

fn app_with_vpc() -> (App, Stack, Vpc) {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default()).unwrap();
    (app, stack, vpc)
}

fn synth(mut app: App) -> Json {
    app.synth()
        .expect("synthesis")
        .stack("S")
        .expect("stack")
        .template
        .json()
        .clone()
}

/// The message of refused props.
fn refused<T: std::fmt::Debug>(result: cairn_core::Result<T>) -> String {
    match result {
        Ok(v) => panic!("the props should be refused: {v:?}"),
        Err(e @ Error::InvalidProps { .. }) => e.to_string(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// Resolves an `Fn::Sub` `[template, vars]` whose variables are `Ref`s or `Fn::Select`s
/// by writing each variable as a marker `<<Name>>`, and parses the result as JSON, so
/// the structure IAM will see can be asserted; returns it with the variables.
fn sub_document(v: &Json) -> (Json, serde_json::Map<String, Json>) {
    let parts = v["Fn::Sub"].as_array().expect("an Fn::Sub with variables");
    let mut text = parts[0].as_str().expect("template").to_string();
    let vars = parts[1].as_object().expect("variables").clone();
    for name in vars.keys() {
        text = text.replace(&format!("${{{name}}}"), &format!("<<{name}>>"));
    }
    assert!(!text.contains("${"), "an unresolved variable in {text}");
    (serde_json::from_str(&text).expect("the template is JSON"), vars)
}

#[test]
fn defaults_encrypt_secrets_keep_the_endpoint_private_and_log_everything() {
    let (mut app, stack, vpc) = app_with_vpc();
    Cluster::new(
        &mut app,
        stack,
        "Cluster",
        ClusterProps::new(&vpc, KubernetesVersion::V1_33),
    )
    .unwrap();
    let t = synth_clean(app, "S", &[], "eks-defaults");
    let cluster = &t["Resources"][logical(&t, "Cluster")];
    let key = logical(&t, "ClusterSecretsKey");
    let p = &cluster["Properties"];
    assert_eq!(p["Version"], "1.33");
    assert_eq!(
        p["EncryptionConfig"],
        json!([{ "Provider": { "KeyArn": { "Fn::GetAtt": [key, "Arn"] } }, "Resources": ["secrets"] }])
    );
    assert_eq!(t["Resources"][&key]["Properties"]["EnableKeyRotation"], true);
    assert_eq!(t["Resources"][&key]["DeletionPolicy"], "Retain");
    assert_eq!(p["ResourcesVpcConfig"]["EndpointPublicAccess"], false);
    assert_eq!(p["ResourcesVpcConfig"]["EndpointPrivateAccess"], true);
    assert!(p["ResourcesVpcConfig"].get("PublicAccessCidrs").is_none());
    let private: Vec<Json> = ["VpcPrivateSubnet1Subnet", "VpcPrivateSubnet2Subnet"]
        .iter()
        .map(|s| json!({ "Ref": logical_of(&t, s, "AWS::EC2::Subnet") }))
        .collect();
    assert_eq!(p["ResourcesVpcConfig"]["SubnetIds"], json!(private));
    let types: Vec<&str> = p["Logging"]["ClusterLogging"]["EnabledTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["Type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    );
    assert_eq!(p["AccessConfig"]["AuthenticationMode"], "API");
    assert_eq!(
        p["AccessConfig"]["BootstrapClusterCreatorAdminPermissions"],
        false
    );
    // As aws-cdk-lib writes them, so a ported cluster is not replaced or left without its
    // barrier: the create-only IP family, and the `KubectlReadyBarrier` parameter.
    assert_eq!(p["KubernetesNetworkConfig"]["IpFamily"], "ipv4");
    let barrier = &t["Resources"][logical(&t, "ClusterKubectlReadyBarrier")];
    assert_eq!(barrier["Type"], "AWS::SSM::Parameter");
    assert_eq!(barrier["Properties"]["Value"], "aws:cdk:eks:kubectl-ready");
    assert_eq!(barrier["DependsOn"], json!([logical(&t, "Cluster")]));

    // The cluster role: trusted by EKS, the cluster policy, the key actions; the cluster
    // waits for that policy.
    let role = logical(&t, "ClusterRole");
    assert_eq!(p["RoleArn"], json!({ "Fn::GetAtt": [role, "Arn"] }));
    let r = &t["Resources"][&role]["Properties"];
    assert_eq!(
        r["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "eks.amazonaws.com"
    );
    assert_eq!(
        r["ManagedPolicyArns"][0]["Fn::Join"][1][2],
        ":iam::aws:policy/AmazonEKSClusterPolicy"
    );
    let policy = logical(&t, "ClusterRoleDefaultPolicy");
    let statement = &t["Resources"][&policy]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(
        statement["Action"],
        json!(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:CreateGrant"])
    );
    assert_eq!(statement["Resource"], json!({ "Fn::GetAtt": [key, "Arn"] }));
    assert_eq!(cluster["DependsOn"], json!([policy]));
    // The control plane security group is in the VPC.
    let sg = logical(&t, "ClusterControlPlaneSecurityGroup");
    assert_eq!(
        p["ResourcesVpcConfig"]["SecurityGroupIds"],
        json!([{ "Fn::GetAtt": [sg, "GroupId"] }])
    );
}

#[test]
fn a_given_key_endpoint_cidrs_and_log_types_are_used() {
    let (mut app, stack, vpc) = app_with_vpc();
    let key = cairn_constructs::kms::Key::new(&mut app, stack, "Mine", Default::default()).unwrap();
    let cluster = Cluster::new(
        &mut app,
        stack,
        "Cluster",
        ClusterProps {
            cluster_name: Some("ci".into()),
            secrets_encryption: SecretsEncryption::Key(key),
            endpoint_access: EndpointAccess::PUBLIC_AND_PRIVATE
                .only_from(["203.0.113.0/24", "198.51.100.7/32"]),
            logging: vec![
                ClusterLoggingType::Audit,
                ClusterLoggingType::Authenticator,
                ClusterLoggingType::Audit,
            ],
            service_ipv4_cidr: Some("172.20.0.0/16".into()),
            bootstrap_cluster_creator_admin_permissions: true,
            ..ClusterProps::new(&vpc, KubernetesVersion::of("1.34"))
        },
    )
    .unwrap();
    assert_eq!(cluster.secrets_key(), Some(key));
    let t = synth(app);
    assert_eq!(
        of_type(&t, "AWS::KMS::Key").len(),
        1,
        "no key of the cluster's own"
    );
    let p = &t["Resources"][logical(&t, "Cluster")]["Properties"];
    assert_eq!(p["Name"], "ci");
    assert_eq!(p["Version"], "1.34");
    assert_eq!(
        p["EncryptionConfig"][0]["Provider"]["KeyArn"],
        json!({ "Fn::GetAtt": [logical(&t, "Mine"), "Arn"] })
    );
    assert_eq!(p["ResourcesVpcConfig"]["EndpointPublicAccess"], true);
    assert_eq!(p["ResourcesVpcConfig"]["EndpointPrivateAccess"], true);
    assert_eq!(
        p["ResourcesVpcConfig"]["PublicAccessCidrs"],
        json!(["203.0.113.0/24", "198.51.100.7/32"])
    );
    assert_eq!(
        p["Logging"]["ClusterLogging"]["EnabledTypes"],
        json!([{ "Type": "audit" }, { "Type": "authenticator" }])
    );
    assert_eq!(p["KubernetesNetworkConfig"]["ServiceIpv4Cidr"], "172.20.0.0/16");
    // EKS's default (`true`) is left out, as aws-cdk-lib does: the property is create-only.
    assert!(
        p["AccessConfig"]
            .get("BootstrapClusterCreatorAdminPermissions")
            .is_none(),
        "{p}"
    );
}

#[test]
fn disabled_secrets_encryption_is_reported_by_the_recommended_rules() {
    let (mut app, stack, findings) = common::checked_app();
    let vpc = Vpc::new(&mut app, stack, "Vpc", VpcProps::default()).unwrap();
    Cluster::new(
        &mut app,
        stack,
        "Cluster",
        ClusterProps {
            secrets_encryption: SecretsEncryption::Disabled,
            ..ClusterProps::new(&vpc, KubernetesVersion::V1_33)
        },
    )
    .unwrap();
    let message = match app.synth() {
        Err(e @ Error::Validation { .. }) => e.to_string(),
        other => panic!("synthesis should be refused by the rule: {other:?}"),
    };
    assert!(
        message.contains("Kubernetes secrets are not encrypted"),
        "{message}"
    );
    let _ = findings;
}

#[test]
fn impossible_endpoint_access_and_versions_are_errors_naming_the_cluster() {
    for (access, version, expected) in [
        (
            EndpointAccess::PRIVATE.only_from(["10.0.0.0/8"]),
            KubernetesVersion::V1_33,
            "public_cidrs need public endpoint access",
        ),
        (
            EndpointAccess::PUBLIC.only_from(["203.0.113.0/24"]),
            KubernetesVersion::V1_33,
            "cannot be reached by the nodes",
        ),
        (
            EndpointAccess::PUBLIC_AND_PRIVATE.only_from(["203.0.113.0/33"]),
            KubernetesVersion::V1_33,
            "invalid public access CIDR",
        ),
        (
            EndpointAccess::PRIVATE,
            KubernetesVersion::of("v1.30"),
            "not of the form 1.<minor>",
        ),
    ] {
        let (mut app, stack, vpc) = app_with_vpc();
        let message = refused(Cluster::new(
            &mut app,
            stack,
            "Cluster",
            ClusterProps {
                endpoint_access: access,
                ..ClusterProps::new(&vpc, version)
            },
        ));
        assert!(message.starts_with("'S/Cluster': "), "{message}");
        assert!(message.contains(expected), "{expected}: {message}");
    }
}

#[test]
fn an_open_public_endpoint_is_a_warning() {
    let (mut app, stack, vpc) = app_with_vpc();
    let c = Cluster::new(
        &mut app,
        stack,
        "Cluster",
        ClusterProps {
            endpoint_access: EndpointAccess::PUBLIC_AND_PRIVATE,
            ..ClusterProps::new(&vpc, KubernetesVersion::V1_33)
        },
    )
    .unwrap();
    let warnings: Vec<String> = app
        .diagnostics()
        .into_iter()
        .filter(|d| d.path.ends_with("S/Cluster"))
        .map(|d| d.message.clone())
        .collect();
    assert!(warnings.iter().any(|m| m.contains("any address")), "{warnings:?}");
    let _ = c;
}

#[test]
fn node_groups_scale_and_get_the_worker_cni_and_ecr_policies() {
    let (mut app, stack, vpc) = app_with_vpc();
    let cluster = Cluster::new(
        &mut app,
        stack,
        "Cluster",
        ClusterProps::new(&vpc, KubernetesVersion::V1_33),
    )
    .unwrap();
    let nodes = cluster
        .add_nodegroup(
            &mut app,
            "Agents",
            NodegroupProps {
                capacity_type: CapacityType::Spot,
                instance_types: vec!["m5.large".into(), "m5a.large".into()],
                min_size: 0,
                desired_size: Some(2),
                max_size: 8,
                labels: [("jenkins".to_string(), "agent".to_string())]
                    .into_iter()
                    .collect(),
                taints: vec![Taint {
                    key: "dedicated".into(),
                    value: Some("ci".into()),
                    effect: TaintEffect::NoExecute,
                }],
                ..NodegroupProps::new(&cluster)
            },
        )
        .unwrap();
    let t = synth_clean(app, "S", &[], "eks-nodegroup");
    let ng = &t["Resources"][logical(&t, "ClusterNodegroupAgents")]["Properties"];
    assert_eq!(ng["ClusterName"], json!({ "Ref": logical(&t, "Cluster") }));
    assert_eq!(
        ng["ScalingConfig"],
        json!({ "DesiredSize": 2, "MaxSize": 8, "MinSize": 0 })
    );
    assert_eq!(ng["CapacityType"], "SPOT");
    assert_eq!(ng["InstanceTypes"], json!(["m5.large", "m5a.large"]));
    assert_eq!(ng["Labels"], json!({ "jenkins": "agent" }));
    assert_eq!(
        ng["Taints"],
        json!([{ "Effect": "NO_EXECUTE", "Key": "dedicated", "Value": "ci" }])
    );
    // In the cluster's private subnets.
    assert_eq!(
        ng["Subnets"],
        t["Resources"][logical(&t, "Cluster")]["Properties"]["ResourcesVpcConfig"]["SubnetIds"]
    );
    let role = logical(&t, "ClusterNodegroupAgentsNodeGroupRole");
    assert_eq!(ng["NodeRole"], json!({ "Fn::GetAtt": [role, "Arn"] }));
    let r = &t["Resources"][&role]["Properties"];
    assert_eq!(
        r["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "ec2.amazonaws.com"
    );
    let policies: Vec<&str> = r["ManagedPolicyArns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Fn::Join"][1][2].as_str().unwrap())
        .collect();
    assert_eq!(
        policies,
        [
            ":iam::aws:policy/AmazonEKSWorkerNodePolicy",
            ":iam::aws:policy/AmazonEKS_CNI_Policy",
            ":iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
        ]
    );
    let _ = nodes;
}

#[test]
fn node_group_defaults_and_a_given_role() {
    let (mut app, stack, vpc) = app_with_vpc();
    let cluster = Cluster::new(
        &mut app,
        stack,
        "Cluster",
        ClusterProps::new(&vpc, KubernetesVersion::V1_33),
    )
    .unwrap();
    let role = Role::new(
        &mut app,
        stack,
        "Shared",
        RoleProps::new(cairn_constructs::iam::Principal::service("ec2.amazonaws.com")),
    )
    .unwrap();
    let ng = cluster
        .add_nodegroup(
            &mut app,
            "Nodes",
            NodegroupProps {
                node_role: Some(role),
                ..NodegroupProps::new(&cluster)
            },
        )
        .unwrap();
    assert_eq!(ng.role().node(), role.node());
    let t = synth(app);
    assert_eq!(
        of_type(&t, "AWS::IAM::Role").len(),
        2,
        "the cluster role and the given one"
    );
    let p = &t["Resources"][logical(&t, "ClusterNodegroupNodes")]["Properties"];
    assert_eq!(
        p["ScalingConfig"],
        json!({ "DesiredSize": 1, "MaxSize": 2, "MinSize": 1 })
    );
    assert_eq!(p["InstanceTypes"], json!(["t3.medium"]));
    // On-Demand, EKS's default, is left out as aws-cdk-lib does (create-only).
    assert!(p.get("CapacityType").is_none(), "{p}");
    assert_eq!(
        p["NodeRole"],
        json!({ "Fn::GetAtt": [logical(&t, "Shared"), "Arn"] })
    );
}

#[test]
fn bad_node_group_settings_are_errors_naming_the_node_group() {
    type Props = fn(&Cluster) -> NodegroupProps;
    let cases: [(Props, &str); 4] = [
        (
            |c| NodegroupProps {
                min_size: 3,
                max_size: 2,
                ..NodegroupProps::new(c)
            },
            "min_size (3) must not exceed max_size (2)",
        ),
        (
            |c| NodegroupProps {
                desired_size: Some(5),
                max_size: 4,
                ..NodegroupProps::new(c)
            },
            "desired_size (5) must be between",
        ),
        (
            |c| NodegroupProps {
                instance_types: vec![],
                ..NodegroupProps::new(c)
            },
            "at least one instance type",
        ),
        (
            |c| NodegroupProps {
                instance_types: vec!["m6g.large".into(), "m5.large".into()],
                ..NodegroupProps::new(c)
            },
            "mix arm64 and x86_64",
        ),
    ];
    for (props, expected) in cases {
        let (mut app, stack, vpc) = app_with_vpc();
        let cluster = Cluster::new(
            &mut app,
            stack,
            "Cluster",
            ClusterProps::new(&vpc, KubernetesVersion::V1_33),
        )
        .unwrap();
        let message = refused(cluster.add_nodegroup(&mut app, "Nodes", props(&cluster)));
        assert!(message.starts_with("'S/Cluster/NodegroupNodes': "), "{message}");
        assert!(message.contains(expected), "{expected}: {message}");
    }
}

#[test]
fn service_account_roles_trust_only_that_service_account_of_the_cluster() {
    let (mut app, stack, vpc) = app_with_vpc();
    let cluster = Cluster::new(
        &mut app,
        stack,
        "Cluster",
        ClusterProps::new(&vpc, KubernetesVersion::V1_33),
    )
    .unwrap();
    let manager = cluster
        .add_service_account(
            &mut app,
            "Manager",
            ServiceAccountProps::new(&cluster, "jenkins", "jenkins-manager"),
        )
        .unwrap();
    let agent = cluster
        .add_service_account(
            &mut app,
            "Agent",
            ServiceAccountProps::new(&cluster, "jenkins", "jenkins-agent"),
        )
        .unwrap();
    assert_eq!(manager.annotation().0, "eks.amazonaws.com/role-arn");
    let t = synth_clean(app, "S", &[], "eks-irsa");

    // One provider for the cluster's issuer, for STS.
    let providers = of_type(&t, "AWS::IAM::OIDCProvider");
    assert_eq!(providers.len(), 1);
    let provider = providers[0].0.clone();
    assert_eq!(
        providers[0].1["Properties"],
        json!({
            "ClientIdList": ["sts.amazonaws.com"],
            "Url": { "Fn::GetAtt": [logical(&t, "Cluster"), "OpenIdConnectIssuerUrl"] }
        })
    );

    for (prefix, name) in [
        ("ClusterManagerRole", "jenkins-manager"),
        ("ClusterAgentRole", "jenkins-agent"),
    ] {
        let role = &t["Resources"][logical(&t, prefix)]["Properties"];
        let (doc, vars) = sub_document(&role["AssumeRolePolicyDocument"]);
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1, "{doc}");
        let s = &statements[0];
        assert_eq!(s["Effect"], "Allow");
        assert_eq!(s["Action"], "sts:AssumeRoleWithWebIdentity");
        let federated = s["Principal"]["Federated"].as_str().unwrap();
        let var = federated.trim_start_matches("<<").trim_end_matches(">>");
        assert_eq!(vars[var], json!({ "Ref": provider }));
        assert_eq!(
            s["Condition"],
            json!({ "StringEquals": {
                "<<OidcIssuer>>:sub": format!("system:serviceaccount:jenkins:{name}"),
                "<<OidcIssuer>>:aud": "sts.amazonaws.com"
            }})
        );
        // The issuer is the provider ARN's part after `:oidc-provider/`.
        assert_eq!(
            vars["OidcIssuer"],
            json!({ "Fn::Select": [1, { "Fn::Split": [":oidc-provider/", { "Ref": provider }] }] })
        );
    }
    let _ = agent;
}

#[test]
fn invalid_service_account_names_are_errors() {
    let (mut app, stack, vpc) = app_with_vpc();
    let cluster = Cluster::new(
        &mut app,
        stack,
        "Cluster",
        ClusterProps::new(&vpc, KubernetesVersion::V1_33),
    )
    .unwrap();
    let message = refused(cluster.add_service_account(
        &mut app,
        "Bad",
        ServiceAccountProps::new(&cluster, "Jenkins", "agent_1"),
    ));
    assert!(message.starts_with("'S/Cluster/Bad': 2 problems:"), "{message}");
    assert!(message.contains("the namespace \"Jenkins\""), "{message}");
    assert!(
        message.contains("the service account name \"agent_1\""),
        "{message}"
    );
}

#[test]
fn access_entries_grant_access_policies() {
    let (mut app, stack, vpc) = app_with_vpc();
    let cluster = Cluster::new(
        &mut app,
        stack,
        "Cluster",
        ClusterProps::new(&vpc, KubernetesVersion::V1_33),
    )
    .unwrap();
    cluster
        .grant_access(
            &mut app,
            "Admins",
            "arn:aws:iam::123456789012:role/Admin",
            vec![
                AccessPolicy::cluster_admin(),
                AccessPolicy::namespace_admin(["jenkins"]),
            ],
        )
        .unwrap();
    let t = synth(app);
    let entry = &t["Resources"][logical(&t, "ClusterAdmins")]["Properties"];
    assert_eq!(entry["ClusterName"], json!({ "Ref": logical(&t, "Cluster") }));
    assert_eq!(entry["PrincipalArn"], "arn:aws:iam::123456789012:role/Admin");
    assert_eq!(
        entry["AccessPolicies"][0]["AccessScope"],
        json!({ "Type": "cluster" })
    );
    assert_eq!(
        entry["AccessPolicies"][0]["PolicyArn"]["Fn::Join"][1][2],
        ":eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    );
    assert_eq!(
        entry["AccessPolicies"][1]["AccessScope"],
        json!({ "Namespaces": ["jenkins"], "Type": "namespace" })
    );
}

#[test]
fn a_literal_issuer_keeps_the_trust_policy_a_map_and_literals_are_escaped_in_sub() {
    // Known issuer: plain keys.
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let principal = OpenIdConnectPrincipal::from_issuer(
        "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
        "token.actions.githubusercontent.com",
    )
    .string_equals("aud", "sts.amazonaws.com")
    .with_claim("StringLike", "sub", ["repo:a/b:*", "repo:a/c:*"]);
    Role::new(&mut app, stack, "Ci", RoleProps::web_identity(principal)).unwrap();
    let t = synth(app);
    let doc = &t["Resources"][logical(&t, "Ci")]["Properties"]["AssumeRolePolicyDocument"];
    assert_eq!(
        doc["Statement"][0]["Condition"],
        json!({
            "StringEquals": { "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" },
            "StringLike": { "token.actions.githubusercontent.com:sub": ["repo:a/b:*", "repo:a/c:*"] }
        })
    );

    // A token issuer: `${` of literal text is escaped, pseudo parameters stay named.
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let issuer = Value::import_value("issuer");
    let principal = OpenIdConnectPrincipal::from_issuer(
        Value::sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:oidc-provider/x"),
        issuer,
    )
    .string_like("sub", "${aws:username}-*");
    Role::new(&mut app, stack, "Ci", RoleProps::web_identity(principal)).unwrap();
    let t = synth(app);
    let doc = &t["Resources"][logical(&t, "Ci")]["Properties"]["AssumeRolePolicyDocument"];
    let text = doc["Fn::Sub"][0].as_str().unwrap();
    assert!(
        text.contains(r#""${OidcIssuer}:sub":"${!aws:username}-*""#),
        "{text}"
    );
    assert_eq!(
        doc["Fn::Sub"][1]["OidcIssuer"],
        json!({ "Fn::ImportValue": "issuer" })
    );
}

#[test]
fn a_web_identity_without_conditions_is_an_error() {
    let mut app = App::new();
    let stack = app.stack("S").unwrap();
    let principal = OpenIdConnectPrincipal::from_issuer("arn:aws:iam::123456789012:oidc-provider/x", "x");
    let message = refused(Role::new(
        &mut app,
        stack,
        "Open",
        RoleProps::web_identity(principal),
    ));
    assert!(message.starts_with("'S/Open': "), "{message}");
    assert!(message.contains("no claim condition"), "{message}");
}

#[test]
fn grants_to_the_cluster_and_node_roles_after_creation_are_waited_for() {
    use cairn_constructs::iam::PolicyStatement;
    let (mut app, stack, vpc) = app_with_vpc();
    let cluster = Cluster::new(
        &mut app,
        stack,
        "Cluster",
        ClusterProps::new(&vpc, KubernetesVersion::V1_33),
    )
    .unwrap();
    let nodes = cluster
        .add_nodegroup(&mut app, "Agents", NodegroupProps::new(&cluster))
        .unwrap();
    let read = || {
        PolicyStatement::allow()
            .actions(["s3:GetObject"])
            .resource("arn:aws:s3:::config/*")
    };
    cluster.role().add_to_policy(&mut app, read()).unwrap();
    nodes.role().add_to_policy(&mut app, read()).unwrap();
    let t = synth_clean(app, "S", &[], "eks-late-grants");
    let r = &t["Resources"];
    assert!(
        r[logical(&t, "Cluster")]["DependsOn"]
            .as_array()
            .unwrap()
            .contains(&json!(logical(&t, "ClusterRoleDefaultPolicy"))),
        "the cluster waits for its role's policy"
    );
    assert_eq!(
        r[logical(&t, "ClusterNodegroupAgents")]["DependsOn"],
        json!([logical(&t, "ClusterNodegroupAgentsNodeGroupRoleDefaultPolicy")]),
        "the node group waits for its role's policy (the role itself it references)"
    );
}
