//! Integration tests: deploy an app's stacks, drive the system as its users do, assert on
//! what the AWS APIs then return, and destroy the stacks (the role of the CDK's
//! `integ-runner` and `@aws-cdk/integ-tests-alpha`).
//!
//! An [`IntegCase`] names the stacks of a synthesized app. [`IntegCase::run`] deploys them
//! through the toolkit's own deploy (bootstrapping the environment first when the target is
//! a local endpoint), hands an [`IntegRun`] to the test's steps and assertions, then
//! destroys the stacks whatever happened, and returns the [`Report`]: each step run, each
//! assertion with its result, and what the local environment could not run (the test
//! says so with [`IntegRun::not_run_locally`]; nothing is skipped silently).
//!
//! The same test runs against a local endpoint (`AWS_ENDPOINT_URL`, e.g. the environment
//! `scripts/integ` starts: moto with Lambda handlers and state machines executed) and
//! against a real account (the standard credential chain, no endpoint). Assertions poll
//! until they hold or [`IntegCase::timeout`] passes, since real deliveries are
//! asynchronous.
//!
//! ```no_run
//! use cairn_toolkit::integ::{Expected, IntegCase, Probe};
//! use serde_json::json;
//!
//! # async fn example(assembly: &cairn_core::CloudAssembly) -> Result<(), cairn_toolkit::integ::IntegError> {
//! let report = IntegCase::from_assembly("hello", assembly)?
//!     .stacks(["HelloProducer", "HelloConsumer"])
//!     .run(async |run: &mut cairn_toolkit::integ::IntegRun| {
//!         let topic = run.output("HelloConsumer", "TopicArn")?;
//!         run.publish(&topic, r#"{"hello": "world"}"#).await?;
//!         let queue = run.physical_id("HelloProducer", "Queue").await?;
//!         run.expect("the message reaches the queue", Probe::queue_depth(queue), Expected::like(json!({"visible": 1})))
//!             .await?;
//!         Ok(())
//!     })
//!     .await?;
//! assert!(report.passed());
//! # Ok(()) }
//! ```

mod calls;
mod http;
mod probe;
mod report;
mod webhook;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ssm::types::ResourceTypeForTagging;
use serde_json::{json, Value};

pub use calls::AwsCall;
pub use http::{HttpRequest, HttpResponse};
pub use probe::{Expected, Probe};
pub use report::{Entry, Report};

use crate::{AwsOptions, BootstrapArgs, Command, DeployArgs, DeployMethod, DestroyArgs, RequireApproval};

/// What can go wrong in an integration test: each message names the case and what to do.
#[derive(Debug, thiserror::Error)]
pub enum IntegError {
    /// The toolkit could not deploy, bootstrap or destroy.
    #[error("integ {case}: {action} failed: {source}")]
    Toolkit {
        /// The case.
        case: String,
        /// `deploy`, `destroy` or `bootstrap`.
        action: &'static str,
        /// The toolkit's error.
        #[source]
        source: Box<crate::Error>,
    },
    /// The assembly could not be written or a file read.
    #[error("integ {case}: {path}: {message}")]
    Io {
        /// The case.
        case: String,
        /// The file or directory.
        path: PathBuf,
        /// What happened.
        message: String,
    },
    /// A stack output the test asked for does not exist.
    #[error(
        "integ {case}: stack {stack} has no output {key} (it has: {known}); add it with `app.output(...)`"
    )]
    MissingOutput {
        /// The case.
        case: String,
        /// The stack.
        stack: String,
        /// The output's key.
        key: String,
        /// The outputs it has.
        known: String,
    },
    /// An AWS call of a step or a probe failed.
    #[error("integ {case}: {call} failed: {message}")]
    Call {
        /// The case.
        case: String,
        /// The call (`sns:Publish topic-arn` ...).
        call: String,
        /// The service's answer.
        message: String,
    },
    /// An assertion did not hold within the case's timeout.
    #[error("integ {case}: \"{label}\" did not hold within {waited:?}: {detail}")]
    Assertion {
        /// The case.
        case: String,
        /// The assertion's label.
        label: String,
        /// What was read, what was expected, and the last value read.
        detail: String,
        /// How long it was polled.
        waited: Duration,
    },
    /// The case ran, but something failed: the report says what.
    #[error("integ {case} failed: {summary}")]
    Failed {
        /// The case.
        case: String,
        /// The report's summary line and the first failure.
        summary: String,
        /// The whole report.
        report: Box<Report>,
    },
}

type Result<T, E = IntegError> = std::result::Result<T, E>;

/// Where the test runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A local endpoint (every call goes there): moto, or the environment `scripts/integ`
    /// starts.
    Local {
        /// The endpoint URL.
        endpoint: String,
    },
    /// The account and region of the standard credential chain.
    Account,
}

impl Target {
    /// `Local` when `AWS_ENDPOINT_URL` is set, else `Account`.
    pub fn from_env() -> Self {
        match std::env::var("AWS_ENDPOINT_URL") {
            Ok(e) if !e.is_empty() => Target::Local { endpoint: e },
            _ => Target::Account,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Local { endpoint } => write!(f, "local ({endpoint})"),
            Target::Account => f.write_str("AWS account (credential chain)"),
        }
    }
}

/// One test case: which stacks of which assembly, with which parameters.
#[derive(Debug, Clone)]
pub struct IntegCase {
    name: String,
    assembly_dir: PathBuf,
    _written: Option<std::sync::Arc<TempDir>>,
    stacks: Vec<String>,
    parameters: Vec<String>,
    target: Target,
    bootstrap: Option<bool>,
    access_role: Option<String>,
    timeout: Duration,
}

impl IntegCase {
    /// A case on the assembly already synthesized into `assembly_dir`.
    pub fn new(name: impl Into<String>, assembly_dir: impl Into<PathBuf>) -> Self {
        let target = Target::from_env();
        IntegCase {
            name: name.into(),
            assembly_dir: assembly_dir.into(),
            _written: None,
            stacks: Vec::new(),
            parameters: Vec::new(),
            timeout: default_timeout(&target),
            target,
            bootstrap: None,
            access_role: None,
        }
    }

    /// A case on a synthesized app (`app.synth()?`), written into a temporary directory
    /// that lives as long as the case.
    pub fn from_assembly(name: impl Into<String>, assembly: &cairn_core::CloudAssembly) -> Result<Self> {
        let name = name.into();
        let dir = TempDir::new(&name).map_err(|(path, message)| IntegError::Io {
            case: name.clone(),
            path,
            message,
        })?;
        let out = dir.0.join("cdk.out");
        assembly
            .write(&out, cairn_core::TemplateFormat::Json)
            .map_err(|e| IntegError::Io {
                case: name.clone(),
                path: out.clone(),
                message: e.to_string(),
            })?;
        let mut case = IntegCase::new(name, out);
        case._written = Some(std::sync::Arc::new(dir));
        Ok(case)
    }

    /// The stacks to deploy (artifact ids or names), only these, in dependency order.
    pub fn stacks<I, S>(mut self, stacks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.stacks.extend(stacks.into_iter().map(Into::into));
        self
    }

    /// A stack parameter's value at deploy.
    pub fn parameter(mut self, stack: &str, key: &str, value: impl fmt::Display) -> Self {
        self.parameters.push(format!("{stack}:{key}={value}"));
        self
    }

    /// Where to run (default: [`Target::from_env`]).
    pub fn target(mut self, target: Target) -> Self {
        self.timeout = default_timeout(&target);
        self.target = target;
        self
    }

    /// Bootstrap the stacks' environments before deploying (default: only on a local
    /// target, whose state starts empty; an account is bootstrapped once by its owner).
    pub fn bootstrap(mut self, bootstrap: bool) -> Self {
        self.bootstrap = Some(bootstrap);
        self
    }

    /// Reach the stacks' account, when it is not the caller's, through this role (its name:
    /// e.g. `OrganizationAccountAccessRole`, which AWS Organizations makes in each member
    /// account). The case bootstraps that account as the role, trusting the caller's
    /// account (the deploy then goes through the bootstrap deploy role, as a pipeline's
    /// does), and the run's steps, probes and calls act in that account, as the role.
    /// The case's stacks must name one account.
    pub fn access_role(mut self, role_name: impl Into<String>) -> Self {
        self.access_role = Some(role_name.into());
        self
    }

    /// How long an assertion polls before it fails (default: 20 s locally, 5 min in an
    /// account).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The case's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Deploys the stacks, runs `drive` on them, destroys them (also when `drive` failed)
    /// and returns the report. An error of `drive`, a failed assertion or a failed destroy
    /// make it [`IntegError::Failed`], with the report.
    pub async fn run<F>(self, drive: F) -> Result<Report>
    where
        F: AsyncFnOnce(&mut IntegRun) -> Result<()>,
    {
        let (case, target) = (self.name.clone(), self.target.to_string());
        // Boxed: the toolkit's futures are deep, and a test's future holds them.
        let mut run = match Box::pin(self.deploy()).await {
            Ok(run) => run,
            Err(e) => {
                let report = Report {
                    case,
                    target,
                    entries: vec![Entry::Error(e.to_string())],
                };
                eprintln!("{report}");
                report.append_to_summary_file();
                return Err(e);
            }
        };
        let outcome = drive(&mut run).await;
        Box::pin(run.finish(outcome)).await
    }

    /// Deploys the stacks (bootstrapping first when asked), and returns the run. Prefer
    /// [`IntegCase::run`], which always destroys; with this, call [`IntegRun::finish`].
    pub async fn deploy(self) -> Result<IntegRun> {
        let started = Instant::now();
        let aws = AwsOptions {
            endpoint_url: match &self.target {
                Target::Local { endpoint } => Some(endpoint.clone()),
                Target::Account => None,
            },
            ..AwsOptions::default()
        };
        let local = matches!(self.target, Target::Local { .. });
        let mut report = Report {
            case: self.name.clone(),
            target: self.target.to_string(),
            entries: Vec::new(),
        };
        let assembly = crate::assembly::Assembly::load(&self.assembly_dir).ok();
        let environments: Vec<String> = assembly
            .iter()
            .flat_map(|a| self.selected(a))
            .filter_map(|s| Some(format!("aws://{}/{}", s.account.as_ref()?, s.region.as_ref()?)))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let role_arn = self.access_role_arn(&aws, &environments).await?;
        if self.bootstrap.unwrap_or(local) {
            let mut args = BootstrapArgs {
                environments: environments.clone(),
                toolkit_stack_name: crate::bootstrap::TOOLKIT_STACK.to_string(),
                aws: AwsOptions {
                    role_arn: role_arn.as_ref().map(|(role, _)| role.clone()),
                    ..aws.clone()
                },
                ..BootstrapArgs::default()
            };
            if let Some((_, caller)) = &role_arn {
                // The caller deploys through the bootstrap roles, as a trusted account.
                args.trust = vec![caller.clone()];
                args.execution_policies = vec![format!(
                    "arn:{}:iam::aws:policy/AdministratorAccess",
                    partition_of(&environments)
                )];
            }
            Box::pin(crate::commands::run(&self.assembly_dir, Command::Bootstrap(args)))
                .await
                .map_err(|source| self.toolkit("bootstrap", source))?;
            report
                .entries
                .push(Entry::Step("bootstrap the environment".into()));
        }
        let outputs_file = self.assembly_dir.join("integ-outputs.json");
        let args = DeployArgs {
            stacks: self.stacks.clone(),
            all: self.stacks.is_empty(),
            exclusively: true,
            concurrency: 1,
            require_approval: RequireApproval::Never,
            parameters: self.parameters.clone(),
            outputs_file: Some(outputs_file.clone()),
            // Through a change set, as users deploy (the local environment gives a stack made
            // by one its outputs and exports, which plain moto does not).
            method: DeployMethod::ChangeSet,
            aws: aws.clone(),
            ..DeployArgs::default()
        };
        let label = format!("deploy {}", self.stacks_label());
        let deployed = Box::pin(crate::commands::run(&self.assembly_dir, Command::Deploy(args))).await;
        let mut config = load_config(&aws, assembly.as_ref().and_then(|a| self.region_of(a))).await;
        if let Some((role, _)) = &role_arn {
            config = crate::aws::assumed(&config, role).await;
        }
        let mut run = IntegRun {
            case: self,
            assembly,
            config,
            aws,
            outputs: BTreeMap::new(),
            captures: Vec::new(),
            webhooks: Vec::new(),
            report,
            started,
        };
        if let Err(source) = deployed {
            // Whatever was created goes again.
            let error = run.case.toolkit("deploy", source);
            let _ = run.destroy().await;
            return Err(error);
        }
        run.report.entries.push(Entry::Step(label));
        let text = std::fs::read_to_string(&outputs_file).map_err(|e| IntegError::Io {
            case: run.case.name.clone(),
            path: outputs_file.clone(),
            message: e.to_string(),
        })?;
        run.outputs = serde_json::from_str(&text).map_err(|e| IntegError::Io {
            case: run.case.name.clone(),
            path: outputs_file,
            message: format!("not the outputs JSON: {e}"),
        })?;
        Ok(run)
    }

    /// The access role's ARN in the stacks' account and the caller's account, when an
    /// access role is set and the stacks' account is not the caller's.
    async fn access_role_arn(
        &self,
        aws: &AwsOptions,
        environments: &[String],
    ) -> Result<Option<(String, String)>> {
        let Some(name) = &self.access_role else {
            return Ok(None);
        };
        let accounts: std::collections::BTreeSet<_> = environments
            .iter()
            .filter_map(|e| crate::assembly::parse_environment(e).0)
            .collect();
        let [account] =
            accounts
                .into_iter()
                .collect::<Vec<_>>()
                .try_into()
                .map_err(|found: Vec<_>| IntegError::Call {
                    case: self.name.clone(),
                    call: format!("reach the stacks' account through {name}"),
                    message: format!(
                    "the stacks must name one account, they name {}: give the case the stacks of one account",
                    if found.is_empty() { "none".to_string() } else { found.join(", ") }
                ),
                })?;
        let config = load_config(aws, None).await;
        let call = "sts:GetCallerIdentity".to_string();
        let caller = aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| IntegError::Call {
                case: self.name.clone(),
                call: call.clone(),
                message: error_chain(&e),
            })?
            .account
            .unwrap_or_default();
        Ok((caller != account).then(|| {
            let partition = partition_of(environments);
            (format!("arn:{partition}:iam::{account}:role/{name}"), caller)
        }))
    }

    fn toolkit(&self, action: &'static str, source: crate::Error) -> IntegError {
        IntegError::Toolkit {
            case: self.name.clone(),
            action,
            source: Box::new(source),
        }
    }

    /// The case's stacks, as the assembly has them.
    fn selected<'a>(&self, assembly: &'a crate::assembly::Assembly) -> Vec<&'a crate::assembly::Stack> {
        assembly
            .stacks
            .iter()
            .filter(|s| {
                self.stacks.is_empty()
                    || self
                        .stacks
                        .iter()
                        .any(|n| *n == s.artifact_id || *n == s.stack_name)
            })
            .collect()
    }

    /// The region every stack of the case deploys to, when their environments name one and
    /// the same: the run's calls go there (else to the configured region).
    fn region_of(&self, assembly: &crate::assembly::Assembly) -> Option<String> {
        let regions: std::collections::BTreeSet<Option<&String>> = self
            .selected(assembly)
            .iter()
            .map(|s| s.region.as_ref())
            .collect();
        match regions.into_iter().collect::<Vec<_>>().as_slice() {
            [Some(region)] => Some((*region).clone()),
            _ => None,
        }
    }

    fn stacks_label(&self) -> String {
        if self.stacks.is_empty() {
            "every stack".into()
        } else {
            self.stacks.join(", ")
        }
    }
}

/// The partition of the environments' regions (`aws` when they name none).
fn partition_of(environments: &[String]) -> &'static str {
    environments
        .iter()
        .find_map(|e| crate::assembly::parse_environment(e).1)
        .map_or("aws", |r| cairn_core::Partition::of_region(&r).name())
}

fn default_timeout(target: &Target) -> Duration {
    match target {
        Target::Local { .. } => Duration::from_secs(20),
        Target::Account => Duration::from_secs(300),
    }
}

async fn load_config(aws: &AwsOptions, region: Option<String>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(e) = &aws.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region));
    }
    loader.load().await
}

/// A deployed case: the steps and assertions of a test call its methods; each is recorded
/// in the [`Report`].
pub struct IntegRun {
    case: IntegCase,
    assembly: Option<crate::assembly::Assembly>,
    config: SdkConfig,
    aws: AwsOptions,
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// Queues (URL) and their subscriptions (ARN) made by [`IntegRun::capture_topic`],
    /// deleted before the stacks.
    captures: Vec<(String, String)>,
    /// Receivers made by [`IntegRun::webhook`], stopped with the run.
    webhooks: Vec<webhook::Receiver>,
    report: Report,
    started: Instant,
}

impl fmt::Debug for IntegRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntegRun")
            .field("case", &self.case.name)
            .field("outputs", &self.outputs)
            .finish_non_exhaustive()
    }
}

impl IntegRun {
    /// Whether the target is a local endpoint.
    pub fn is_local(&self) -> bool {
        matches!(self.case.target, Target::Local { .. })
    }

    /// A deployed stack's output.
    pub fn output(&self, stack: &str, key: &str) -> Result<String> {
        let outputs = self.outputs.get(stack);
        outputs
            .and_then(|o| o.get(key))
            .cloned()
            .ok_or_else(|| IntegError::MissingOutput {
                case: self.case.name.clone(),
                stack: stack.into(),
                key: key.into(),
                known: outputs
                    .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "none".into()),
            })
    }

    /// The AWS configuration the run uses (region, credentials, endpoint), for calls the
    /// steps here do not offer.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// Records what the local environment cannot run, and how the test stands in for it
    /// (e.g. "Run Command runs nothing: the test sends the command's status event"). Only
    /// recorded on a local target; the report lists each.
    pub fn not_run_locally(&mut self, what: impl Into<String>) {
        if self.is_local() {
            self.report.entries.push(Entry::NotRunLocally(what.into()));
        }
    }

    /// A receiver on this machine for what the system posts out (a Slack incoming webhook,
    /// any HTTP callback): returns its URL (`http://127.0.0.1:PORT/hook`) to configure the
    /// system with; [`Probe::webhook`] reads what it received. Only the local environment's
    /// handlers, which run on this machine, can reach it: against an account it is an error.
    pub async fn webhook(&mut self) -> Result<String> {
        if !self.is_local() {
            return Err(IntegError::Call {
                case: self.case.name.clone(),
                call: "webhook receiver".into(),
                message:
                    "a receiver on this machine is reachable from the local environment only; against an \
                          account, point the system at an endpoint of your own"
                        .into(),
            });
        }
        let receiver = webhook::Receiver::start("/hook")
            .await
            .map_err(|e| self.call_error("webhook receiver".into(), e))?;
        let url = receiver.url().to_string();
        self.step(format!("listen for webhook posts at {url}"));
        self.webhooks.push(receiver);
        Ok(url)
    }

    /// Records a step the test performed itself (through [`IntegRun::sdk_config`]).
    pub fn step(&mut self, what: impl Into<String>) {
        self.report.entries.push(Entry::Step(what.into()));
    }

    fn call_error(&self, call: String, e: impl std::error::Error) -> IntegError {
        IntegError::Call {
            case: self.case.name.clone(),
            call,
            message: error_chain(&e),
        }
    }

    /// Publishes `message` to an SNS topic; returns the message id.
    pub async fn publish(&mut self, topic_arn: &str, message: &str) -> Result<String> {
        let call = format!("sns:Publish {topic_arn}");
        let out = aws_sdk_sns::Client::new(&self.config)
            .publish()
            .topic_arn(topic_arn)
            .message(message)
            .send()
            .await
            .map_err(|e| self.call_error(call.clone(), e))?;
        self.report.entries.push(Entry::Step(call));
        Ok(out.message_id().unwrap_or_default().to_string())
    }

    /// Subscribes a queue the run creates to an SNS topic (raw delivery; the queue's policy
    /// lets the topic alone send) and returns the queue's URL, so a test reads what the
    /// topic publishes ([`Probe::queue_depth`]); the queue and its subscription are deleted
    /// when the run finishes, before the stacks.
    pub async fn capture_topic(&mut self, topic_arn: &str) -> Result<String> {
        let call = format!("capture {topic_arn}");
        let fail = |message: String| IntegError::Call {
            case: self.case.name.clone(),
            call: call.clone(),
            message,
        };
        let sqs = aws_sdk_sqs::Client::new(&self.config);
        let stem: String = self
            .case
            .name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(40)
            .collect();
        let name = format!("integ-{stem}-capture-{}", self.captures.len() + 1);
        let url = sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?
            .queue_url()
            .map(str::to_string)
            .ok_or_else(|| fail("CreateQueue returned no URL".into()))?;
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::QueueArn)
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?
            .attributes()
            .and_then(|a| a.get(&A::QueueArn).cloned())
            .ok_or_else(|| fail("the queue has no ARN".into()))?;
        let policy = json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage", "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]});
        sqs.set_queue_attributes()
            .queue_url(&url)
            .attributes(A::Policy, policy.to_string())
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?;
        let subscription = aws_sdk_sns::Client::new(&self.config)
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(&arn)
            .attributes("RawMessageDelivery", "true")
            .return_subscription_arn(true)
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?
            .subscription_arn()
            .map(str::to_string)
            .unwrap_or_default();
        self.captures.push((url.clone(), subscription));
        self.report.entries.push(Entry::Step(call));
        Ok(url)
    }

    /// Deletes what [`IntegRun::capture_topic`] made; returns what could not be deleted.
    async fn release_captures(&mut self) -> Vec<String> {
        let mut errors = Vec::new();
        let sns = aws_sdk_sns::Client::new(&self.config);
        let sqs = aws_sdk_sqs::Client::new(&self.config);
        for (url, subscription) in std::mem::take(&mut self.captures) {
            if !subscription.is_empty() {
                if let Err(e) = sns.unsubscribe().subscription_arn(&subscription).send().await {
                    errors.push(format!("unsubscribe {subscription}: {}", error_chain(&e)));
                }
            }
            if let Err(e) = sqs.delete_queue().queue_url(&url).send().await {
                errors.push(format!("delete the capture queue {url}: {}", error_chain(&e)));
            }
        }
        errors
    }

    /// Sends a message to an SQS queue; returns the message id.
    pub async fn send_message(&mut self, queue_url: &str, body: &str) -> Result<String> {
        let call = format!("sqs:SendMessage {queue_url}");
        let out = aws_sdk_sqs::Client::new(&self.config)
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| self.call_error(call.clone(), e))?;
        self.report.entries.push(Entry::Step(call));
        Ok(out.message_id().unwrap_or_default().to_string())
    }

    /// Puts an object into a bucket.
    pub async fn put_object(&mut self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) -> Result<()> {
        let call = format!("s3:PutObject s3://{bucket}/{key}");
        aws_sdk_s3::Client::new(&self.config)
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.into().into())
            .send()
            .await
            .map_err(|e| self.call_error(call.clone(), e))?;
        self.report.entries.push(Entry::Step(call));
        Ok(())
    }

    /// Deletes an object from a bucket (e.g. to empty a retained bucket).
    pub async fn delete_object(&mut self, bucket: &str, key: &str) -> Result<()> {
        let call = format!("s3:DeleteObject s3://{bucket}/{key}");
        aws_sdk_s3::Client::new(&self.config)
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| self.call_error(call.clone(), e))?;
        self.report.entries.push(Entry::Step(call));
        Ok(())
    }

    /// Puts an event on the default EventBridge bus (e.g. the event a service would emit
    /// that the local environment does not run).
    pub async fn put_event(&mut self, source: &str, detail_type: &str, detail: &Value) -> Result<()> {
        let call = format!("events:PutEvents {source} \"{detail_type}\"");
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source(source)
            .detail_type(detail_type)
            .detail(detail.to_string())
            .build();
        let out = aws_sdk_eventbridge::Client::new(&self.config)
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| self.call_error(call.clone(), e))?;
        if out.failed_entry_count() > 0 {
            let why = out
                .entries()
                .iter()
                .filter_map(|e| e.error_message())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(IntegError::Call {
                case: self.case.name.clone(),
                call,
                message: format!("the event was refused: {why}"),
            });
        }
        self.report.entries.push(Entry::Step(call));
        Ok(())
    }

    /// The physical id of a deployed stack's resource, by its logical id (e.g. a queue's
    /// URL, a table's name), for resources the stack has no output of.
    pub async fn physical_id(&self, stack: &str, logical_id: &str) -> Result<String> {
        let call = format!("cloudformation:DescribeStackResource {stack} {logical_id}");
        let out = aws_sdk_cloudformation::Client::new(&self.config)
            .describe_stack_resource()
            .stack_name(stack)
            .logical_resource_id(logical_id)
            .send()
            .await
            .map_err(|e| self.call_error(call.clone(), e))?;
        out.stack_resource_detail()
            .and_then(|d| d.physical_resource_id())
            .map(str::to_string)
            .ok_or_else(|| IntegError::Call {
                case: self.case.name.clone(),
                call,
                message: "the resource has no physical id".into(),
            })
    }

    /// The physical id of the resource at a construct path under one of the case's stacks
    /// (`"Functions/DescribeInstance"`; an L2's `Resource` child is implied), found by the
    /// `aws:cdk:path` metadata of the stack's template, so a test needs no hashed logical id.
    pub async fn physical_id_at(&self, stack: &str, path: &str) -> Result<String> {
        let (stack_name, logical_id) = self.logical_id_at(stack, path)?;
        self.physical_id(&stack_name, &logical_id).await
    }

    /// The stack name and logical id of the resource at `path` under `stack`.
    fn logical_id_at(&self, stack: &str, path: &str) -> Result<(String, String)> {
        let assembly = self.assembly.as_ref().ok_or_else(|| IntegError::Io {
            case: self.case.name.clone(),
            path: self.case.assembly_dir.clone(),
            message: "the assembly could not be read".into(),
        })?;
        resource_at(assembly, stack, path).map_err(|message| IntegError::Call {
            case: self.case.name.clone(),
            call: format!("find {stack}/{path} in the assembly"),
            message,
        })
    }

    /// Invokes a Lambda function synchronously with a JSON payload; returns its JSON result
    /// (an error when the function failed).
    pub async fn invoke(&mut self, function: &str, payload: &Value) -> Result<Value> {
        let answer = self.invoke_once(function, payload).await?;
        self.report
            .entries
            .push(Entry::Step(format!("lambda:Invoke {function}")));
        Ok(answer)
    }

    /// One synchronous invocation (for [`IntegRun::invoke`] and [`Probe::Invoke`]).
    async fn invoke_once(&self, function: &str, payload: &Value) -> Result<Value> {
        let call = format!("lambda:Invoke {function}");
        let out = aws_sdk_lambda::Client::new(&self.config)
            .invoke()
            .function_name(function)
            .payload(payload.to_string().into_bytes().into())
            .send()
            .await
            .map_err(|e| self.call_error(call.clone(), e))?;
        let body = out
            .payload()
            .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
            .unwrap_or_default();
        if let Some(kind) = out.function_error() {
            return Err(IntegError::Call {
                case: self.case.name.clone(),
                call,
                message: format!("the function failed ({kind}): {body}"),
            });
        }
        Ok(serde_json::from_str(&body).unwrap_or(Value::String(body)))
    }

    /// Starts a Step Functions execution; returns its ARN.
    pub async fn start_execution(&mut self, state_machine_arn: &str, input: &Value) -> Result<String> {
        let call = format!("states:StartExecution {state_machine_arn}");
        let out = aws_sdk_sfn::Client::new(&self.config)
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .input(input.to_string())
            .send()
            .await
            .map_err(|e| self.call_error(call.clone(), e))?;
        self.report.entries.push(Entry::Step(call));
        Ok(out.execution_arn().to_string())
    }

    /// Waits until an execution is no longer running (or the case's timeout); returns
    /// [`Probe::Execution`]'s JSON.
    pub async fn wait_for_execution(&mut self, execution_arn: &str) -> Result<Value> {
        let probe = Probe::execution(execution_arn);
        let deadline = Instant::now() + self.case.timeout;
        loop {
            let v = self.read(&probe).await?;
            if v["status"] != "RUNNING" || Instant::now() >= deadline {
                self.report.entries.push(Entry::Step(format!(
                    "wait for {} ({})",
                    probe.describe(),
                    v["status"]
                )));
                return Ok(v);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Sends an HTTP request (e.g. to an API's endpoint output).
    pub async fn http(&mut self, request: &HttpRequest) -> Result<HttpResponse> {
        let call = format!("{} {}", request.method, request.url);
        let answer = http::send(request, &self.config)
            .await
            .map_err(|message| IntegError::Call {
                case: self.case.name.clone(),
                call: call.clone(),
                message,
            })?;
        self.report
            .entries
            .push(Entry::Step(format!("{call} -> {}", answer.status)));
        Ok(answer)
    }

    /// Asserts that `probe` reads as `expected`, polling until it does or the case's
    /// timeout passes; records the result and returns the last value read.
    pub async fn expect(&mut self, label: &str, probe: Probe, expected: Expected) -> Result<Value> {
        let started = Instant::now();
        loop {
            let actual = self.read(&probe).await;
            match actual {
                Ok(v) if expected.matches(&v) => {
                    self.report.entries.push(Entry::Assertion {
                        label: label.into(),
                        passed: true,
                        detail: format!("{} is {}", probe.describe(), expected.describe()),
                    });
                    return Ok(v);
                }
                last if started.elapsed() >= self.case.timeout => {
                    let actual = match &last {
                        Ok(v) => v.to_string(),
                        Err(e) => format!("unreadable ({e})"),
                    };
                    let error = IntegError::Assertion {
                        case: self.case.name.clone(),
                        label: label.into(),
                        detail: format!(
                            "{} should be {}, is {}",
                            probe.describe(),
                            expected.describe(),
                            truncate(&actual, 2000)
                        ),
                        waited: started.elapsed(),
                    };
                    self.report.entries.push(Entry::Assertion {
                        label: label.into(),
                        passed: false,
                        detail: error.to_string(),
                    });
                    return Err(error);
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// As [`IntegRun::expect`], but a failure does not stop the test: it is recorded (the
    /// run fails at the end) and the test goes on to its next, independent, assertion.
    pub async fn verify(&mut self, label: &str, probe: Probe, expected: Expected) -> Option<Value> {
        self.expect(label, probe, expected).await.ok()
    }

    /// Records a condition the test computed itself (e.g. on an HTTP answer) and returns
    /// it; a false one fails the run at the end.
    pub fn check(&mut self, label: &str, passed: bool, detail: impl Into<String>) -> bool {
        self.report.entries.push(Entry::Assertion {
            label: label.into(),
            passed,
            detail: detail.into(),
        });
        passed
    }

    /// Reads a probe once.
    pub async fn read(&self, probe: &Probe) -> Result<Value> {
        let call = |e: &dyn std::error::Error| IntegError::Call {
            case: self.case.name.clone(),
            call: probe.describe(),
            message: error_chain(e),
        };
        match probe {
            Probe::Parameter { name } => {
                let ssm = aws_sdk_ssm::Client::new(&self.config);
                let p = ssm
                    .get_parameter()
                    .name(name)
                    .send()
                    .await
                    .map_err(|e| call(&e))?;
                let tags = ssm
                    .list_tags_for_resource()
                    .resource_type(ResourceTypeForTagging::Parameter)
                    .resource_id(name)
                    .send()
                    .await
                    .map_err(|e| call(&e))?;
                let p = p.parameter();
                Ok(json!({
                    "Value": p.and_then(|p| p.value()),
                    "Type": p.and_then(|p| p.r#type()).map(|t| t.as_str()),
                    "Tags": tags.tag_list().iter().map(|t| (t.key().to_string(), Value::String(t.value().to_string()))).collect::<serde_json::Map<_, _>>(),
                }))
            }
            Probe::TableItems { table } => {
                let ddb = aws_sdk_dynamodb::Client::new(&self.config);
                let mut items = Vec::new();
                let mut start = None;
                loop {
                    let page = ddb
                        .scan()
                        .table_name(table)
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .map_err(|e| call(&e))?;
                    items.extend(page.items().iter().map(probe::item_json));
                    start = page.last_evaluated_key().cloned();
                    if start.is_none() {
                        break;
                    }
                }
                Ok(Value::Array(items))
            }
            Probe::Objects { bucket, prefix } => {
                let s3 = aws_sdk_s3::Client::new(&self.config);
                let mut keys = Vec::new();
                let mut token = None;
                loop {
                    let page = s3
                        .list_objects_v2()
                        .bucket(bucket)
                        .prefix(prefix)
                        .set_continuation_token(token)
                        .send()
                        .await
                        .map_err(|e| call(&e))?;
                    keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
                    token = page.next_continuation_token().map(str::to_string);
                    if token.is_none() {
                        break;
                    }
                }
                keys.sort();
                Ok(json!(keys))
            }
            Probe::Execution { arn } => {
                let e = aws_sdk_sfn::Client::new(&self.config)
                    .describe_execution()
                    .execution_arn(arn)
                    .send()
                    .await
                    .map_err(|e| call(&e))?;
                let output = e
                    .output()
                    .map(|o| serde_json::from_str(o).unwrap_or_else(|_| Value::String(o.to_string())));
                Ok(json!({
                    "status": e.status().as_str(),
                    "output": output,
                    "error": e.error(),
                    "cause": e.cause(),
                }))
            }
            Probe::Function { name } => {
                let f = aws_sdk_lambda::Client::new(&self.config)
                    .get_function_configuration()
                    .function_name(name)
                    .send()
                    .await
                    .map_err(|e| call(&e))?;
                Ok(json!({
                    "MemorySize": f.memory_size(),
                    "Timeout": f.timeout(),
                    "Runtime": f.runtime().map(|r| r.as_str()),
                    "Handler": f.handler(),
                }))
            }
            Probe::QueueDepth { queue_url } => {
                use aws_sdk_sqs::types::QueueAttributeName as A;
                let out = aws_sdk_sqs::Client::new(&self.config)
                    .get_queue_attributes()
                    .queue_url(queue_url)
                    .attribute_names(A::ApproximateNumberOfMessages)
                    .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
                    .send()
                    .await
                    .map_err(|e| call(&e))?;
                let count = |a: A| {
                    out.attributes()
                        .and_then(|m| m.get(&a))
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                };
                Ok(json!({
                    "visible": count(A::ApproximateNumberOfMessages),
                    "inFlight": count(A::ApproximateNumberOfMessagesNotVisible),
                }))
            }
            Probe::Invoke { function, payload } => self.invoke_once(function, payload).await,
            Probe::Webhook { url } => self
                .webhooks
                .iter()
                .find(|w| w.url() == url)
                .map(webhook::Receiver::requests)
                .ok_or_else(|| IntegError::Call {
                    case: self.case.name.clone(),
                    call: probe.describe(),
                    message: "no receiver of this run listens there (make one with IntegRun::webhook)".into(),
                }),
            Probe::Call(c) => self.send_call(c).await,
            Probe::StackInstances { stack_set } => self.read_stack_instances(stack_set).await,
            Probe::Object { bucket, key } => self.read_object(bucket, key).await,
            Probe::PublicAccessBlock { bucket } => self.read_public_access_block(bucket).await,
            Probe::BucketNotifications { bucket } => self.read_bucket_notifications(bucket).await,
        }
    }

    async fn destroy(&mut self) -> std::result::Result<(), crate::Error> {
        let args = DestroyArgs {
            stacks: self.case.stacks.clone(),
            all: self.case.stacks.is_empty(),
            exclusively: true,
            force: true,
            aws: self.aws.clone(),
        };
        Box::pin(crate::commands::run(
            &self.case.assembly_dir,
            Command::Destroy(args),
        ))
        .await
    }

    /// Destroys the stacks and returns the report: an error when `outcome` is one, an
    /// assertion failed, or the destroy failed.
    pub async fn finish(mut self, outcome: Result<()>) -> Result<Report> {
        if let Err(e) = &outcome {
            // A failed assertion is already in the report.
            if !matches!(e, IntegError::Assertion { .. }) {
                self.report.entries.push(Entry::Error(e.to_string()));
            }
        }
        for error in self.release_captures().await {
            self.report.entries.push(Entry::Error(error));
        }
        match self.destroy().await {
            Ok(()) => {
                let label = format!("destroy {}", self.case.stacks_label());
                self.report.entries.push(Entry::Step(label));
            }
            Err(e) => self
                .report
                .entries
                .push(Entry::Error(self.case.toolkit("destroy", e).to_string())),
        }
        let took = self.started.elapsed();
        let report = self.report;
        eprintln!("{report}");
        eprintln!("integ {}: took {:.1}s", report.case, took.as_secs_f64());
        report.append_to_summary_file();
        if report.passed() {
            Ok(report)
        } else {
            let first = report
                .entries
                .iter()
                .find_map(|e| match e {
                    Entry::Assertion {
                        passed: false,
                        detail,
                        ..
                    } => Some(detail.clone()),
                    Entry::Error(e) => Some(e.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            Err(IntegError::Failed {
                case: report.case.clone(),
                summary: format!("{}; {first}", report.summary()),
                report: Box::new(report),
            })
        }
    }
}

/// The stack name and logical id of the resource whose `aws:cdk:path` is `path` (or
/// `path/Resource`) under the stack `stack` (artifact id or name) of `assembly`.
fn resource_at(
    assembly: &crate::assembly::Assembly,
    stack: &str,
    path: &str,
) -> std::result::Result<(String, String), String> {
    let found = assembly
        .stacks
        .iter()
        .find(|s| s.artifact_id == stack || s.stack_name == stack)
        .ok_or_else(|| format!("the assembly has no stack {stack}"))?;
    let full = format!("{}/{}", found.display_name, path.trim_matches('/'));
    let wanted = [full.clone(), format!("{full}/Resource")];
    found.template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .find(|(_, r)| {
            r["Metadata"]["aws:cdk:path"]
                .as_str()
                .is_some_and(|p| wanted.iter().any(|w| w == p))
        })
        .map(|(id, _)| (found.stack_name.clone(), id.clone()))
        .ok_or_else(|| {
            format!(
                "no resource of {} has the construct path {full} (or {full}/Resource)",
                found.stack_name
            )
        })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    s
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// A directory removed when dropped.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> std::result::Result<Self, (PathBuf, String)> {
        let unique = format!(
            "cairn-integ-{}-{}-{}",
            name.replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        );
        let path = std::env::temp_dir().join(unique);
        std::fs::create_dir_all(&path).map_err(|e| (path.clone(), e.to_string()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn report(entries: Vec<Entry>) -> Report {
        Report {
            case: "c".into(),
            target: "local".into(),
            entries,
        }
    }

    /// Two stacks of one app, `Web` in ap-northeast-1 (a function `Web/Fn` and a queue
    /// `Web/Queue` written without an L2 `Resource` child) and `Global` in us-east-1.
    fn assembly(dir: &Path) -> crate::assembly::Assembly {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let stack = |env: &str, template: &str| {
            json!({"type": "aws:cloudformation:stack", "environment": env,
                   "properties": {"templateFile": template}})
        };
        let manifest = json!({"version": "36.0.0", "artifacts": {
            "Web": stack("aws://unknown-account/ap-northeast-1", "Web.template.json"),
            "Global": stack("aws://unknown-account/us-east-1", "Global.template.json"),
        }});
        let resource = |kind: &str, path: &str| json!({"Type": kind, "Metadata": {"aws:cdk:path": path}});
        let web = json!({"Resources": {
            "FnServiceRole1A2B3C4D": resource("AWS::IAM::Role", "Web/Fn/ServiceRole/Resource"),
            "Fn9270CBC0": resource("AWS::Lambda::Function", "Web/Fn/Resource"),
            "Queue": resource("AWS::SQS::Queue", "Web/Queue"),
        }});
        for (name, text) in [
            ("manifest.json", manifest),
            ("Web.template.json", web),
            ("Global.template.json", json!({"Resources": {}})),
        ] {
            std::fs::write(dir.join(name), text.to_string()).unwrap();
        }
        crate::assembly::Assembly::load(dir).unwrap()
    }

    #[test]
    fn a_construct_path_names_its_resource_and_the_run_goes_to_the_stacks_region() {
        let dir = std::env::temp_dir().join(format!("cairn-integ-paths-{}", std::process::id()));
        let a = assembly(&dir);
        let found = |stack: &str, path: &str| resource_at(&a, stack, path);
        assert_eq!(found("Web", "Fn"), Ok(("Web".into(), "Fn9270CBC0".into())));
        assert_eq!(
            found("Web", "/Fn/ServiceRole"),
            Ok(("Web".into(), "FnServiceRole1A2B3C4D".into()))
        );
        assert_eq!(found("Web", "Queue"), Ok(("Web".into(), "Queue".into())));
        let missing = found("Web", "Nothing").unwrap_err();
        assert!(
            missing.contains("no resource of Web has the construct path Web/Nothing"),
            "{missing}"
        );
        assert_eq!(found("Api", "Fn").unwrap_err(), "the assembly has no stack Api");

        let case = |stacks: &[&str]| IntegCase::new("c", &dir).stacks(stacks.iter().copied());
        assert_eq!(case(&["Web"]).region_of(&a), Some("ap-northeast-1".into()));
        assert_eq!(case(&["Global"]).region_of(&a), Some("us-east-1".into()));
        assert_eq!(
            case(&["Web", "Global"]).region_of(&a),
            None,
            "two regions: the configured one"
        );
        assert_eq!(case(&[]).region_of(&a), None, "every stack: two regions");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_report_passes_only_with_assertions_all_held_and_no_error() {
        let ok = |l: &str| Entry::Assertion {
            label: l.into(),
            passed: true,
            detail: String::new(),
        };
        assert!(
            !report(vec![Entry::Step("deploy".into())]).passed(),
            "no assertion: not a test"
        );
        assert!(report(vec![Entry::Step("deploy".into()), ok("a")]).passed());
        assert!(!report(vec![ok("a"), Entry::Error("destroy failed".into())]).passed());
        let failed = Entry::Assertion {
            label: "b".into(),
            passed: false,
            detail: "x".into(),
        };
        let r = report(vec![
            Entry::Step("deploy".into()),
            ok("a"),
            failed,
            Entry::NotRunLocally("Run Command".into()),
        ]);
        assert!(!r.passed());
        assert_eq!(
            r.summary(),
            "1 steps run, 1/2 assertions passed, 1 not run locally"
        );
        let shown = r.to_string();
        assert!(shown.contains("  FAILED b: x"), "{shown}");
        assert!(shown.contains("  local  not run: Run Command"), "{shown}");
    }
}
