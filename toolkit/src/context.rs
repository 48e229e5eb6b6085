//! The state of one command run: the clients of each region (made once, on first use), what
//! is learnt once per region (the account, the staging bucket after the bootstrap check), the
//! objects uploaded so far, and the [`Reporter`] everything is written to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::assembly::Stack;
use crate::bootstrap;
use crate::client::{Cloud, Clouds};
use crate::error::{Error, Result};
use crate::reporter::Reporter;

/// The once-cell of one object's upload.
type Upload = Arc<OnceCell<()>>;

/// One command run.
pub(crate) struct Ctx<P: Clouds> {
    clouds: P,
    envs: tokio::sync::Mutex<HashMap<String, Arc<Env<P::Cloud>>>>,
    /// Where the run writes.
    pub report: Reporter,
    /// Whether Ctrl-C interrupts the wait for a stack operation (the CLI; not the tests).
    pub ctrl_c: bool,
    /// Objects uploaded (or found) in this run, by `(bucket, key)`: each once, even when
    /// several stacks deploying at once share it.
    published: Mutex<HashMap<(String, String), Upload>>,
}

impl<P: Clouds> Ctx<P> {
    /// A run over `clouds`, writing to `report`.
    pub(crate) fn new(clouds: P, report: Reporter, ctrl_c: bool) -> Self {
        Ctx {
            clouds,
            envs: tokio::sync::Mutex::new(HashMap::new()),
            report,
            ctrl_c,
            published: Mutex::new(HashMap::new()),
        }
    }

    /// The environment of `region` (the configured region when `None`).
    pub(crate) async fn env(&self, region: Option<&str>, who: &str) -> Result<Arc<Env<P::Cloud>>> {
        let Some(region) = region.map(String::from).or_else(|| self.clouds.default_region()) else {
            return Err(Error::Usage(format!(
                "{who}: no region: the stack's environment names none; set AWS_REGION or pass --region"
            )));
        };
        let mut envs = self.envs.lock().await;
        if let Some(e) = envs.get(&region) {
            return Ok(e.clone());
        }
        let env = Arc::new(Env::new(self.clouds.connect(&region).await));
        envs.insert(region, env.clone());
        Ok(env)
    }

    /// The once-cell of an object: the first caller uploads, the others wait for it.
    pub(crate) fn published(&self, bucket: &str, key: &str) -> Upload {
        let mut map = match self.published.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.entry((bucket.to_string(), key.to_string()))
            .or_default()
            .clone()
    }
}

/// The clients of one region and what is learnt about it once.
pub(crate) struct Env<C> {
    /// The clients.
    pub cloud: C,
    account: OnceCell<String>,
    staging_bucket: OnceCell<String>,
}

impl<C: Cloud> Env<C> {
    fn new(cloud: C) -> Self {
        Env {
            cloud,
            account: OnceCell::new(),
            staging_bucket: OnceCell::new(),
        }
    }

    /// The region.
    pub(crate) fn region(&self) -> &str {
        self.cloud.region()
    }

    /// The account of the credentials (asked once).
    pub(crate) async fn account(&self, who: &str) -> Result<String> {
        self.account
            .get_or_try_init(|| async {
                self.cloud
                    .account()
                    .await
                    .map_err(|e| e.at(who, "GetCallerIdentity"))
            })
            .await
            .cloned()
    }

    /// The staging bucket of the toolkit stack, after checking the bootstrap version
    /// (once per region; a failed check is asked again by the next stack).
    pub(crate) async fn staging_bucket(&self, stack: &Stack) -> Result<String> {
        self.staging_bucket
            .get_or_try_init(|| self.check_bootstrap(stack))
            .await
            .cloned()
    }

    async fn check_bootstrap(&self, stack: &Stack) -> Result<String> {
        let who = stack.display_name.as_str();
        let (version, bucket) = tokio::join!(
            self.cloud.parameter(bootstrap::VERSION_PARAMETER),
            self.cloud
                .physical_id(bootstrap::TOOLKIT_STACK, bootstrap::BUCKET_LOGICAL_ID),
        );
        let environment = format!(
            "aws://{}/{}",
            stack.account.as_deref().unwrap_or("unknown-account"),
            self.region()
        );
        let not = |detail: String| Error::NotBootstrapped {
            stack: who.to_string(),
            environment: environment.clone(),
            detail,
        };
        let version = version.map_err(|e| e.at(who, "GetParameter"))?.ok_or_else(|| {
            not(format!(
                "the SSM parameter {} does not exist",
                bootstrap::VERSION_PARAMETER
            ))
        })?;
        match version.trim().parse::<u32>() {
            Ok(v) if v >= bootstrap::BOOTSTRAP_VERSION => {}
            _ => {
                return Err(not(format!(
                    "the bootstrap version is {version:?}, this toolkit needs {} or later",
                    bootstrap::BOOTSTRAP_VERSION
                )))
            }
        }
        match bucket {
            Ok(b) => Ok(b),
            Err(e) if e.is_not_found() => Err(not(format!(
                "the stack {} does not exist",
                bootstrap::TOOLKIT_STACK
            ))),
            Err(e) => Err(e.at(who, "DescribeStackResource")),
        }
    }
}
