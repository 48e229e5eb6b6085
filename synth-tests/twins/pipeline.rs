//! Twin pair `pipeline` (cairn side of `pipeline.js`): a CodePipeline whose source is a
//! zip in a versioned S3 bucket, built by a CodeBuild project, deployed through a
//! CloudFormation change set (create, then execute).

use cairn::codebuild::{BuildSpec, Project, ProjectProps};
use cairn::codepipeline::{
    Action, ActionKind, Artifact, ArtifactPath, Pipeline, PipelineProps, SourceTrigger,
};
use cairn::s3::{Bucket, BucketProps};
use cairn::App;

pub fn build() -> cairn::Result<App> {
    let mut app = App::new();
    let stack = app.stack("Pipeline")?;

    let sources = Bucket::new(&mut app, stack, "Sources", BucketProps::default())?;
    let build = Project::new(
        &mut app,
        stack,
        "Build",
        ProjectProps::new(
            BuildSpec::new()
                .build(["make template"])
                .artifacts(".", ["template.json"]),
        ),
    )?;

    let source = Artifact::new("Source");
    let built = Artifact::new("Built");
    let pipeline = Pipeline::new(&mut app, stack, "Pipeline", PipelineProps::default())?;
    pipeline.add_stage(&mut app, "Source")?;
    pipeline.add_action(
        &mut app,
        "Source",
        Action::new(
            "Zip",
            ActionKind::S3Source {
                bucket: sources,
                key: "app.zip".into(),
                output: source.clone(),
                trigger: SourceTrigger::Poll,
            },
        ),
    )?;
    pipeline.add_stage(&mut app, "Build")?;
    pipeline.add_action(
        &mut app,
        "Build",
        Action::new(
            "Build",
            ActionKind::CodeBuild {
                project: build,
                input: source,
                extra_inputs: vec![],
                outputs: vec![built.clone()],
                environment_variables: Default::default(),
                test: false,
            },
        ),
    )?;
    pipeline.add_stage(&mut app, "Deploy")?;
    pipeline.add_action(
        &mut app,
        "Deploy",
        Action::new(
            "Prepare",
            ActionKind::CloudFormationCreateReplaceChangeSet {
                stack_name: "App".into(),
                change_set_name: "PipelineChange".into(),
                template_path: ArtifactPath::new(&built, "template.json"),
                deployment_role: None,
                capabilities: vec![],
            },
        )
        .run_order(1),
    )?;
    pipeline.add_action(
        &mut app,
        "Deploy",
        Action::new(
            "Deploy",
            ActionKind::CloudFormationExecuteChangeSet {
                stack_name: "App".into(),
                change_set_name: "PipelineChange".into(),
            },
        )
        .run_order(2),
    )?;
    Ok(app)
}
