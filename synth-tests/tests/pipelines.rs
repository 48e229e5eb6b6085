//! Snapshots of the `pipelines` example (the SaaS toolchain and its stage pipelines), and
//! the wiring they must show: the stage order with self-mutation first after source and
//! build, change sets created before they are executed, bootstrap roles of the target
//! accounts with access to the KMS-encrypted artifacts, source trigger `NONE` for stage
//! pipelines, and the deployments table stream -> Lambda -> CodeBuild start wiring with
//! least-privilege grants.

use cairn::CloudAssembly;
use examples::pipelines::{self, default_deployments, TOOLCHAIN_STACK};
use serde_json::{json, Value as Json};
use synth_tests::{header, synth};

fn app() -> CloudAssembly {
    synth(pipelines::build_default)
}

fn template<'a>(asm: &'a CloudAssembly, stack: &str) -> &'a Json {
    match asm.stack(stack) {
        Some(s) => &s.template,
        None => panic!("no stack {stack}"),
    }
}

fn of_type<'a>(t: &'a Json, ty: &str) -> Vec<(&'a String, &'a Json)> {
    t["Resources"]
        .as_object()
        .expect("resources")
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

fn only<'a>(t: &'a Json, ty: &str) -> (&'a String, &'a Json) {
    let found = of_type(t, ty);
    assert_eq!(
        found.len(),
        1,
        "one {ty}: {:?}",
        found.iter().map(|f| f.0).collect::<Vec<_>>()
    );
    found[0]
}

fn stages(t: &Json) -> &Vec<Json> {
    only(t, "AWS::CodePipeline::Pipeline").1["Properties"]["Stages"]
        .as_array()
        .expect("stages")
}

fn stage<'a>(t: &'a Json, name: &str) -> &'a Vec<Json> {
    stages(t)
        .iter()
        .find(|s| s["Name"] == name)
        .unwrap_or_else(|| panic!("no stage {name}"))["Actions"]
        .as_array()
        .expect("actions")
}

fn stage_names(t: &Json) -> Vec<String> {
    stages(t)
        .iter()
        .map(|s| s["Name"].as_str().unwrap().to_string())
        .collect()
}

fn run_order(a: &Json) -> i64 {
    a["RunOrder"].as_i64().unwrap_or(1)
}

/// Every statement of every IAM policy attached to the role `role_id`.
fn role_statements(t: &Json, role_id: &str) -> Vec<Json> {
    of_type(t, "AWS::IAM::Policy")
        .into_iter()
        .filter(|(_, p)| {
            p["Properties"]["Roles"]
                .as_array()
                .unwrap()
                .contains(&json!({"Ref": role_id}))
        })
        .flat_map(|(_, p)| {
            p["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect()
}

fn actions_of(statement: &Json) -> Vec<String> {
    match &statement["Action"] {
        Json::String(s) => vec![s.clone()],
        Json::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn pipelines_templates() {
    let asm = app();
    for s in asm.stacks() {
        let body = format!("{}\n{}", header(&asm, &s.display_name), s.template_json());
        insta::assert_snapshot!(s.display_name.replace('/', "-"), body);
    }
}

#[test]
fn self_mutation_comes_first_after_source_and_build() {
    let asm = app();
    let mut names = vec![TOOLCHAIN_STACK.to_string()];
    names.extend(default_deployments().iter().map(|d| d.pipeline_stack()));
    for stack in names {
        let t = template(&asm, &stack);
        let n = stage_names(t);
        assert_eq!(n[..3], ["Source", "Build", "UpdatePipeline"], "{stack}: {n:?}");
        // The self-mutation deploys this very stack from the synthesized assembly.
        let update = stage(t, "UpdatePipeline");
        let prepare = update
            .iter()
            .find(|a| a["Name"] == "SelfMutate.Prepare")
            .expect("prepare");
        assert_eq!(prepare["Configuration"]["StackName"], stack.as_str());
        let file = asm.stack(&stack).unwrap().artifact_id.clone();
        assert_eq!(
            prepare["Configuration"]["TemplatePath"],
            format!("Synth_Output::{file}.template.json").as_str()
        );
        // The stack's own file assets are published before its change set.
        let publish = update.iter().find(|a| a["Name"] == "Assets").expect("assets");
        assert!(run_order(publish) < run_order(prepare));
        let project = publish["Configuration"]["ProjectName"]["Ref"].as_str().unwrap();
        let vars = t["Resources"][project]["Properties"]["Environment"].get("EnvironmentVariables");
        assert!(
            vars.is_none(),
            "the publisher is shared: variables come with the action"
        );
        let action_vars = publish["Configuration"]["EnvironmentVariables"].to_string();
        assert!(
            action_vars.contains(&format!("{file}.assets.json")),
            "{action_vars}"
        );
        // The synth action turns the source into the assembly.
        let synth = &stage(t, "Build")[0];
        assert_eq!(synth["InputArtifacts"], json!([{"Name": "Source"}]));
        assert_eq!(synth["OutputArtifacts"], json!([{"Name": "Synth_Output"}]));
    }
}

#[test]
fn change_sets_are_created_before_they_are_executed() {
    let asm = app();
    let mut checked = 0;
    for d in default_deployments() {
        let t = template(&asm, &d.pipeline_stack());
        for s in stages(t) {
            let actions = s["Actions"].as_array().unwrap();
            for prepare in actions
                .iter()
                .filter(|a| a["Configuration"]["ActionMode"] == "CHANGE_SET_REPLACE")
            {
                let execute = actions
                    .iter()
                    .find(|a| {
                        a["Configuration"]["ActionMode"] == "CHANGE_SET_EXECUTE"
                            && a["Configuration"]["StackName"] == prepare["Configuration"]["StackName"]
                    })
                    .expect("an execute action for each change set");
                assert!(
                    run_order(prepare) < run_order(execute),
                    "{prepare} before {execute}"
                );
                assert_eq!(
                    prepare["Configuration"]["ChangeSetName"],
                    execute["Configuration"]["ChangeSetName"]
                );
                checked += 1;
            }
        }
        // The application stack is deployed by the Deploy wave, tests after it.
        let deploy = stage(t, "Deploy");
        let app_stack = format!("{}-App", d.id);
        let exec = deploy
            .iter()
            .find(|a| {
                a["Configuration"]["StackName"] == app_stack.as_str()
                    && a["Configuration"]["ActionMode"] == "CHANGE_SET_EXECUTE"
            })
            .expect("the app stack is executed");
        let test = deploy
            .iter()
            .find(|a| a["Name"] == format!("{}.IntegrationTest", d.id).as_str())
            .expect("test");
        assert!(run_order(test) > run_order(exec));
    }
    assert!(checked >= 6, "checked {checked} change sets");
}

#[test]
fn deploy_actions_assume_the_target_accounts_bootstrap_roles() {
    let asm = app();
    for d in default_deployments() {
        let t = template(&asm, &d.pipeline_stack());
        let text = |v: &Json| v.to_string();
        for a in stage(t, "Deploy")
            .iter()
            .filter(|a| a["ActionTypeId"]["Provider"] == "CloudFormation")
        {
            assert!(
                text(&a["RoleArn"]).contains(&format!(
                    ":iam::{}:role/cdk-hnb659fds-deploy-role-{}-{}",
                    d.account, d.account, d.region
                )),
                "{a}"
            );
            if a["Configuration"]["ActionMode"] == "CHANGE_SET_REPLACE" {
                assert!(text(&a["Configuration"]["RoleArn"])
                    .contains(&format!("cdk-hnb659fds-cfn-exec-role-{}-{}", d.account, d.region)));
            }
            if d.region != pipelines::TOOLCHAIN.1 {
                assert_eq!(a["Region"], d.region.as_str());
            } else {
                assert!(a.get("Region").is_none());
            }
        }
        // The pipeline may assume exactly those roles (and its own action roles).
        let (role_id, _) = of_type(t, "AWS::IAM::Role")
            .into_iter()
            .find(|(id, _)| id.starts_with("PipelineRole"))
            .expect("pipeline role");
        let assume: Vec<Json> = role_statements(t, role_id)
            .into_iter()
            .filter(|s| actions_of(s) == ["sts:AssumeRole"])
            .collect();
        assert!(
            assume.iter().all(|s| s["Resource"].is_object()),
            "no wildcard: {assume:?}"
        );
        assert!(assume.iter().any(|s| text(&s["Resource"])
            .contains(&format!("cdk-hnb659fds-deploy-role-{}-{}", d.account, d.region))));
        // The target's deploy role may read the KMS-encrypted artifacts: bucket and key
        // policy statements name it.
        let (_, bucket_policy) = only(t, "AWS::S3::BucketPolicy");
        assert!(text(&bucket_policy["Properties"]["PolicyDocument"])
            .contains(&format!("cdk-hnb659fds-deploy-role-{}-{}", d.account, d.region)));
        let key = of_type(t, "AWS::KMS::Key")
            .into_iter()
            .find(|(id, _)| id.starts_with("PipelineArtifactsBucketEncryptionKey"))
            .expect("artifact key");
        let key_policy = text(&key.1["Properties"]["KeyPolicy"]);
        assert!(key_policy.contains(&format!("cdk-hnb659fds-deploy-role-{}-{}", d.account, d.region)));
    }
}

#[test]
fn artifact_bucket_is_encrypted_with_the_pipeline_key() {
    let asm = app();
    for stack in [TOOLCHAIN_STACK.to_string(), "saas-pipeline-pool".to_string()] {
        let t = template(&asm, &stack);
        let (_, p) = only(t, "AWS::CodePipeline::Pipeline");
        let store = &p["Properties"]["ArtifactStore"];
        assert_eq!(store["EncryptionKey"]["Type"], "KMS");
        let key_id = store["EncryptionKey"]["Id"]["Fn::GetAtt"][0]
            .as_str()
            .expect("the key's ARN");
        assert_eq!(t["Resources"][key_id]["Type"], "AWS::KMS::Key");
        assert_eq!(t["Resources"][key_id]["Properties"]["EnableKeyRotation"], true);
        let bucket_id = store["Location"]["Ref"].as_str().expect("the bucket");
        let enc = &t["Resources"][bucket_id]["Properties"]["BucketEncryption"]
            ["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"];
        assert_eq!(enc["SSEAlgorithm"], "aws:kms");
        assert_eq!(enc["KMSMasterKeyID"]["Fn::GetAtt"][0], key_id);
    }
}

#[test]
fn cross_region_stage_gets_a_replicated_artifact_store() {
    let asm = app();
    let t = template(&asm, "saas-pipeline-tenant-b");
    let (_, p) = only(t, "AWS::CodePipeline::Pipeline");
    let stores = p["Properties"]["ArtifactStores"]
        .as_array()
        .expect("artifact stores per region");
    let regions: Vec<&str> = stores.iter().map(|s| s["Region"].as_str().unwrap()).collect();
    assert_eq!(regions, ["eu-west-1", "us-east-1"]);
    assert!(stores[1]["ArtifactStore"]["EncryptionKey"]["Id"]
        .to_string()
        .contains(":kms:us-east-1:"));
    let support = asm
        .stack("saas-pipeline-tenant-b-support-us-east-1")
        .expect("support stack");
    assert_eq!(support.environment.region.as_deref(), Some("us-east-1"));
    assert!(asm
        .stack("saas-pipeline-tenant-b")
        .unwrap()
        .dependencies
        .contains(&support.artifact_id));
    assert_eq!(support.resources_of_type("AWS::S3::Bucket").len(), 1);
    // The support stack deploys before the pipeline's own stack in UpdatePipeline.
    let update = stage(t, "UpdatePipeline");
    let support_prepare = update
        .iter()
        .find(|a| a["Name"] == "Support-us-east-1.Prepare")
        .expect("support");
    let self_prepare = update
        .iter()
        .find(|a| a["Name"] == "SelfMutate.Prepare")
        .expect("self");
    assert!(run_order(support_prepare) < run_order(self_prepare));
}

#[test]
fn stage_pipelines_are_started_by_the_toolchain_only() {
    let asm = app();
    for d in default_deployments() {
        let t = template(&asm, &d.pipeline_stack());
        assert!(of_type(t, "AWS::Events::Rule").is_empty(), "{}: no trigger", d.id);
        let source = &stage(t, "Source")[0];
        assert_eq!(source["Configuration"]["PollForSourceChanges"], false);
    }
    // The toolchain pipeline starts on a push to main.
    let t = template(&asm, TOOLCHAIN_STACK);
    let (_, rule) = only(t, "AWS::Events::Rule");
    assert_eq!(
        rule["Properties"]["EventPattern"]["detail"]["referenceName"],
        json!(["main"])
    );
    assert_eq!(
        rule["Properties"]["EventPattern"]["detail"]["repositoryName"],
        json!(["saas-app"])
    );
    let target = &rule["Properties"]["Targets"][0];
    assert!(target["Arn"].to_string().contains("codepipeline"));
    assert!(target["RoleArn"].is_object());
}

#[test]
fn deployments_stream_starts_the_deployment_build() {
    let asm = app();
    let t = template(&asm, TOOLCHAIN_STACK);
    let (table_id, table) = only(t, "AWS::DynamoDB::Table");
    assert_eq!(
        table["Properties"]["StreamSpecification"]["StreamViewType"],
        "NEW_IMAGE"
    );
    assert_eq!(
        table["Properties"]["KeySchema"],
        json!([{"AttributeName": "id", "KeyType": "HASH"}])
    );
    let (_, mapping) = only(t, "AWS::Lambda::EventSourceMapping");
    assert_eq!(
        mapping["Properties"]["EventSourceArn"],
        json!({"Fn::GetAtt": [table_id, "StreamArn"]})
    );
    let function_id = mapping["Properties"]["FunctionName"]["Ref"]
        .as_str()
        .expect("function ref");
    assert!(function_id.starts_with("DeploymentSync"));
    let function = &t["Resources"][function_id];
    let project_id = function["Properties"]["Environment"]["Variables"]["PROJECT_NAME"]["Ref"]
        .as_str()
        .expect("project name ref");
    let project = &t["Resources"][project_id];
    assert_eq!(project["Type"], "AWS::CodeBuild::Project");
    assert_eq!(project["Properties"]["Source"]["Type"], "NO_SOURCE");
    // The function may start builds of that project, nothing broader.
    let role_id = function["Properties"]["Role"]["Fn::GetAtt"][0].as_str().unwrap();
    let start: Vec<Json> = role_statements(t, role_id)
        .into_iter()
        .filter(|s| actions_of(s).iter().any(|a| a.starts_with("codebuild:")))
        .collect();
    assert_eq!(start.len(), 1, "{start:?}");
    assert!(actions_of(&start[0]).contains(&"codebuild:StartBuild".to_string()));
    assert_eq!(start[0]["Resource"], json!({"Fn::GetAtt": [project_id, "Arn"]}));
    // The deployment build assumes the toolchain's deploy role, and pulls the repository.
    let project_role = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap();
    let statements = role_statements(t, project_role);
    assert!(statements.iter().any(|s| actions_of(s) == ["sts:AssumeRole"]
        && s["Resource"]
            .to_string()
            .contains("cdk-hnb659fds-deploy-role-111111111111-eu-west-1")));
    assert!(statements.iter().any(|s| actions_of(s) == ["codecommit:GitPull"]));
}

#[test]
fn no_action_role_statement_has_a_wildcard_resource() {
    let asm = app();
    for s in asm.stacks() {
        for (id, policy) in of_type(&s.template, "AWS::IAM::Policy") {
            for st in policy["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
            {
                if st["Resource"] == "*" {
                    // Only the actions that take no resource.
                    for a in actions_of(st) {
                        assert!(
                            ["tag:GetResources", "dynamodb:ListStreams"].contains(&a.as_str()),
                            "{}/{id}: {a} on *",
                            s.display_name
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn pool_pipeline_runs_the_chaos_experiment_after_the_test() {
    let asm = app();
    let t = template(&asm, "saas-pipeline-pool");
    let deploy = stage(t, "Deploy");
    let test = deploy
        .iter()
        .find(|a| a["Name"] == "pool.IntegrationTest")
        .unwrap();
    let chaos = deploy
        .iter()
        .find(|a| a["Name"] == "pool.ChaosExperiment")
        .unwrap();
    assert!(run_order(chaos) > run_order(test));
    let (template_id, _) = only(t, "AWS::FIS::ExperimentTemplate");
    let project_id = chaos["Configuration"]["ProjectName"]["Ref"].as_str().unwrap();
    let project = &t["Resources"][project_id];
    let vars = project["Properties"]["Environment"]["EnvironmentVariables"]
        .as_array()
        .unwrap();
    assert!(vars
        .iter()
        .any(|v| v["Name"] == "EXPERIMENT_TEMPLATE_ID" && v["Value"] == json!({"Ref": template_id})));
    let role = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap();
    let start = role_statements(t, role)
        .into_iter()
        .find(|s| actions_of(s) == ["fis:StartExperiment"])
        .expect("start experiment grant");
    assert!(start["Resource"].to_string().contains(template_id.as_str()));
}
