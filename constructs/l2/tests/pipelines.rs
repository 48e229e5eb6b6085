//! pipelines::Pipeline: stage order, waves in parallel, stages independent, stacks in
//! dependency order, steps, errors.

mod common;
use common::{of_type, toolchain};

use cairn_constructs::pipelines::{Pipeline, PipelineProps, Source, StageOptions, Step};
use cairn_core::{App, Environment, StackProps, Stage};
use serde_json::Value as Json;

/// A stage with a `Network` stack and an `App` stack that references it.
fn app_stage(app: &mut App, name: &str, account: &str) -> Stage {
    let stage = app
        .stage(app.root(), name, Environment::new(account, "eu-west-1"))
        .unwrap();
    let network = app.stack_with(stage, "Network", StackProps::default()).unwrap();
    let topic = app
        .add(network, "Topic", cairn_cfn::sns::CfnTopic::default())
        .unwrap();
    let svc = app.stack_with(stage, "Service", StackProps::default()).unwrap();
    let param =
        cairn_cfn::ssm::CfnParameter::new(cairn_cfn::ssm::parameter::Type::String, topic.attr_topic_arn());
    app.add(svc, "TopicArn", param).unwrap();
    stage
}

fn stages(app: &mut App) -> Vec<Json> {
    let asm = app.synth().unwrap();
    let t = &asm.stack("Toolchain").unwrap().template;
    let (_, p) = of_type(t, "AWS::CodePipeline::Pipeline")[0];
    p["Properties"]["Stages"].as_array().unwrap().clone()
}

fn actions<'a>(stages: &'a [Json], name: &str) -> &'a Vec<Json> {
    stages.iter().find(|s| s["Name"] == name).unwrap()["Actions"]
        .as_array()
        .unwrap()
}

#[test]
fn stages_of_a_wave_deploy_in_parallel_and_independently() {
    let mut app = App::new();
    let stack = toolchain(&mut app);
    let a = app_stage(&mut app, "EuA", "222222222222");
    let b = app_stage(&mut app, "EuB", "333333333333");
    let pipeline = Pipeline::new(
        &mut app,
        stack,
        "Pipeline",
        PipelineProps::new(Source::codecommit("repo", "main"), "app"),
    )
    .unwrap();
    let wave = pipeline.add_wave(&mut app, "Prod").unwrap();
    let da = wave.add_stage(&mut app, a).unwrap();
    let db = wave.add_stage(&mut app, b).unwrap();
    // Network before Service within a stage.
    assert_eq!(
        da.stacks
            .iter()
            .map(|s| (s.stack_name.as_str(), s.depth))
            .collect::<Vec<_>>(),
        [("EuA-Network", 0), ("EuA-Service", 1)]
    );
    let path = &db.stacks[1].template_path;
    assert!(
        path.starts_with("assembly-EuB/EuBService") && path.ends_with(".template.json"),
        "{path}"
    );
    let s = stages(&mut app);
    let prod = actions(&s, "Prod");
    let order = |name: &str| {
        prod.iter()
            .find(|x| x["Name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["RunOrder"]
            .as_i64()
            .unwrap()
    };
    for stack in ["Network", "Service"] {
        // The same run orders in both stages: they run side by side.
        assert_eq!(
            order(&format!("EuA.{stack}.Prepare")),
            order(&format!("EuB.{stack}.Prepare"))
        );
        assert_eq!(
            order(&format!("EuA.{stack}.Deploy")),
            order(&format!("EuB.{stack}.Deploy"))
        );
        assert!(order(&format!("EuA.{stack}.Prepare")) < order(&format!("EuA.{stack}.Deploy")));
    }
    assert!(order("EuA.Network.Deploy") < order("EuA.Service.Prepare"));
    // Nothing is passed between stages: deploy actions only read the assembly, produce nothing.
    for x in prod {
        assert!(x.get("OutputArtifacts").is_none(), "{x}");
        if let Some(inputs) = x.get("InputArtifacts") {
            assert_eq!(inputs, &serde_json::json!([{"Name": "Synth_Output"}]));
        }
    }
    let names: Vec<&str> = s.iter().map(|x| x["Name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Source", "Build", "UpdatePipeline", "Assets", "Prod"]);
    assert_eq!(actions(&s, "Assets").len(), 2, "one publisher per stage");
}

#[test]
fn pre_and_post_steps_wrap_stages_and_waves() {
    let mut app = App::new();
    let stack = toolchain(&mut app);
    let a = app_stage(&mut app, "Test", "222222222222");
    let pipeline = Pipeline::new(
        &mut app,
        stack,
        "Pipeline",
        PipelineProps::new(Source::codecommit("repo", "main"), "app"),
    )
    .unwrap();
    let wave = pipeline.add_wave(&mut app, "Testing").unwrap();
    wave.add_pre(&mut app, Step::approval("Go")).unwrap();
    wave.add_stage_with(
        &mut app,
        a,
        StageOptions {
            pre: vec![Step::shell("Lint", ["cfn-lint assembly-Test/*.json"])],
            post: vec![Step::shell("Smoke", ["./smoke.sh"]), Step::fis("Chaos", "EXT123")],
        },
    )
    .unwrap();
    wave.add_post(&mut app, Step::approval("Done")).unwrap();
    let s = stages(&mut app);
    let t = actions(&s, "Testing");
    let order = |name: &str| {
        t.iter()
            .find(|x| x["Name"] == name)
            .unwrap_or_else(|| panic!("{name}"))["RunOrder"]
            .as_i64()
            .unwrap()
    };
    assert!(order("Go") < order("Test.Lint"));
    assert!(order("Test.Lint") < order("Test.Network.Prepare"));
    assert!(order("Test.Service.Deploy") < order("Test.Smoke"));
    assert!(order("Test.Smoke") < order("Test.Chaos"));
    assert!(order("Test.Chaos") < order("Done"));
}

#[test]
fn self_mutation_and_asset_publishing_can_be_turned_off_and_trigger_none() {
    let mut app = App::new();
    let stack = toolchain(&mut app);
    let a = app_stage(&mut app, "Dev", "111111111111");
    let pipeline = Pipeline::new(
        &mut app,
        stack,
        "Pipeline",
        PipelineProps {
            self_mutation: false,
            trigger: cairn_constructs::codepipeline::SourceTrigger::None,
            publish_assets: false,
            ..PipelineProps::new(Source::codecommit("repo", "main"), "app")
        },
    )
    .unwrap();
    pipeline
        .add_wave(&mut app, "Dev")
        .unwrap()
        .add_stage(&mut app, a)
        .unwrap();
    let asm = app.synth().unwrap();
    let t = &asm.stack("Toolchain").unwrap().template;
    assert!(of_type(t, "AWS::Events::Rule").is_empty());
    let (_, p) = of_type(t, "AWS::CodePipeline::Pipeline")[0];
    let names: Vec<&str> = p["Properties"]["Stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Source", "Build", "Dev"]);
    // Only the synth project: no asset publisher.
    assert_eq!(of_type(t, "AWS::CodeBuild::Project").len(), 1);
}

#[test]
fn stage_without_stacks_and_late_stages_are_errors() {
    let mut app = App::new();
    let stack = toolchain(&mut app);
    let empty = app
        .stage(app.root(), "Empty", Environment::new("222222222222", "eu-west-1"))
        .unwrap();
    let full = app_stage(&mut app, "Full", "222222222222");
    let pipeline = Pipeline::new(
        &mut app,
        stack,
        "Pipeline",
        PipelineProps::new(Source::codecommit("repo", "main"), "app"),
    )
    .unwrap();
    let wave = pipeline.add_wave(&mut app, "W").unwrap();
    let err = wave.add_stage(&mut app, empty).unwrap_err().to_string();
    assert!(err.contains("the stage \"Empty\" has no stack"), "{err}");
    wave.add_post(&mut app, Step::approval("Ok")).unwrap();
    let err = wave.add_stage(&mut app, full).unwrap_err().to_string();
    assert!(err.contains("after its post steps"), "{err}");
    assert_eq!(err.matches("Pipeline/W").count(), 1, "the path once: {err}");
}

/// A shell step's project role can have a physical name (so a role in another account can
/// trust exactly that step); it carries the step's statements, and the other steps keep
/// their generated role names.
#[test]
fn a_shell_step_can_name_its_project_role() {
    let mut app = App::new();
    let stack = toolchain(&mut app);
    let a = app_stage(&mut app, "Test", "222222222222");
    let pipeline = Pipeline::new(
        &mut app,
        stack,
        "Pipeline",
        PipelineProps::new(Source::codecommit("repo", "main"), "app"),
    )
    .unwrap();
    let wave = pipeline.add_wave(&mut app, "Test").unwrap();
    wave.add_stage(&mut app, a).unwrap();
    let assume = cairn_constructs::iam::PolicyStatement::allow()
        .actions(["sts:AssumeRole"])
        .resource("arn:aws:iam::222222222222:role/smoke");
    wave.add_post(
        &mut app,
        Step::Shell {
            name: "Smoke".into(),
            commands: vec!["./smoke.sh".into()],
            env: Default::default(),
            statements: vec![assume],
            role_name: Some("app-smoke-test".into()),
        },
    )
    .unwrap();
    wave.add_post(&mut app, Step::shell("Other", ["true"])).unwrap();
    let asm = app.synth().unwrap();
    let t = &asm.stack("Toolchain").unwrap().template;
    let project_role = |action: &str| {
        let (_, p) = of_type(t, "AWS::CodeBuild::Project")
            .into_iter()
            .find(|(id, _)| id.contains(action))
            .unwrap_or_else(|| panic!("no project for {action}"));
        p["Properties"]["ServiceRole"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap()
            .to_string()
    };
    let smoke = project_role("Smoke");
    let role = &t["Resources"][&smoke];
    assert_eq!(role["Type"], "AWS::IAM::Role");
    assert_eq!(role["Properties"]["RoleName"], "app-smoke-test");
    assert_eq!(
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "codebuild.amazonaws.com"
    );
    let policies: Vec<String> = of_type(t, "AWS::IAM::Policy")
        .into_iter()
        .filter(|(_, p)| p["Properties"]["Roles"][0]["Ref"] == smoke.as_str())
        .map(|(_, p)| p["Properties"]["PolicyDocument"].to_string())
        .collect();
    assert!(
        policies
            .iter()
            .any(|p| p.contains("arn:aws:iam::222222222222:role/smoke")),
        "{policies:?}"
    );
    let other = project_role("Other");
    assert!(t["Resources"][&other]["Properties"].get("RoleName").is_none());
}

/// The synth project gets the synth step's environment variables (an app that reads
/// them synthesizes the same assembly in the pipeline as where it was deployed from).
#[test]
fn the_synth_step_passes_its_environment_to_the_synth_project() {
    let mut app = App::new();
    let stack = toolchain(&mut app);
    let a = app_stage(&mut app, "Dev", "111111111111");
    let mut props = PipelineProps::new(Source::codecommit("repo", "main"), "app");
    props.synth.env.insert("TENANT_ID".into(), "tenant-c".into());
    props.synth.env.insert("TENANT_TYPE".into(), "silo".into());
    let pipeline = Pipeline::new(&mut app, stack, "Pipeline", props).unwrap();
    pipeline
        .add_wave(&mut app, "Dev")
        .unwrap()
        .add_stage(&mut app, a)
        .unwrap();
    let asm = app.synth().unwrap();
    let t = &asm.stack("Toolchain").unwrap().template;
    let synth_id = t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, r)| {
            r["Type"] == "AWS::CodeBuild::Project"
                && r["Properties"]["Description"] == "Builds the cairn app and synthesizes its cloud assembly"
        })
        .map(|(id, _)| id.clone())
        .expect("the synth project");
    let vars = &t["Resources"][&synth_id]["Properties"]["Environment"]["EnvironmentVariables"];
    assert_eq!(
        vars,
        &serde_json::json!([
            { "Name": "TENANT_ID", "Type": "PLAINTEXT", "Value": "tenant-c" },
            { "Name": "TENANT_TYPE", "Type": "PLAINTEXT", "Value": "silo" }
        ])
    );
}
