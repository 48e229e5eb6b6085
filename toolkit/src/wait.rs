//! Reading a stack and waiting for its operations: the current state, the deployed template,
//! and [`follow`], which polls until a final status while streaming the new events to the
//! reporter. Polling starts at 20 ms and doubles up to 2 s ([`Backoff`]): a fast endpoint
//! answers at once, a real deployment is not polled more often than the CDK CLI polls it.

use std::time::Duration;

use serde_json::Value as Json;

use crate::assembly::parse_template;
use crate::client::{CloudFormation, Clouds, StackState};
use crate::context::{Ctx, Env};
use crate::error::{Error, Result};
use crate::events::{chronological, is_terminal, EventRenderer};

/// Poll intervals: 20 ms, doubling, at most 2 s.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(20);
    const CAP: Duration = Duration::from_secs(2);

    pub(crate) fn new() -> Self {
        Backoff { next: Self::FIRST }
    }

    /// The next interval.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Self::CAP);
        d
    }
}

/// The stack's state; `None` when it does not exist (or was deleted).
pub(crate) async fn describe<C: CloudFormation>(
    cloud: &C,
    name: &str,
    who: &str,
) -> Result<Option<StackState>> {
    let state = cloud
        .describe_stack(name)
        .await
        .map_err(|e| e.at(who, "DescribeStacks"))?;
    Ok(state.filter(|s| s.status != "DELETE_COMPLETE"))
}

/// The deployed (original) template, parsed.
pub(crate) async fn deployed_template<C: CloudFormation>(
    cloud: &C,
    stack_id: &str,
    who: &str,
) -> Result<Json> {
    let body = cloud
        .get_template(stack_id)
        .await
        .map_err(|e| e.at(who, "GetTemplate"))?;
    parse_template(&body, false).map_err(|m| Error::Aws {
        stack: who.to_string(),
        operation: "GetTemplate",
        message: format!("the deployed template cannot be read: {m}"),
    })
}

/// Marks the stack's current events as shown (they are from before the operation).
pub(crate) async fn skip_old_events<C: CloudFormation>(
    cloud: &C,
    stack_id: &str,
    renderer: &mut EventRenderer,
) {
    for e in cloud.stack_events(stack_id).await.unwrap_or_default() {
        renderer.skip(&e);
    }
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finished {
    /// The final status (`DELETE_COMPLETE` once a deleted stack is gone).
    pub status: String,
    /// CloudFormation's reason for it.
    pub reason: Option<String>,
}

/// Polls the stack (by id) until its status is final, writing new events as progress.
pub(crate) async fn follow<P: Clouds>(
    ctx: &Ctx<P>,
    env: &Env<P::Cloud>,
    stack_id: &str,
    who: &str,
    renderer: &mut EventRenderer,
    operation: &'static str,
) -> Result<Finished> {
    let mut backoff = Backoff::new();
    let interrupted = async {
        if !ctx.ctrl_c || tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::pin!(interrupted);
    let show = |renderer: &mut EventRenderer, events: Vec<_>| {
        for e in chronological(events) {
            if let Some(line) = renderer.render(&e) {
                ctx.report.progress(&line);
            }
        }
    };
    loop {
        let (events, state) = tokio::join!(
            env.cloud.stack_events(stack_id),
            env.cloud.describe_stack(stack_id)
        );
        show(renderer, events.unwrap_or_default());
        let finished = match state {
            Ok(Some(s)) => Finished {
                status: s.status,
                reason: s.status_reason,
            },
            Ok(None) => Finished {
                status: "DELETE_COMPLETE".into(),
                reason: None,
            },
            Err(e) => return Err(e.at(who, "DescribeStacks")),
        };
        if is_terminal(&finished.status) {
            // The last events may have landed with the status.
            show(
                renderer,
                env.cloud.stack_events(stack_id).await.unwrap_or_default(),
            );
            return Ok(finished);
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff.next_delay()) => {}
            _ = &mut interrupted => {
                return Err(Error::Interrupted { stack: who.to_string(), operation });
            }
        }
    }
}

/// The failing resources with their reasons, one per line (the stack's own reason when no
/// resource says more).
pub(crate) fn failure_reasons(renderer: &EventRenderer, stack_reason: Option<&str>) -> String {
    let mut s = String::new();
    for f in renderer.failures() {
        if f.is_stack() && f.reason.is_none() {
            continue;
        }
        s.push_str(&format!(
            "\n  {} ({}) {}: {}",
            f.logical_id,
            f.resource_type,
            f.status,
            f.reason.as_deref().unwrap_or("no reason given")
        ));
    }
    if s.is_empty() {
        if let Some(r) = stack_reason {
            s = format!("\n  {r}");
        }
    }
    s
}

/// Deletes the stack (with the execution role `role_arn`, when given) and waits until it is
/// gone.
pub(crate) async fn delete_and_wait<P: Clouds>(
    ctx: &Ctx<P>,
    env: &Env<P::Cloud>,
    stack_id: &str,
    role_arn: Option<&str>,
    who: &str,
    total: usize,
) -> Result<()> {
    let mut renderer = EventRenderer::new(who, total, ctx.report.style);
    skip_old_events(&env.cloud, stack_id, &mut renderer).await;
    env.cloud
        .delete_stack(stack_id, role_arn)
        .await
        .map_err(|e| e.at(who, "DeleteStack"))?;
    let end = follow(ctx, env, stack_id, who, &mut renderer, "deletion").await?;
    if end.status != "DELETE_COMPLETE" {
        return Err(Error::OperationFailed {
            stack: who.to_string(),
            operation: "destroy",
            reasons: failure_reasons(&renderer, end.reason.as_deref()),
            status: end.status,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_starts_fast_and_backs_off_to_a_cap() {
        let mut b = Backoff::new();
        let first: Vec<u128> = (0..9).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(first, [20, 40, 80, 160, 320, 640, 1280, 2000, 2000]);
    }
}
