//! codepipeline::Pipeline: the encrypted artifact store, action roles and grants, the
//! structure check, cross-account and cross-region support stacks.

mod common;
use common::{logical, of_type, synth_clean};

use cairn_constructs::codebuild::{BuildSpec, Project, ProjectProps};
use cairn_constructs::codepipeline::{
    Action, ActionKind, Artifact, ArtifactPath, Pipeline, PipelineProps, SourceTrigger,
};
use cairn_core::{App, Environment, Error, Stack, StackProps};
use serde_json::{json, Value as Json};

fn env_stack(app: &mut App) -> Stack {
    app.stack_with(
        app.root(),
        "Ci",
        StackProps {
            env: Some(Environment::new("111111111111", "eu-west-1")),
            ..StackProps::default()
        },
    )
    .unwrap()
}

fn source(pipeline: &Pipeline, app: &mut App) {
    pipeline.add_stage(app, "Source").unwrap();
    pipeline
        .add_action(
            app,
            "Source",
            Action::new(
                "Code",
                ActionKind::CodeCommitSource {
                    repository_name: "app".into(),
                    branch: "main".into(),
                    output: Artifact::new("Src"),
                    trigger: SourceTrigger::Events,
                },
            ),
        )
        .unwrap();
}

fn deploy(pipeline: &Pipeline, app: &mut App, stage: &str, env: Option<Environment>) {
    let (prepare, execute) = (
        Action::new(
            "Prepare",
            ActionKind::CloudFormationCreateReplaceChangeSet {
                stack_name: "App".into(),
                change_set_name: "Change".into(),
                template_path: ArtifactPath::new(&Artifact::new("Src"), "app.json"),
                deployment_role: None,
                capabilities: vec!["CAPABILITY_IAM".into()],
            },
        )
        .run_order(1),
        Action::new(
            "Execute",
            ActionKind::CloudFormationExecuteChangeSet {
                stack_name: "App".into(),
                change_set_name: "Change".into(),
            },
        )
        .run_order(2),
    );
    let (prepare, execute) = match &env {
        Some(e) => (prepare.environment(e), execute.environment(e)),
        None => (prepare, execute),
    };
    pipeline.add_stage(app, stage).unwrap();
    pipeline.add_action(app, stage, prepare).unwrap();
    pipeline.add_action(app, stage, execute).unwrap();
}

fn statements_of(t: &Json, role_prefix: &str) -> Vec<Json> {
    of_type(t, "AWS::IAM::Policy")
        .into_iter()
        .filter(|(_, p)| {
            p["Properties"]["Roles"][0]["Ref"]
                .as_str()
                .unwrap()
                .starts_with(role_prefix)
        })
        .flat_map(|(_, p)| {
            p["Properties"]["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .clone()
        })
        .collect()
}

#[test]
fn same_account_pipeline_is_clean_and_least_privilege() {
    let mut app = App::new();
    let stack = env_stack(&mut app);
    let pipeline = Pipeline::new(&mut app, stack, "Pipeline", PipelineProps::default()).unwrap();
    source(&pipeline, &mut app);
    let project = Project::new(
        &mut app,
        stack,
        "Build",
        ProjectProps::new(BuildSpec::new().build(["make"]).artifacts(".", ["out.json"])),
    )
    .unwrap();
    pipeline.add_stage(&mut app, "Build").unwrap();
    pipeline
        .add_action(
            &mut app,
            "Build",
            Action::new(
                "Make",
                ActionKind::CodeBuild {
                    project,
                    input: Artifact::new("Src"),
                    extra_inputs: vec![],
                    outputs: vec![Artifact::new("Out")],
                    environment_variables: Default::default(),
                    test: false,
                },
            ),
        )
        .unwrap();
    deploy(&pipeline, &mut app, "Deploy", None);
    let t = synth_clean(app, "Ci", &[], "codepipeline-same-account");
    let (_, p) = of_type(&t, "AWS::CodePipeline::Pipeline")[0];
    assert_eq!(p["Properties"]["PipelineType"], "V2");
    assert_eq!(p["Properties"]["ArtifactStore"]["EncryptionKey"]["Type"], "KMS");
    // One role per action, assumable by the pipeline role only (as aws-cdk-lib writes it);
    // the pipeline role assumes exactly those.
    let action_roles: Vec<&String> = of_type(&t, "AWS::IAM::Role")
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| id.contains("CodePipelineActionRole"))
        .collect();
    assert_eq!(action_roles.len(), 4, "{action_roles:?}");
    let assume: Vec<Json> = statements_of(&t, "PipelineRole")
        .into_iter()
        .filter(|s| s["Action"] == "sts:AssumeRole")
        .collect();
    assert_eq!(assume.len(), 4);
    let pipeline_role = logical(&t, "PipelineRole");
    for id in &action_roles {
        assert_eq!(
            t["Resources"][id.as_str()]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
                ["Principal"],
            json!({ "AWS": { "Fn::GetAtt": [pipeline_role, "Arn"] } }),
            "{id}"
        );
    }
    // The build action may run this project only; the project reads and writes artifacts.
    let build_role = action_roles
        .iter()
        .find(|id| id.starts_with("PipelineBuildMake"))
        .unwrap();
    let build = statements_of(&t, build_role);
    assert!(build.iter().any(|s| s["Action"]
        == json!([
            "codebuild:BatchGetBuilds",
            "codebuild:StartBuild",
            "codebuild:StopBuild"
        ])
        && s["Resource"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap()
            .starts_with("Build")));
    let project_statements = statements_of(&t, "BuildRole");
    assert!(project_statements
        .iter()
        .any(|s| s["Action"].to_string().contains("s3:PutObject")));
    assert!(project_statements
        .iter()
        .any(|s| s["Action"].to_string().contains("kms:GenerateDataKey*")));
    // The change set actions touch this stack only.
    let prepare_role = action_roles
        .iter()
        .find(|id| id.starts_with("PipelineDeployPrepare"))
        .unwrap();
    let prepare = statements_of(&t, prepare_role);
    assert!(prepare.iter().any(
        |s| s["Action"].to_string().contains("cloudformation:CreateChangeSet")
            && s["Resource"].to_string().contains("stack/App/*")
    ));
    assert!(!prepare
        .iter()
        .any(|s| s["Action"].to_string().contains("ExecuteChangeSet")));
    // Without a deployment role, one is created as aws-cdk-lib does
    // (`<stage>/<action>/Role`): trusted by CloudFormation, allowed to read the artifacts,
    // passed by the action role.
    let deployer = logical(&t, "PipelineDeployPrepareRole");
    assert_eq!(
        t["Resources"][&deployer]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
            ["Service"],
        "cloudformation.amazonaws.com"
    );
    assert!(statements_of(&t, &deployer)
        .iter()
        .any(|s| s["Action"].to_string().contains("s3:GetObject*")));
    assert!(prepare.iter().any(
        |s| s["Action"] == "iam:PassRole" && s["Resource"] == json!({ "Fn::GetAtt": [deployer, "Arn"] })
    ));
    let declared = &p["Properties"]["Stages"][2]["Actions"][0]["Configuration"]["RoleArn"];
    assert_eq!(declared, &json!({ "Fn::GetAtt": [deployer, "Arn"] }));
    // The artifact key's alias, named as aws-cdk-lib names it (the name is create-only).
    let (_, alias) = of_type(&t, "AWS::KMS::Alias")[0];
    assert_eq!(
        alias["Properties"]["AliasName"],
        format!(
            "alias/codepipeline-{}",
            cairn_core::make_unique_id(&["Ci", "Pipeline"]).to_lowercase()
        )
    );
    // The source change starts the pipeline through EventBridge.
    let (_, rule) = of_type(&t, "AWS::Events::Rule")[0];
    assert_eq!(
        rule["Properties"]["EventPattern"]["source"],
        json!(["aws.codecommit"])
    );
}

#[test]
fn cross_account_action_gets_a_role_in_a_support_stack() {
    let mut app = App::new();
    let stack = env_stack(&mut app);
    let pipeline = Pipeline::new(&mut app, stack, "Pipeline", PipelineProps::default()).unwrap();
    source(&pipeline, &mut app);
    deploy(
        &pipeline,
        &mut app,
        "Prod",
        Some(Environment::new("222222222222", "eu-west-1")),
    );
    let asm = app.synth().unwrap();
    let support = asm.stack("Ci-support-222222222222").expect("support stack");
    assert_eq!(support.environment.account.as_deref(), Some("222222222222"));
    assert!(asm
        .stack("Ci")
        .unwrap()
        .dependencies
        .contains(&support.artifact_id));
    let roles = support.resources_of_type("AWS::IAM::Role");
    assert_eq!(roles.len(), 2, "prepare and execute roles");
    let role = &support.template["Resources"][roles[0]];
    let name = role["Properties"]["RoleName"].as_str().unwrap().to_string();
    assert_eq!(
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]["Fn::Join"][1][2],
        ":iam::111111111111:root"
    );
    let ci = &asm.stack("Ci").unwrap().template;
    let text = ci.to_string();
    // The pipeline names the role, the bucket and key policies let it read.
    assert!(text.contains(&format!(":iam::222222222222:role/{name}")));
    let (_, bucket_policy) = of_type(ci, "AWS::S3::BucketPolicy")[0];
    assert!(bucket_policy["Properties"]["PolicyDocument"]
        .to_string()
        .contains(&name));
    let (_, key) = of_type(ci, "AWS::KMS::Key")[0];
    assert!(key["Properties"]["KeyPolicy"].to_string().contains(&name));
}

#[test]
fn cross_region_action_gets_a_replicated_store() {
    let mut app = App::new();
    let stack = env_stack(&mut app);
    let pipeline = Pipeline::new(&mut app, stack, "Pipeline", PipelineProps::default()).unwrap();
    source(&pipeline, &mut app);
    deploy(
        &pipeline,
        &mut app,
        "Us",
        Some(Environment::new("111111111111", "us-east-1")),
    );
    let asm = app.synth().unwrap();
    let support = asm.stack("Ci-support-us-east-1").expect("support stack");
    assert_eq!(support.resources_of_type("AWS::S3::Bucket").len(), 1);
    assert_eq!(support.resources_of_type("AWS::KMS::Alias").len(), 1);
    let ci = &asm.stack("Ci").unwrap().template;
    let (_, p) = of_type(ci, "AWS::CodePipeline::Pipeline")[0];
    assert!(p["Properties"].get("ArtifactStore").is_none());
    let stores = p["Properties"]["ArtifactStores"].as_array().unwrap();
    assert_eq!(stores[1]["Region"], "us-east-1");
    let us = &p["Properties"]["Stages"][1]["Actions"][0];
    assert_eq!(us["Region"], "us-east-1");
}

#[test]
fn structure_check_refuses_broken_pipelines() {
    let mut app = App::new();
    let stack = env_stack(&mut app);
    let pipeline = Pipeline::new(&mut app, stack, "Pipeline", PipelineProps::default()).unwrap();
    // A deploy stage first, reading an artifact nobody produces; no source.
    deploy(&pipeline, &mut app, "Deploy", None);
    let err = app.synth().unwrap_err().to_string();
    assert!(err.contains("at least two stages"), "{err}");
    assert!(err.contains("the first stage holds source actions only"), "{err}");
    assert!(
        err.contains("\"Src\" of \"Prepare\" is not produced by an earlier action"),
        "{err}"
    );
}

#[test]
fn unknown_stage_and_bad_names_are_errors() {
    let mut app = App::new();
    let stack = env_stack(&mut app);
    let pipeline = Pipeline::new(&mut app, stack, "Pipeline", PipelineProps::default()).unwrap();
    let r = pipeline.add_action(
        &mut app,
        "Nope",
        Action::new(
            "A",
            ActionKind::ManualApproval {
                comment: None,
                external_entity_link: None,
                notify_topic: None,
            },
        ),
    );
    assert!(matches!(r, Err(Error::InvalidProps { ref problem, .. }) if problem.contains("add it first")));
    assert!(matches!(
        pipeline.add_stage(&mut app, "has space"),
        Err(Error::InvalidProps { .. })
    ));
}

#[test]
fn s3_and_connection_sources_get_scoped_roles() {
    use cairn_constructs::s3::{Bucket, BucketProps};
    let mut app = App::new();
    let stack = env_stack(&mut app);
    let uploads = Bucket::new(
        &mut app,
        stack,
        "Uploads",
        BucketProps {
            event_bridge_enabled: true,
            ..BucketProps::default()
        },
    )
    .unwrap();
    let pipeline = Pipeline::new(&mut app, stack, "Pipeline", PipelineProps::default()).unwrap();
    pipeline.add_stage(&mut app, "Source").unwrap();
    pipeline
        .add_action(
            &mut app,
            "Source",
            Action::new(
                "Zip",
                ActionKind::S3Source {
                    bucket: uploads,
                    key: "app.zip".into(),
                    output: Artifact::new("Src"),
                    trigger: SourceTrigger::Events,
                },
            ),
        )
        .unwrap();
    let connection = "arn:aws:codeconnections:eu-west-1:111111111111:connection/abc";
    pipeline
        .add_action(
            &mut app,
            "Source",
            Action::new(
                "GitHub",
                ActionKind::CodeStarConnectionSource {
                    connection_arn: connection.into(),
                    repository: "owner/repo".into(),
                    branch: "main".into(),
                    output: Artifact::new("Gh"),
                    trigger: SourceTrigger::Events,
                },
            ),
        )
        .unwrap();
    deploy(&pipeline, &mut app, "Deploy", None);
    let t = synth_clean(app, "Ci", &[], "codepipeline-sources");
    // The S3 source role reads that object; the rule matches that bucket and key.
    let zip = statements_of(&t, "PipelineSourceZip");
    assert!(zip.iter().any(|s| s["Resource"].to_string().contains("/app.zip")));
    let (_, rule) = of_type(&t, "AWS::Events::Rule")[0];
    let detail = &rule["Properties"]["EventPattern"]["detail"];
    assert_eq!(detail["object"]["key"], json!(["app.zip"]));
    assert!(detail["bucket"]["name"][0]["Ref"]
        .as_str()
        .unwrap()
        .starts_with("Uploads"));
    // The connection source role may use that connection only.
    let gh = statements_of(&t, "PipelineSourceGitHub");
    let use_connection = gh
        .iter()
        .find(|s| s["Action"].to_string().contains("UseConnection"))
        .expect("use connection");
    assert_eq!(use_connection["Resource"], connection);
    let (_, p) = of_type(&t, "AWS::CodePipeline::Pipeline")[0];
    let gh_action = &p["Properties"]["Stages"][0]["Actions"][1];
    assert_eq!(gh_action["Configuration"]["FullRepositoryId"], "owner/repo");
    assert_eq!(gh_action["Configuration"]["DetectChanges"], true);
}
