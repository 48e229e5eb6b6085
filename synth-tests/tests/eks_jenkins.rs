//! Snapshots of the `eks-jenkins` example, and the wiring they must show: the stacks'
//! accounts, the cluster's secrets encryption, endpoint access and logging, the node
//! groups' scaling, the cluster autoscaler's IRSA trust, the agents' service account's reach
//! into the target accounts, the target accounts' trust, the image repositories, and
//! Jenkins applied through the kubectl provider (manager, agents' pod template, service
//! accounts, the autoscaler's chart).

use cairn::CloudAssembly;
use examples::eks_jenkins::{
    self, ADMIN_CIDR, AGENT_REPOSITORY, CLUSTER_NAME, DEPLOYMENT_ROLE_NAME, EXECUTION_ROLE_NAME,
    MANAGER_REPOSITORY, REGION, SHARED_SERVICES_ACCOUNT, STACKS, TARGET_ACCOUNTS,
};
use serde_json::{json, Value as Json};
use synth_tests::{of_type, role_statements, snapshot, stack_names, synth, template_json, with_prefix};

fn app() -> CloudAssembly {
    synth(|| eks_jenkins::build_with(eks_jenkins::committed_context()?))
}

/// `arn:${Partition}:iam::<account>:role/<name>` as the example writes it.
fn role_arn(account: &str, name: &str) -> Json {
    json!({ "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, format!(":iam::{account}:role/{name}")]] })
}

#[test]
fn eks_jenkins_templates() {
    let asm = app();
    let names = stack_names(&asm);
    assert_eq!(names, STACKS);
    for s in asm.stacks() {
        let body = snapshot(&asm, &s.display_name);
        insta::assert_snapshot!(s.display_name.clone(), body);
    }
}

#[test]
fn each_stack_deploys_to_its_own_account() {
    let asm = app();
    let accounts = std::iter::once(SHARED_SERVICES_ACCOUNT).chain(TARGET_ACCOUNTS);
    for (stack, account) in STACKS.iter().zip(accounts) {
        let s = asm.stack(stack).unwrap();
        assert_eq!(s.environment.uri(), format!("aws://{account}/{REGION}"));
        assert!(
            s.dependencies.is_empty(),
            "{stack} depends on {:?}",
            s.dependencies
        );
    }
}

#[test]
fn the_cluster_encrypts_secrets_restricts_its_endpoint_and_logs_every_type() {
    let asm = app();
    let t = template_json(&asm, STACKS[0]);
    let cluster = with_prefix(&t, "AWS::EKS::Cluster", "Cluster");
    let p = &t["Resources"][&cluster]["Properties"];
    assert_eq!(p["Name"], CLUSTER_NAME);
    let key = with_prefix(&t, "AWS::KMS::Key", "ClusterSecretsKey");
    assert_eq!(
        p["EncryptionConfig"],
        json!([{ "Provider": { "KeyArn": { "Fn::GetAtt": [key, "Arn"] } }, "Resources": ["secrets"] }])
    );
    assert_eq!(t["Resources"][&key]["Properties"]["EnableKeyRotation"], true);
    let vpc = &p["ResourcesVpcConfig"];
    assert_eq!(vpc["EndpointPrivateAccess"], true);
    assert_eq!(vpc["EndpointPublicAccess"], true);
    assert_eq!(vpc["PublicAccessCidrs"], json!([ADMIN_CIDR]));
    // The control plane's interfaces sit in the private subnets only.
    for s in vpc["SubnetIds"].as_array().unwrap() {
        assert!(s["Ref"].as_str().unwrap().starts_with("VpcPrivateSubnet"), "{s}");
    }
    assert_eq!(
        p["Logging"]["ClusterLogging"]["EnabledTypes"],
        json!([
            { "Type": "api" },
            { "Type": "audit" },
            { "Type": "authenticator" },
            { "Type": "controllerManager" },
            { "Type": "scheduler" }
        ])
    );
    // Kubernetes access through access entries: the platform admins, and the kubectl
    // handler that applies Jenkins.
    let entries = of_type(&t, "AWS::EKS::AccessEntry");
    assert_eq!(entries.len(), 2);
    let principals: Vec<&Json> = entries
        .iter()
        .map(|(_, e)| &e["Properties"]["PrincipalArn"])
        .collect();
    assert!(
        principals.contains(&&json!(eks_jenkins::ADMIN_ROLE_ARN)),
        "{principals:?}"
    );
    let handler_role = with_prefix(&t, "AWS::IAM::Role", "ClusterKubectlProviderHandlerServiceRole");
    assert!(
        principals.contains(&&json!({ "Fn::GetAtt": [handler_role, "Arn"] })),
        "{principals:?}"
    );
    assert_eq!(
        p["AccessConfig"]["BootstrapClusterCreatorAdminPermissions"],
        false
    );
}

#[test]
fn the_node_groups_scale_as_jenkins_needs() {
    let asm = app();
    let t = template_json(&asm, STACKS[0]);
    let manager =
        &t["Resources"][with_prefix(&t, "AWS::EKS::Nodegroup", "ClusterNodegroupManagerNodes")]["Properties"];
    // On-Demand, EKS's default, left out as aws-cdk-lib does.
    assert!(manager.get("CapacityType").is_none(), "{manager}");
    assert_eq!(
        manager["ScalingConfig"],
        json!({ "DesiredSize": 1, "MaxSize": 2, "MinSize": 1 })
    );
    assert_eq!(manager["Labels"], json!({ "jenkins": "manager" }));
    let agents =
        &t["Resources"][with_prefix(&t, "AWS::EKS::Nodegroup", "ClusterNodegroupAgentNodes")]["Properties"];
    assert_eq!(agents["CapacityType"], "SPOT");
    assert_eq!(
        agents["ScalingConfig"],
        json!({ "DesiredSize": 1, "MaxSize": 10, "MinSize": 1 })
    );
    assert_eq!(agents["InstanceTypes"].as_array().unwrap().len(), 3);
    assert_eq!(
        agents["Taints"],
        json!([{ "Effect": "NO_SCHEDULE", "Key": "jenkins-agent", "Value": "true" }])
    );
    let cluster = with_prefix(&t, "AWS::EKS::Cluster", "Cluster");
    for ng in [manager, agents] {
        assert_eq!(ng["ClusterName"], json!({ "Ref": cluster }));
    }
}

#[test]
fn the_autoscaler_role_trusts_only_its_service_account_through_the_cluster_issuer() {
    let asm = app();
    let t = template_json(&asm, STACKS[0]);
    let provider = with_prefix(&t, "AWS::IAM::OIDCProvider", "ClusterOpenIdConnectProvider");
    let cluster = with_prefix(&t, "AWS::EKS::Cluster", "Cluster");
    assert_eq!(
        t["Resources"][&provider]["Properties"]["Url"],
        json!({ "Fn::GetAtt": [cluster, "OpenIdConnectIssuerUrl"] })
    );
    let role = with_prefix(&t, "AWS::IAM::Role", "ClusterClusterAutoscalerRole");
    let sub = t["Resources"][&role]["Properties"]["AssumeRolePolicyDocument"]["Fn::Sub"]
        .as_array()
        .expect("the trust policy is an Fn::Sub: its condition keys hold the issuer")
        .clone();
    let vars = sub[1].as_object().unwrap();
    assert_eq!(
        vars["OidcIssuer"],
        json!({ "Fn::Select": [1, { "Fn::Split": [":oidc-provider/", { "Ref": provider }] }] })
    );
    // Substitute markers for the variables and read the policy IAM will see.
    let mut text = sub[0].as_str().unwrap().to_string();
    for name in vars.keys() {
        text = text.replace(&format!("${{{name}}}"), &format!("<{name}>"));
    }
    let doc: Json = serde_json::from_str(&text).expect("the trust policy is JSON");
    let statements = doc["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    let s = &statements[0];
    assert_eq!(s["Action"], "sts:AssumeRoleWithWebIdentity");
    let federated = s["Principal"]["Federated"].as_str().unwrap();
    assert_eq!(
        vars[federated.trim_start_matches('<').trim_end_matches('>')],
        json!({ "Ref": provider })
    );
    assert_eq!(
        s["Condition"],
        json!({ "StringEquals": {
            "<OidcIssuer>:sub": "system:serviceaccount:kube-system:cluster-autoscaler",
            "<OidcIssuer>:aud": "sts.amazonaws.com"
        }})
    );
    // It may resize only this cluster's groups.
    let statements = role_statements(&t, &role);
    let resize = statements
        .iter()
        .find(|s| {
            s["Action"]
                .as_array()
                .is_some_and(|a| a.contains(&json!("autoscaling:SetDesiredCapacity")))
        })
        .expect("a resize statement");
    assert_eq!(
        resize["Condition"],
        json!({ "StringEquals": { format!("aws:ResourceTag/k8s.io/cluster-autoscaler/{CLUSTER_NAME}"): "owned" } })
    );
}

#[test]
fn the_agents_service_account_may_assume_exactly_the_target_execution_roles() {
    let asm = app();
    let t = template_json(&asm, STACKS[0]);
    let expected: Vec<Json> = TARGET_ACCOUNTS
        .iter()
        .map(|a| role_arn(a, EXECUTION_ROLE_NAME))
        .collect();
    let agent_role = with_prefix(&t, "AWS::IAM::Role", "ClusterJenkinsAgentsRole");
    let assume: Vec<Json> = role_statements(&t, &agent_role)
        .into_iter()
        .filter(|s| {
            let a = &s["Action"];
            a == "sts:AssumeRole" || a.as_array().is_some_and(|l| l.contains(&json!("sts:AssumeRole")))
        })
        .collect();
    assert_eq!(assume.len(), 1, "{assume:?}");
    assert_eq!(assume[0]["Action"], "sts:AssumeRole");
    assert_eq!(assume[0]["Resource"], json!(expected));
    // No other role of the stack may assume roles.
    for (role, _) in of_type(&t, "AWS::IAM::Role") {
        if role == agent_role {
            continue;
        }
        for s in role_statements(&t, role) {
            assert!(
                !s.to_string().contains("sts:AssumeRole\""),
                "{role} may assume roles: {s}"
            );
        }
    }
}

#[test]
fn each_target_execution_role_trusts_only_the_shared_services_account() {
    let asm = app();
    for (stack, _account) in STACKS[1..].iter().zip(TARGET_ACCOUNTS) {
        let t = template_json(&asm, stack);
        let exec = with_prefix(&t, "AWS::IAM::Role", "ExecutionRole");
        let p = &t["Resources"][&exec]["Properties"];
        assert_eq!(p["RoleName"], EXECUTION_ROLE_NAME);
        assert_eq!(
            p["AssumeRolePolicyDocument"]["Statement"],
            json!([{
                "Effect": "Allow",
                "Principal": { "AWS": {
                    "Fn::Join": ["", ["arn:", { "Ref": "AWS::Partition" }, format!(":iam::{SHARED_SERVICES_ACCOUNT}:root")]]
                } },
                "Action": "sts:AssumeRole"
            }])
        );
        // It passes the deployment role to CloudFormation, and nothing else.
        let deploy = with_prefix(&t, "AWS::IAM::Role", "DeploymentRole");
        let statements = p["Policies"][0]["PolicyDocument"]["Statement"]
            .as_array()
            .unwrap();
        let pass = statements
            .iter()
            .find(|s| s["Action"] == "iam:PassRole")
            .expect("PassRole");
        assert_eq!(pass["Resource"], json!({ "Fn::GetAtt": [deploy, "Arn"] }));
        assert_eq!(
            pass["Condition"],
            json!({ "StringEquals": { "iam:PassedToService": "cloudformation.amazonaws.com" } })
        );
        let d = &t["Resources"][&deploy]["Properties"];
        assert_eq!(d["RoleName"], DEPLOYMENT_ROLE_NAME);
        assert_eq!(
            d["AssumeRolePolicyDocument"]["Statement"][0]["Principal"],
            json!({ "Service": "cloudformation.amazonaws.com" })
        );
        assert_eq!(of_type(&t, "AWS::IAM::Role").len(), 2);
    }
}

#[test]
fn image_repositories_scan_on_push_and_are_kms_encrypted() {
    let asm = app();
    let t = template_json(&asm, STACKS[0]);
    let key = with_prefix(&t, "AWS::KMS::Key", "ImageKey");
    let repos = of_type(&t, "AWS::ECR::Repository");
    assert_eq!(repos.len(), 2);
    let mut names = Vec::new();
    for (_, res) in &repos {
        let p = &res["Properties"];
        names.push(p["RepositoryName"].as_str().unwrap().to_string());
        assert_eq!(p["ImageScanningConfiguration"]["ScanOnPush"], true);
        assert_eq!(
            p["EncryptionConfiguration"],
            json!({ "EncryptionType": "KMS", "KmsKey": { "Fn::GetAtt": [key, "Arn"] } })
        );
        assert_eq!(p["ImageTagMutability"], "IMMUTABLE");
        assert_eq!(res["DeletionPolicy"], "Retain");
    }
    assert_eq!(names, [MANAGER_REPOSITORY, AGENT_REPOSITORY]);
    // Each node group pulls its own image, and may decrypt it.
    for (ng, repo) in [
        ("ClusterNodegroupManagerNodesNodeGroupRole", repos[0].0),
        ("ClusterNodegroupAgentNodesNodeGroupRole", repos[1].0),
    ] {
        let role = with_prefix(&t, "AWS::IAM::Role", ng);
        let statements = role_statements(&t, &role);
        assert!(
            statements
                .iter()
                .any(|s| s["Resource"] == json!({ "Fn::GetAtt": [repo, "Arn"] })
                    && s["Action"]
                        .as_array()
                        .is_some_and(|a| a.contains(&json!("ecr:BatchGetImage")))),
            "{ng}: {statements:?}"
        );
        assert!(
            statements
                .iter()
                .any(|s| s["Action"] == "kms:Decrypt"
                    && s["Resource"] == json!({ "Fn::GetAtt": [key, "Arn"] })),
            "{ng}: {statements:?}"
        );
    }
}

#[test]
fn the_recommended_rules_have_nothing_to_fix_or_report() {
    let mut app = eks_jenkins::build_with(eks_jenkins::committed_context().unwrap()).expect("the app builds");
    let asm = app.synth().expect("synthesis");
    let reports = app.reports(Some(&asm));
    let (_, json) = reports[0]
        .files
        .iter()
        .find(|(name, _)| name == "cairn-report.json")
        .expect("the findings report");
    let report: Json = serde_json::from_str(json).expect("the report is JSON");
    assert_eq!(
        report["summary"],
        json!({ "errors": 0, "warnings": 0, "fixed": 0, "suppressed": 0 }),
        "{report:#}"
    );
    assert_eq!(report["findings"], json!([]));
}

/// The objects of a `Custom::AWSCDK-EKS-KubernetesResource`, its references written as
/// `<LogicalId>` (a `Ref`) or `<LogicalId.Attribute>` (an `Fn::GetAtt`).
fn manifest_objects(resource: &Json) -> Vec<Json> {
    let m = &resource["Properties"]["Manifest"];
    let text = match m.as_str() {
        Some(t) => t.to_string(),
        None => m["Fn::Join"][1]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| match p {
                Json::String(s) => s.clone(),
                other if other.get("Ref").is_some() => format!("<{}>", other["Ref"].as_str().unwrap()),
                other => format!(
                    "<{}.{}>",
                    other["Fn::GetAtt"][0].as_str().unwrap(),
                    other["Fn::GetAtt"][1].as_str().unwrap()
                ),
            })
            .collect(),
    };
    serde_json::from_str(&text).expect("the manifest is JSON")
}

#[test]
fn jenkins_is_applied_through_the_kubectl_provider() {
    let asm = app();
    let t = template_json(&asm, STACKS[0]);
    let manifests = of_type(&t, "Custom::AWSCDK-EKS-KubernetesResource");
    let barrier = with_prefix(&t, "AWS::SSM::Parameter", "ClusterKubectlReadyBarrier");
    let mut kinds = Vec::new();
    for (id, r) in &manifests {
        assert!(
            r["DependsOn"].as_array().unwrap().contains(&json!(barrier)),
            "{id}"
        );
        for o in manifest_objects(r) {
            kinds.push(format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            ));
        }
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "ConfigMap/jenkins-casc",
            "Deployment/jenkins-manager",
            "Namespace/jenkins",
            "Role/jenkins",
            "RoleBinding/jenkins",
            "Service/jenkins-service",
            "ServiceAccount/cluster-autoscaler",
            "ServiceAccount/jenkins-agent",
            "ServiceAccount/jenkins-manager",
        ]
    );
    let manager_id = with_prefix(
        &t,
        "Custom::AWSCDK-EKS-KubernetesResource",
        "ClustermanifestJenkinsManager",
    );
    let manager = manifest_objects(&t["Resources"][&manager_id]);
    let deployment = manager.iter().find(|o| o["kind"] == "Deployment").unwrap();
    let repo = with_prefix(&t, "AWS::ECR::Repository", "ManagerRepository");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("<{repo}.RepositoryUri>:{}", eks_jenkins::kubernetes::IMAGE_TAG)
    );
    assert_eq!(
        deployment["spec"]["template"]["spec"]["nodeSelector"],
        json!({ "jenkins": "manager" })
    );
    let service = manager.iter().find(|o| o["kind"] == "Service").unwrap();
    assert_eq!(service["spec"]["loadBalancerSourceRanges"], json!([ADMIN_CIDR]));
    // The agents' pod template: JSON in the configuration as code, in the config map.
    let casc = manager.iter().find(|o| o["kind"] == "ConfigMap").unwrap();
    let casc: Json = serde_json::from_str(casc["data"]["jenkins.yaml"].as_str().unwrap()).unwrap();
    let cloud = &casc["jenkins"]["clouds"][0]["kubernetes"];
    assert_eq!(cloud["namespace"], "jenkins");
    let pod: Json = serde_json::from_str(cloud["templates"][0]["yaml"].as_str().unwrap()).unwrap();
    let agent_repo = with_prefix(&t, "AWS::ECR::Repository", "AgentRepository");
    assert_eq!(
        pod["spec"]["containers"][0]["image"],
        format!(
            "<{agent_repo}.RepositoryUri>:{}",
            eks_jenkins::kubernetes::IMAGE_TAG
        )
    );
    assert_eq!(pod["spec"]["serviceAccountName"], "jenkins-agent");
    assert_eq!(pod["spec"]["nodeSelector"], json!({ "jenkins": "agent" }));
    // The agents' service account is bound to its IRSA role, and waits for the namespace.
    let agent_sa = with_prefix(
        &t,
        "Custom::AWSCDK-EKS-KubernetesResource",
        "ClusterJenkinsAgentsmanifest",
    );
    let sa = &manifest_objects(&t["Resources"][&agent_sa])[0];
    let role = with_prefix(&t, "AWS::IAM::Role", "ClusterJenkinsAgentsRole");
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        format!("<{role}.Arn>")
    );
    let namespace = with_prefix(
        &t,
        "Custom::AWSCDK-EKS-KubernetesResource",
        "ClustermanifestJenkinsNamespace",
    );
    for id in [&agent_sa, &manager_id] {
        assert!(
            t["Resources"][id]["DependsOn"]
                .as_array()
                .unwrap()
                .contains(&json!(namespace)),
            "{id}"
        );
    }
    // The cluster autoscaler's chart, as its IRSA service account.
    let chart = with_prefix(
        &t,
        "Custom::AWSCDK-EKS-HelmChart",
        "ClusterchartClusterAutoscaler",
    );
    let p = &t["Resources"][&chart]["Properties"];
    assert_eq!(p["Chart"], "cluster-autoscaler");
    assert_eq!(p["Namespace"], "kube-system");
    let values: Json = serde_json::from_str(p["Values"].as_str().unwrap()).unwrap();
    assert_eq!(
        values["rbac"]["serviceAccount"],
        json!({ "create": false, "name": "cluster-autoscaler" })
    );
    assert_eq!(values["autoDiscovery"]["clusterName"], CLUSTER_NAME);
}
