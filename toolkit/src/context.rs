//! The state of one command run: the clients of each region (made once, on first use) and of
//! each bootstrap role assumed there, what is learnt once per region (the account, the
//! bootstrap versions read), the objects uploaded so far, and the [`Reporter`] everything is
//! written to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::assembly::Stack;
use crate::client::{Cloud, Clouds};
use crate::error::{Error, Result};
use crate::reporter::Reporter;

/// The once-cell of one object's upload.
type Upload = Arc<OnceCell<()>>;

/// The once-cell of the clients of one role in one region.
type RoleEnv<C> = Arc<OnceCell<Arc<Env<C>>>>;

/// The clients of assumed roles, by `(region, role ARN)`.
type RoleEnvs<C> = Mutex<HashMap<(String, String), RoleEnv<C>>>;

/// One command run.
pub(crate) struct Ctx<P: Clouds> {
    clouds: P,
    envs: tokio::sync::Mutex<HashMap<String, Arc<Env<P::Cloud>>>>,
    /// The clients of assumed roles, by `(region, role ARN)`.
    roles: RoleEnvs<P::Cloud>,
    /// Where the run writes.
    pub report: Reporter,
    /// Whether Ctrl-C interrupts the wait for a stack operation (the CLI; not the tests).
    pub ctrl_c: bool,
    /// Objects uploaded (or found) in this run, by `(bucket, key)`: each once, even when
    /// several stacks deploying at once share it.
    published: Mutex<HashMap<(String, String), Upload>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl<P: Clouds> Ctx<P> {
    /// A run over `clouds`, writing to `report`.
    pub(crate) fn new(clouds: P, report: Reporter, ctrl_c: bool) -> Self {
        Ctx {
            clouds,
            envs: tokio::sync::Mutex::new(HashMap::new()),
            roles: Mutex::new(HashMap::new()),
            report,
            ctrl_c,
            published: Mutex::new(HashMap::new()),
        }
    }

    /// The environment of `region` (the configured region when `None`), with the
    /// configured credentials.
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

    /// The environment of `stack`'s region as the bootstrap role `role` (an ARN from the
    /// manifest, placeholders and all): the role assumed once per run; `None`, the
    /// configured credentials. When the role cannot be assumed but the credentials are for
    /// the stack's account, they are used instead, with a warning (as the CDK CLI does).
    pub(crate) async fn env_as(
        &self,
        base: &Arc<Env<P::Cloud>>,
        stack: &Stack,
        role: Option<&str>,
    ) -> Result<Arc<Env<P::Cloud>>> {
        let who = stack.display_name.as_str();
        let Some(role) = role else {
            return Ok(base.clone());
        };
        let role = base.resolve(stack, role).await?;
        let key = (base.region().to_string(), role.clone());
        let cell = lock(&self.roles).entry(key).or_default().clone();
        cell.get_or_try_init(|| async {
            match self.clouds.assume(base.region(), &role).await {
                Ok(cloud) => {
                    let env = Env::new(cloud);
                    // The account is the role's: no GetCallerIdentity needed for it.
                    if let Some(account) = account_of_arn(&role) {
                        let _ = env.account.set(account.to_string());
                    }
                    Ok(Arc::new(env))
                }
                Err(e) => {
                    let mine = base.account(who).await?;
                    match account_of_arn(&role) {
                        Some(account) if account != mine => Err(Error::Aws {
                            stack: who.to_string(),
                            operation: "AssumeRole",
                            message: format!(
                                "cannot assume {role} ({}), and the credentials are for account {mine}, not {account}: bootstrap that account with --trust {mine}, or use credentials of {account}",
                                e.message()
                            ),
                        }),
                        _ => {
                            self.report.progress(&self.report.style.yellow(&format!(
                                "{who}: could not assume {role} ({}); using the current credentials (account {mine})",
                                e.message()
                            )));
                            Ok(base.clone())
                        }
                    }
                }
            }
        })
        .await
        .cloned()
    }

    /// The once-cell of an object: the first caller uploads, the others wait for it.
    pub(crate) fn published(&self, bucket: &str, key: &str) -> Upload {
        lock(&self.published)
            .entry((bucket.to_string(), key.to_string()))
            .or_default()
            .clone()
    }
}

/// The account of an ARN (`arn:aws:iam::123456789012:role/x` -> `123456789012`).
pub(crate) fn account_of_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The clients of one region (one set of credentials) and what is learnt about it once.
pub(crate) struct Env<C> {
    /// The clients.
    pub cloud: C,
    account: OnceCell<String>,
    /// Bootstrap versions read, by SSM parameter name (`None`: the parameter does not exist).
    versions: Mutex<HashMap<String, Arc<OnceCell<Option<String>>>>>,
}

impl<C: Cloud> Env<C> {
    fn new(cloud: C) -> Self {
        Env {
            cloud,
            account: OnceCell::new(),
            versions: Mutex::new(HashMap::new()),
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

    /// `text` with the placeholders of `stack`'s environment replaced: `${AWS::AccountId}`
    /// (the stack's account, else the credentials'), `${AWS::Region}`, `${AWS::Partition}`.
    pub(crate) async fn resolve(&self, stack: &Stack, text: &str) -> Result<String> {
        let account = match (&stack.account, text.contains("${AWS::AccountId}")) {
            (_, false) => String::new(),
            (Some(a), true) => a.clone(),
            (None, true) => self.account(&stack.display_name).await?,
        };
        Ok(crate::deploy::assets::substitute(text, &account, self.region()))
    }

    /// Checks that the environment is bootstrapped for `stack`: its version parameter
    /// (`/cdk-bootstrap/<qualifier>/version`) exists and holds at least the version the
    /// stack requires. The parameter is read once per run.
    pub(crate) async fn check_bootstrap(&self, stack: &Stack) -> Result<()> {
        self.check_bootstrap_version(stack, stack.synthesizer.required_version())
            .await
    }

    /// [`Env::check_bootstrap`] with the version required given (`rollback` needs the
    /// version whose deploy role may roll back).
    pub(crate) async fn check_bootstrap_version(&self, stack: &Stack, required: u32) -> Result<()> {
        let who = stack.display_name.as_str();
        let parameter = stack.synthesizer.version_parameter();
        let cell = lock(&self.versions).entry(parameter.clone()).or_default().clone();
        let version = cell
            .get_or_try_init(|| async {
                self.cloud
                    .parameter(&parameter)
                    .await
                    .map_err(|e| e.at(who, "GetParameter"))
            })
            .await?
            .clone();
        let environment = format!(
            "aws://{}/{}",
            stack.account.as_deref().unwrap_or("unknown-account"),
            self.region()
        );
        let not = |detail: String| Error::NotBootstrapped {
            stack: who.to_string(),
            environment: environment.clone(),
            qualifier: stack.synthesizer.qualifier(),
            detail,
        };
        let Some(version) = version else {
            return Err(not(format!("the SSM parameter {parameter} does not exist")));
        };
        match version.trim().parse::<u32>() {
            Ok(v) if v >= required => Ok(()),
            _ => Err(not(format!(
                "the bootstrap version in {parameter} is {version:?}; the stack needs {required} or later"
            ))),
        }
    }
}
