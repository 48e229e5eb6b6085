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

/// The CodeBuild project behind a pipeline action (`stage`/`action`) and its role's
/// statements.
fn action_project<'a>(t: &'a Json, stage_name: &str, action: &str) -> (&'a Json, Vec<Json>) {
    let a = stage(t, stage_name)
        .iter()
        .find(|a| a["Name"] == action)
        .unwrap_or_else(|| panic!("no action {action} in {stage_name}"));
    let project_id = a["Configuration"]["ProjectName"]["Ref"].as_str().unwrap();
    let project = &t["Resources"][project_id];
    let role_id = project["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
        .as_str()
        .unwrap();
    (project, role_statements(t, role_id))
}

/// The commands of the release step, run by bash against a fake `aws` over three rows;
/// `status` answers GetPipelineExecution for a pipeline (`InProgress` first, then its
/// final status). Returns whether the script succeeded and the calls it made.
fn run_release(wave_size: &str, final_status: &[(&str, &str)]) -> (bool, Vec<String>) {
    let asm = app();
    let t = template(&asm, TOOLCHAIN_STACK);
    let (project, _) = action_project(t, "UpdateDeployments", "ReleaseToDeployments");
    let spec = project["Properties"]["Source"]["BuildSpec"].as_str().unwrap();
    let commands = pipelines::release_commands();
    for c in &commands {
        assert!(
            spec.contains(&format!("- {c}\n"))
                || spec.contains(&format!("- {}\n", serde_json::to_string(c).unwrap())),
            "{c} not in {spec}"
        );
    }
    let dir = std::env::temp_dir().join(format!(
        "saas-release-{}-{wave_size}-{}",
        std::process::id(),
        final_status.len()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let statuses: String = final_status
        .iter()
        .map(|(p, s)| format!("{p}) echo {s};; "))
        .collect();
    let fake = format!(
        r#"#!/bin/bash
echo "$*" >> "$FAKE_DIR/calls.log"
case "$1 $2" in
  "dynamodb scan") printf 'silo\ttenant-b\npool\tpool\nsilo\ttenant-a\n';;
  "codepipeline start-pipeline-execution") echo "exec-$4";;
  "codepipeline get-pipeline-execution")
    if [ ! -e "$FAKE_DIR/seen-$4" ]; then touch "$FAKE_DIR/seen-$4"; echo InProgress; exit 0; fi
    case "$4" in {statuses} *) echo Succeeded;; esac;;
  *) echo "unexpected: $*" >&2; exit 2;;
esac
"#
    );
    let aws = dir.join("aws");
    std::fs::write(&aws, fake).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(commands.join("\n"))
        .env(
            "PATH",
            format!("{}:{}", dir.display(), std::env::var("PATH").unwrap()),
        )
        .env("FAKE_DIR", &dir)
        .env("TABLE_NAME", "deployments")
        .env("WAVE_SIZE", wave_size)
        .env("POLL_SECONDS", "0")
        .output()
        .unwrap();
    let calls = std::fs::read_to_string(dir.join("calls.log")).unwrap_or_default();
    std::fs::remove_dir_all(&dir).unwrap();
    let calls: Vec<String> = calls
        .lines()
        .map(|c| {
            let w: Vec<&str> = c.split_whitespace().collect();
            match (w[1], w.get(3)) {
                ("start-pipeline-execution", Some(p)) => format!("start {p}"),
                ("get-pipeline-execution", Some(p)) => format!("get {p}"),
                (op, _) => op.to_string(),
            }
        })
        .collect();
    (out.status.success(), calls)
}

/// The toolchain releases a change to every deployment: its UpdateDeployments wave starts
/// each row's stage pipeline (StartPipelineExecution on the saas-* pipelines only), one at
/// a time (pools first), waiting for each execution to succeed before the next, and stops
/// at a failed one.
#[test]
fn the_toolchain_releases_to_every_stage_pipeline_one_at_a_time() {
    let asm = app();
    let t = template(&asm, TOOLCHAIN_STACK);
    let (project, statements) = action_project(t, "UpdateDeployments", "ReleaseToDeployments");
    let start = statements
        .iter()
        .find(|s| actions_of(s).contains(&"codepipeline:StartPipelineExecution".to_string()))
        .expect("the release may start pipelines");
    assert!(actions_of(start).contains(&"codepipeline:GetPipelineExecution".to_string()));
    assert_eq!(
        start["Resource"],
        json!({ "Fn::Sub": "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:saas-*" })
    );
    let vars = project["Properties"]["Environment"]["EnvironmentVariables"].to_string();
    assert!(
        vars.contains(r#""Name":"WAVE_SIZE","Type":"PLAINTEXT","Value":"1""#),
        "{vars}"
    );
    for d in default_deployments() {
        assert!(format!("saas-{}", d.id) == d.pipeline_name());
    }

    let (ok, calls) = run_release("1", &[]);
    assert!(ok, "{calls:?}");
    assert_eq!(
        calls,
        [
            "scan",
            "start saas-pool",
            "get saas-pool",
            "get saas-pool",
            "start saas-tenant-a",
            "get saas-tenant-a",
            "get saas-tenant-a",
            "start saas-tenant-b",
            "get saas-tenant-b",
            "get saas-tenant-b"
        ]
    );
    // A failed execution stops the release: tenant-b is not started.
    let (ok, calls) = run_release("1", &[("saas-tenant-a", "Failed")]);
    assert!(!ok, "{calls:?}");
    assert!(!calls.contains(&"start saas-tenant-b".to_string()), "{calls:?}");
    // In waves of two: pool and tenant-a start together, tenant-b after both succeeded.
    let (ok, calls) = run_release("2", &[]);
    assert!(ok, "{calls:?}");
    assert_eq!(&calls[1..3], ["start saas-pool", "start saas-tenant-a"]);
    let b = calls.iter().position(|c| c == "start saas-tenant-b").unwrap();
    assert_eq!(calls[b - 1], "get saas-tenant-a");
}

/// A deployment inserted into the table (not built in) gets a pipeline whose synth step
/// has its TENANT_* variables; synthesizing the app with those variables (what that
/// Synth step does) yields the pipeline's own stack, unchanged, for SelfMutate.
#[test]
fn a_new_deployments_pipeline_synthesizes_its_own_stack() {
    let row = pipelines::Deployment {
        id: "tenant-c".into(),
        account: "444444444444".into(),
        region: "eu-central-1".into(),
        kind: "silo".into(),
    };
    let mut deployments = default_deployments();
    deployments.push(row.clone());
    let mut app = pipelines::build_for(&deployments).unwrap();
    let asm = app.synth().unwrap();
    for d in &deployments {
        let t = template(&asm, &d.pipeline_stack());
        let (project, _) = action_project(t, "Build", "Synth");
        let vars: Vec<(String, String)> = project["Properties"]["Environment"]["EnvironmentVariables"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .map(|v| {
                (
                    v["Name"].as_str().unwrap().to_string(),
                    v["Value"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = d
            .tenant_variables()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(vars, expected, "{}", d.id);
        // What the pipeline's Synth step produces from those variables.
        let mut in_pipeline = pipelines::build_with_variables(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .unwrap();
        let synthesized = in_pipeline.synth().unwrap();
        let own = synthesized
            .stack(&d.pipeline_stack())
            .unwrap_or_else(|| panic!("{}: the Synth output has no {}", d.id, d.pipeline_stack()));
        assert_eq!(&own.template, t, "{}", d.id);
    }
}
