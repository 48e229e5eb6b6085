//! The cairn example apps. Each module builds one app; each binary in `src/bin` runs
//! one of them through the app command line (`synth`, `list`), and `synth-tests`
//! snapshots their templates.

#![warn(missing_docs)]

pub mod ami_tracker;
pub mod aspects_demo;
pub mod bench_app;
pub mod data_lake;
pub mod ecs_fargate_spot;
pub mod eks_jenkins;
#[path = "../hello/src/app.rs"]
pub mod hello;
pub mod pipelines;
pub mod stack_manager;
pub mod stackset_healing;
pub mod web_jobnet;

/// The reasons a system gives for the checkov checks that do not apply to it: each
/// `(check id, reason)` is suppressed on `node` and everything below it
/// ([`cairn::aspects::Suppressions`]), and written as checkov's `skip` with the reason on
/// the resources the check reads once the recommended rules run.
pub(crate) fn answer_checks(
    app: &mut cairn::App,
    node: impl Into<cairn::NodeId>,
    checks: &[(&str, &str)],
) -> cairn::Result<()> {
    let node = node.into();
    for (id, reason) in checks {
        cairn::aspects::Suppressions::of(app, node).add(id, reason)?;
    }
    Ok(())
}

/// Reasons shared by the examples' Lambda functions, for the checks that ask every
/// function for a VPC, a reserved concurrency and a customer-managed key on its
/// environment.
pub(crate) mod lambda_reasons {
    /// CKV_AWS_117: Lambda inside a VPC.
    pub const OUTSIDE_VPC: &str = "Lambda outside a VPC: it calls only public AWS API endpoints with its IAM role and reaches no private network resource; a VPC would add NAT gateway or interface endpoint cost and no access control IAM does not already give";
    /// CKV_AWS_115: reserved concurrency.
    pub const NO_RESERVED_CONCURRENCY: &str = "No reserved concurrency: invocations are bounded by the trigger (a workflow step, a schedule or a notification, a handful at a time); a reservation would only carve capacity out of the account's shared regional pool";
    /// CKV_AWS_173: environment variables encrypted with a CMK.
    pub const ENV_WITHOUT_CMK: &str = "The environment holds only resource names, ARNs and settings, never a secret (secrets are read from Secrets Manager at run time); Lambda encrypts it at rest with the AWS managed key, and a customer-managed key would add cost and a key policy without protecting anything confidential";
}

/// A dead-letter queue for a function invoked asynchronously (by a schedule, an
/// EventBridge rule, an SNS topic or an S3 notification): the events Lambda gives up on
/// after its retries, kept 14 days for inspection and redrive.
pub(crate) fn dead_letter_queue(
    app: &mut cairn::App,
    scope: impl Into<cairn::NodeId>,
    id: &str,
) -> cairn::Result<cairn::sqs::Queue> {
    cairn::sqs::Queue::new(
        app,
        scope,
        id,
        cairn::sqs::QueueProps {
            retention_period: Some(std::time::Duration::from_secs(14 * 24 * 3600)),
            ..cairn::sqs::QueueProps::default()
        },
    )
}

/// Answers checkov's S3 access-logging check (CKV_AWS_18) for a CDK-style pipeline's own
/// buckets: its artifact store and the replication buckets of its cross-region support
/// stacks. Call it after the pipeline's waves are added (they make the support stacks).
pub(crate) fn answer_pipeline_checks(
    app: &mut cairn::App,
    pipeline: &cairn::pipelines::Pipeline,
) -> cairn::Result<()> {
    const ARTIFACTS: &str = "The pipeline's artifact store: objects are written and read only by the pipeline's and its actions' roles through its KMS key, and each execution's inputs and outputs are recorded in the pipeline's execution history and in CloudTrail; server access logs would repeat that in another bucket";
    let codepipeline = pipeline.codepipeline();
    answer_checks(
        app,
        codepipeline.artifact_bucket().node(),
        &[("CKV_AWS_18", ARTIFACTS)],
    )?;
    for stack in codepipeline.support_stacks(app) {
        answer_checks(app, stack, &[("CKV_AWS_18", ARTIFACTS)])?;
    }
    Ok(())
}
