//! Stack events and statuses: the renderer `deploy` and `destroy` stream through, and the
//! decisions taken from a stack's status (create, update, delete first, continue a
//! rollback, wait). Pure: no AWS calls.

use std::collections::HashSet;

use serde::Serialize;

use crate::style::Style;

/// One stack event (from `DescribeStackEvents`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StackEvent {
    /// The event id (events are shown once).
    pub id: String,
    /// When, as RFC 3339 (`2024-05-01T12:00:03Z`).
    pub timestamp: String,
    /// The resource's logical ID (the stack name for the stack itself).
    pub logical_id: String,
    /// The resource type.
    pub resource_type: String,
    /// The resource status (`CREATE_IN_PROGRESS` ...).
    pub status: String,
    /// CloudFormation's reason, if any.
    pub reason: Option<String>,
}

impl StackEvent {
    /// Whether the event is about the stack itself.
    pub fn is_stack(&self) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
    }

    /// Whether the status is a failure (`*_FAILED`).
    pub fn is_failure(&self) -> bool {
        self.status.ends_with("_FAILED")
    }
}

/// Renders events as progress lines:
/// `HelloProducer | 2/3 | 12:00:03 | CREATE_COMPLETE | AWS::S3::Bucket | Bucket`.
#[derive(Debug)]
pub struct EventRenderer {
    stack: String,
    total: usize,
    done: HashSet<String>,
    seen: HashSet<String>,
    failures: Vec<StackEvent>,
    style: Style,
}

impl EventRenderer {
    /// A renderer for `stack` whose operation touches `total` resources.
    pub fn new(stack: &str, total: usize, style: Style) -> Self {
        EventRenderer {
            stack: stack.to_string(),
            total,
            done: HashSet::new(),
            seen: HashSet::new(),
            failures: Vec::new(),
            style,
        }
    }

    /// Marks an event as already shown (events from before the operation started).
    pub fn skip(&mut self, event: &StackEvent) {
        self.seen.insert(event.id.clone());
    }

    /// The line for `event`, or `None` when it was already shown.
    pub fn render(&mut self, event: &StackEvent) -> Option<String> {
        if !self.seen.insert(event.id.clone()) {
            return None;
        }
        if event.is_failure() {
            self.failures.push(event.clone());
        }
        if !event.is_stack() && (event.status.ends_with("_COMPLETE") || event.status.ends_with("_SKIPPED")) {
            self.done.insert(event.logical_id.clone());
        }
        let time = event
            .timestamp
            .split_once('T')
            .map(|(_, t)| t.trim_end_matches('Z'))
            .map(|t| t.split('.').next().unwrap_or(t))
            .unwrap_or(&event.timestamp);
        let width = self.total.to_string().len();
        let status = format!("{:<24}", event.status);
        let status = if event.is_failure() {
            self.style.red(&status)
        } else if event.status.ends_with("_COMPLETE") && !event.status.contains("ROLLBACK") {
            self.style.green(&status)
        } else if event.status.contains("ROLLBACK") || event.status.starts_with("DELETE") {
            self.style.red(&status)
        } else {
            self.style.yellow(&status)
        };
        let mut line = format!(
            "{} | {:>width$}/{} | {} | {} | {} | {}",
            self.stack,
            self.done.len().min(self.total),
            self.total,
            time,
            status,
            event.resource_type,
            event.logical_id,
        );
        if let Some(reason) = event.reason.as_deref().filter(|r| !r.is_empty()) {
            let reason = format!(" ({reason})");
            line.push_str(&if event.is_failure() {
                self.style.red(&reason)
            } else {
                reason
            });
        }
        Some(line)
    }

    /// The failure events seen so far, oldest first.
    pub fn failures(&self) -> &[StackEvent] {
        &self.failures
    }
}

/// Orders events from `DescribeStackEvents` (newest first) oldest first.
pub fn chronological(mut events: Vec<StackEvent>) -> Vec<StackEvent> {
    events.reverse();
    events
}

/// Whether a stack status is final (nothing in progress).
pub fn is_terminal(status: &str) -> bool {
    !status.ends_with("_IN_PROGRESS")
}

/// Whether a final status means the deployment succeeded.
pub fn is_deploy_success(status: &str) -> bool {
    matches!(status, "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE")
}

/// What `deploy` does with a stack, given its current status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackPlan {
    /// It does not exist (or only holds a change set under review): create it.
    Create,
    /// Update it (also retries a `--no-rollback` deployment that failed, from the point of
    /// failure).
    Update,
    /// Its creation failed and rolled back (`ROLLBACK_COMPLETE`): it must be deleted, then
    /// created again.
    DeleteThenCreate,
    /// An update failed to roll back (`UPDATE_ROLLBACK_FAILED`): continue the rollback,
    /// then update.
    ContinueRollbackThenUpdate,
    /// An operation is running: wait for it to finish.
    Busy(String),
    /// A state deploy cannot recover from; the text says what to do.
    Stuck(String),
}

/// Decides what `deploy` does with a stack in `status` (`None`: no such stack).
pub fn plan_for_status(status: Option<&str>) -> StackPlan {
    match status {
        None | Some("REVIEW_IN_PROGRESS") => StackPlan::Create,
        Some("ROLLBACK_COMPLETE") => StackPlan::DeleteThenCreate,
        Some("UPDATE_ROLLBACK_FAILED") => StackPlan::ContinueRollbackThenUpdate,
        Some(s @ ("ROLLBACK_FAILED" | "DELETE_FAILED")) => StackPlan::Stuck(format!(
            "the stack is in {s}: delete it (`cairn destroy`, retaining the resources that \
             fail to delete if needed) and deploy again"
        )),
        Some(s) if s.ends_with("_IN_PROGRESS") => StackPlan::Busy(s.to_string()),
        // CREATE_FAILED / UPDATE_FAILED only happen with rollback disabled: an update
        // retries from the point of failure.
        Some(_) => StackPlan::Update,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: &str, logical: &str, ty: &str, status: &str, reason: Option<&str>) -> StackEvent {
        StackEvent {
            id: id.into(),
            timestamp: format!("2024-05-01T12:00:0{}.123Z", id.len() % 10),
            logical_id: logical.into(),
            resource_type: ty.into(),
            status: status.into(),
            reason: reason.map(String::from),
        }
    }

    #[test]
    fn renders_progress_once_per_event() {
        let mut r = EventRenderer::new("Hello", 2, Style::plain());
        let e1 = ev("1", "Bucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS", None);
        let e2 = ev("22", "Bucket", "AWS::S3::Bucket", "CREATE_COMPLETE", None);
        assert_eq!(
            r.render(&e1).as_deref(),
            Some("Hello | 0/2 | 12:00:01 | CREATE_IN_PROGRESS       | AWS::S3::Bucket | Bucket")
        );
        assert!(r.render(&e1).is_none(), "shown once");
        assert_eq!(
            r.render(&e2).as_deref(),
            Some("Hello | 1/2 | 12:00:02 | CREATE_COMPLETE          | AWS::S3::Bucket | Bucket")
        );
        assert!(r.failures().is_empty());
    }

    #[test]
    fn failures_are_kept_with_reasons_and_coloured() {
        let mut r = EventRenderer::new("Hello", 1, Style::coloured());
        let skipped = ev("0", "Old", "AWS::SQS::Queue", "CREATE_FAILED", Some("old"));
        r.skip(&skipped);
        assert!(r.render(&skipped).is_none());
        let e = ev(
            "1",
            "Topic",
            "AWS::SNS::Topic",
            "CREATE_FAILED",
            Some("Invalid parameter: TopicName"),
        );
        let line = r.render(&e).unwrap_or_default();
        assert!(line.contains("\u{1b}[31mCREATE_FAILED"), "{line}");
        assert!(
            line.ends_with("\u{1b}[31m (Invalid parameter: TopicName)\u{1b}[0m"),
            "{line}"
        );
        assert_eq!(r.failures().len(), 1);
        assert_eq!(r.failures()[0].logical_id, "Topic");
    }

    #[test]
    fn stack_events_do_not_count_as_resources() {
        let mut r = EventRenderer::new("S", 1, Style::plain());
        let line = r
            .render(&ev(
                "1",
                "S",
                "AWS::CloudFormation::Stack",
                "CREATE_COMPLETE",
                None,
            ))
            .unwrap_or_default();
        assert!(line.starts_with("S | 0/1 |"), "{line}");
    }

    #[test]
    fn statuses() {
        assert!(is_terminal("CREATE_COMPLETE"));
        assert!(is_terminal("UPDATE_ROLLBACK_FAILED"));
        assert!(!is_terminal("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"));
        assert!(is_deploy_success("UPDATE_COMPLETE"));
        assert!(!is_deploy_success("UPDATE_ROLLBACK_COMPLETE"));
        assert_eq!(plan_for_status(None), StackPlan::Create);
        assert_eq!(plan_for_status(Some("REVIEW_IN_PROGRESS")), StackPlan::Create);
        assert_eq!(
            plan_for_status(Some("ROLLBACK_COMPLETE")),
            StackPlan::DeleteThenCreate
        );
        assert_eq!(
            plan_for_status(Some("UPDATE_ROLLBACK_FAILED")),
            StackPlan::ContinueRollbackThenUpdate
        );
        assert_eq!(plan_for_status(Some("CREATE_FAILED")), StackPlan::Update);
        assert_eq!(
            plan_for_status(Some("UPDATE_ROLLBACK_COMPLETE")),
            StackPlan::Update
        );
        assert_eq!(
            plan_for_status(Some("UPDATE_IN_PROGRESS")),
            StackPlan::Busy("UPDATE_IN_PROGRESS".into())
        );
        assert!(matches!(
            plan_for_status(Some("DELETE_FAILED")),
            StackPlan::Stuck(_)
        ));
    }

    #[test]
    fn chronological_reverses() {
        let v = chronological(vec![ev("2", "a", "t", "s", None), ev("1", "a", "t", "s", None)]);
        assert_eq!(v[0].id, "1");
    }
}
