//! The day-2 commands, one module each, as the AWS CDK CLI has them:
//!
//! - [`rollback`]: roll back a stack that `deploy --no-rollback` left failed
//!   (`RollbackStack`), or continue a rollback that failed (`ContinueUpdateRollback`, with
//!   resources orphaned on request).
//! - [`drift`]: detect drift and show it per resource and property.
//! - [`import`]: adopt existing resources that the template adds, through an `IMPORT`
//!   change set.
//! - [`gc`]: tag, then delete, the assets of the bootstrap bucket that no deployed stack
//!   references.
//!
//! Each has its arguments, a `prepare` that reads the assembly and checks the arguments
//! before any call, and a `run` over the client traits (the AWS SDK's, or the fake's in the
//! tests).

pub(crate) mod drift;
pub(crate) mod gc;
pub(crate) mod import;
pub(crate) mod rollback;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use crate::assembly::{Assembly, Stack};
use crate::client::Clouds;
use crate::context::{Ctx, Env};
use crate::error::{Error, Result};

/// The stacks a command that changes stacks works on: those named (wildcards work), every
/// stack with `--all`, the only stack when the app has one; naming none in an app of
/// several is a usage error (`verb`: what the command does, for the message).
pub(crate) fn named_or_all<'a>(
    asm: &'a Assembly,
    names: &[String],
    all: bool,
    verb: &str,
) -> Result<Vec<&'a Stack>> {
    if names.is_empty() && !all && asm.stacks.len() > 1 {
        return Err(Error::Usage(format!(
            "the app has {} stacks; name the stacks to {verb} (wildcards work) or pass --all",
            asm.stacks.len()
        )));
    }
    let patterns = if all { Vec::new() } else { names.to_vec() };
    asm.select(&patterns, false)
}

/// The environments a command over environments works on: `given` (`aws://ACCOUNT/REGION`),
/// else those of the assembly's stacks (when there is one in `dir`), else the configured
/// one (`(None, None)`).
pub(crate) fn environments(dir: &Path, given: &[String]) -> Vec<(Option<String>, Option<String>)> {
    let mut environments: Vec<(Option<String>, Option<String>)> = given
        .iter()
        .map(|e| crate::assembly::parse_environment(e))
        .collect();
    if environments.is_empty() {
        if let Ok(asm) = Assembly::load(dir) {
            for s in &asm.stacks {
                let e = (s.account.clone(), s.region.clone());
                if !environments.contains(&e) {
                    environments.push(e);
                }
            }
        }
    }
    if environments.is_empty() {
        environments.push((None, None));
    }
    environments
}

/// Where a stack is changed: the region's clients with the configured credentials, the
/// clients of the deploy role the manifest names (`assumeRoleArn`), and the execution role
/// CloudFormation works with (`cloudFormationExecutionRoleArn`), as `deploy` and `destroy`
/// use them.
pub(crate) struct StackEnv<C> {
    /// The configured credentials.
    pub base: Arc<Env<C>>,
    /// The deploy role's (or the configured credentials, without one).
    pub env: Arc<Env<C>>,
    /// The execution role, placeholders replaced.
    pub execution_role: Option<String>,
}

/// The [`StackEnv`] of `stack`.
pub(crate) async fn stack_env<P: Clouds>(ctx: &Ctx<P>, stack: &Stack) -> Result<StackEnv<P::Cloud>> {
    let who = stack.display_name.as_str();
    let base = ctx.env(stack.region.as_deref(), who).await?;
    let env = ctx
        .env_as(&base, stack, stack.synthesizer.assume_role_arn.as_deref())
        .await?;
    let execution_role = match &stack.synthesizer.execution_role_arn {
        Some(r) => Some(base.resolve(stack, r).await?),
        None => None,
    };
    Ok(StackEnv {
        base,
        env,
        execution_role,
    })
}
