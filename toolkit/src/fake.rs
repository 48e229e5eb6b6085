//! An in-memory CloudFormation, S3, SSM and STS behind the client traits, for the unit tests:
//! stacks with templates, parameters, tags, outputs and events; change sets computed by
//! comparing templates; operations that stay `*_IN_PROGRESS` for one `DescribeStacks` and
//! then finish (or fail and roll back, when told to); objects and parameters; and a log of
//! every call. Knobs make it fail the way CloudFormation fails.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value as Json;

use crate::bootstrap;
use crate::client::{
    AccountInfo, ChangeSet, ChangeSetId, ChangeSetKind, ChangeSetStatus, Cloud, CloudError, CloudFormation,
    CloudResult, Clouds, ObjectStore, Parameter, ResourceChange, StackRequest, StackState, Template,
};
use crate::context::Ctx;
use crate::diff::Replacement;
use crate::events::StackEvent;
use crate::reporter::{Ask, Buffer, Reporter};

/// The account of the fake's credentials.
pub(crate) const ACCOUNT: &str = "123456789012";

/// A stack.
#[derive(Debug, Clone, Default)]
pub(crate) struct FakeStack {
    pub id: String,
    pub name: String,
    pub status: String,
    pub reason: Option<String>,
    pub template: String,
    pub parameters: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
    pub termination_protection: bool,
    /// Physical ids by logical id (default `phys-<logical>`).
    pub physical: BTreeMap<String, String>,
    /// Oldest first.
    pub events: Vec<StackEvent>,
    /// The execution role of the last create, update or change set (`RoleARN`).
    pub role_arn: Option<String>,
    pending: Option<Pending>,
}

/// A stack's template, parameters and tags.
type Applied = (String, BTreeMap<String, String>, Vec<(String, String)>);

/// An operation in progress: what the stack becomes at the next `DescribeStacks`.
#[derive(Debug, Clone)]
struct Pending {
    status: String,
    reason: Option<String>,
    /// `(logical id, type, status, reason)`, in order.
    events: Vec<(String, String, String, Option<String>)>,
    /// The template, parameters and tags the stack takes on (not on a rollback).
    apply: Option<Applied>,
}

#[derive(Debug, Clone)]
struct FakeChangeSet {
    id: ChangeSetId,
    template: String,
    parameters: BTreeMap<String, String>,
    tags: Vec<(String, String)>,
    /// `DescribeChangeSet` answers `Pending` this many more times.
    polls: u32,
    status: ChangeSetStatus,
    changes: Vec<ResourceChange>,
}

/// Everything the fake holds, and its knobs.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub account: String,
    pub stacks: Vec<FakeStack>,
    change_sets: Vec<FakeChangeSet>,
    pub parameters: BTreeMap<String, String>,
    pub objects: BTreeMap<(String, String), Vec<u8>>,
    /// `Operation target` of every call, in order.
    pub calls: Vec<String>,
    /// `(Operation target, role)` of every call made with an assumed role's credentials.
    pub calls_as: Vec<(String, String)>,
    /// Roles that cannot be assumed (`AccessDenied`).
    pub unassumable: std::collections::BTreeSet<String>,
    /// Every call fails as if the endpoint refused the connection.
    pub unreachable: Option<String>,
    /// The next execution for the stack (by name) fails on `(logical id, reason)`.
    pub fail_resource: BTreeMap<String, (String, String)>,
    /// The next change set for the stack (by name) fails with this reason.
    pub fail_change_set: BTreeMap<String, String>,
    /// What a change set says about replacing a modified resource (default: never).
    pub replacements: BTreeMap<String, Replacement>,
    /// `ValidateTemplate` refuses with this message.
    pub invalid_template: Option<String>,
    /// Refuse an unchanged update at `CreateChangeSet` (as moto does).
    pub refuse_unchanged_at_create: bool,
    /// How long every call takes.
    pub latency: Duration,
    /// Operations running now, and the most there were at once.
    pub in_flight: usize,
    pub max_in_flight: usize,
    next: u64,
}

fn event_time(n: u64) -> String {
    format!("2024-05-01T12:{:02}:{:02}Z", (n / 60) % 60, n % 60)
}

fn resources(template: &str) -> serde_json::Map<String, Json> {
    serde_json::from_str::<Json>(template)
        .ok()
        .and_then(|t| t.get("Resources").and_then(Json::as_object).cloned())
        .unwrap_or_default()
}

fn resource_type(r: &Json) -> String {
    r.get("Type").and_then(Json::as_str).unwrap_or("?").to_string()
}

impl World {
    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// The stack by id, or the live stack by name.
    pub(crate) fn stack(&self, target: &str) -> Option<&FakeStack> {
        self.stacks
            .iter()
            .rev()
            .find(|s| s.id == target || (s.name == target && s.status != "DELETE_COMPLETE"))
    }

    fn stack_mut(&mut self, target: &str) -> Option<&mut FakeStack> {
        self.stacks
            .iter_mut()
            .rev()
            .find(|s| s.id == target || (s.name == target && s.status != "DELETE_COMPLETE"))
    }

    fn not_found(target: &str) -> CloudError {
        CloudError::Service {
            code: Some("ValidationError".into()),
            message: format!("Stack with id {target} does not exist"),
        }
    }

    /// A stack as deployed, in `status`.
    pub(crate) fn put_stack(&mut self, name: &str, template: &Json, status: &str) -> String {
        let n = self.id();
        let id = format!(
            "arn:aws:cloudformation:us-east-1:{}:stack/{name}/{n}",
            self.account
        );
        let template = serde_json::to_string(template).unwrap_or_default();
        self.stacks.push(FakeStack {
            id: id.clone(),
            name: name.into(),
            status: status.into(),
            template,
            ..FakeStack::default()
        });
        id
    }

    /// The environment as `cairn bootstrap` (or `cdk bootstrap`) leaves it, default
    /// qualifier.
    pub(crate) fn bootstrap(&mut self, region: &str) {
        let names = cairn_core::BootstrapNames::default();
        let bucket = bootstrap::bucket_name(&names, &self.account.clone(), region);
        let template = bootstrap::template();
        let id = self.put_stack(bootstrap::TOOLKIT_STACK, &template, "CREATE_COMPLETE");
        if let Some(s) = self.stack_mut(&id) {
            s.physical.insert(bootstrap::BUCKET_LOGICAL_ID.into(), bucket);
            s.parameters
                .insert("Qualifier".into(), cairn_core::DEFAULT_QUALIFIER.into());
        }
        self.parameters.insert(
            names.version_parameter(),
            bootstrap::BOOTSTRAP_VERSION.to_string(),
        );
    }

    /// The calls of one operation, by target.
    pub(crate) fn calls_of(&self, operation: &str) -> Vec<String> {
        let prefix = format!("{operation} ");
        self.calls
            .iter()
            .filter_map(|c| c.strip_prefix(&prefix).map(String::from))
            .collect()
    }

    fn template_text(&self, template: &Template) -> CloudResult<String> {
        match template {
            Template::Body(b) => Ok(b.clone()),
            Template::Url(u) => {
                let rest = u.strip_prefix("https://").unwrap_or(u);
                let (_host, path) = rest.split_once('/').unwrap_or((rest, ""));
                let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
                self.objects
                    .get(&(bucket.to_string(), key.to_string()))
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .ok_or_else(|| CloudError::Service {
                        code: Some("ValidationError".into()),
                        message: format!("TemplateURL must be a reachable S3 object: {u}"),
                    })
            }
        }
    }

    fn resolve_parameters(
        &self,
        current: Option<&FakeStack>,
        given: &[Parameter],
    ) -> BTreeMap<String, String> {
        given
            .iter()
            .map(|p| {
                let v = match &p.value {
                    Some(v) => v.clone(),
                    None => current
                        .and_then(|s| s.parameters.get(&p.key).cloned())
                        .unwrap_or_default(),
                };
                (p.key.clone(), v)
            })
            .collect()
    }

    /// The resource changes from `old` to `new`.
    fn changes(&self, old: &str, new: &str) -> Vec<ResourceChange> {
        let (old, new) = (resources(old), resources(new));
        let mut out = Vec::new();
        for (id, r) in &new {
            let action = match old.get(id) {
                None => "Add",
                Some(o) if o != r => "Modify",
                Some(_) => continue,
            };
            out.push(ResourceChange {
                action: action.into(),
                logical_id: id.clone(),
                resource_type: resource_type(r),
                replacement: if action == "Modify" {
                    self.replacements.get(id).copied().unwrap_or(Replacement::Never)
                } else {
                    Replacement::Never
                },
            });
        }
        for (id, r) in &old {
            if !new.contains_key(id) {
                out.push(ResourceChange {
                    action: "Remove".into(),
                    logical_id: id.clone(),
                    resource_type: resource_type(r),
                    replacement: Replacement::Never,
                });
            }
        }
        out
    }

    /// Starts a create or update of `target` to `template`: in progress until the next
    /// `DescribeStacks`.
    fn start(
        &mut self,
        target: &str,
        template: String,
        parameters: BTreeMap<String, String>,
        tags: Vec<(String, String)>,
        disable_rollback: bool,
    ) {
        let n = self.id();
        let failure = {
            let name = self.stack(target).map(|s| s.name.clone()).unwrap_or_default();
            self.fail_resource.remove(&name)
        };
        let Some(s) = self.stack_mut(target) else { return };
        let create = s.status == "REVIEW_IN_PROGRESS";
        let verb = if create { "CREATE" } else { "UPDATE" };
        s.status = format!("{verb}_IN_PROGRESS");
        s.events.push(StackEvent {
            id: format!("e{n}"),
            timestamp: event_time(n),
            logical_id: s.name.clone(),
            resource_type: "AWS::CloudFormation::Stack".into(),
            status: s.status.clone(),
            reason: Some("User Initiated".into()),
        });
        let (old, new) = (resources(&s.template), resources(&template));
        let mut events = Vec::new();
        let pending = match failure {
            Some((logical, reason)) => {
                let ty = new.get(&logical).map(resource_type).unwrap_or_default();
                events.push((logical.clone(), ty.clone(), format!("{verb}_IN_PROGRESS"), None));
                events.push((logical, ty, format!("{verb}_FAILED"), Some(reason)));
                if disable_rollback {
                    Pending {
                        status: format!("{verb}_FAILED"),
                        reason: Some("Resource creation failed".into()),
                        events,
                        apply: None,
                    }
                } else {
                    let (rolling, rolled) = if create {
                        ("ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE")
                    } else {
                        ("UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE")
                    };
                    events.push((
                        s.name.clone(),
                        "AWS::CloudFormation::Stack".into(),
                        rolling.into(),
                        Some("The following resource(s) failed".into()),
                    ));
                    Pending {
                        status: rolled.into(),
                        reason: None,
                        events,
                        // A failed creation keeps the template it was created with.
                        apply: create.then(|| (template.clone(), parameters.clone(), tags.clone())),
                    }
                }
            }
            None => {
                for (id, r) in &new {
                    match old.get(id) {
                        None => events.push((id.clone(), resource_type(r), "CREATE_COMPLETE".into(), None)),
                        Some(o) if o != r => {
                            events.push((id.clone(), resource_type(r), "UPDATE_COMPLETE".into(), None))
                        }
                        Some(_) => {}
                    }
                }
                for (id, r) in &old {
                    if !new.contains_key(id) {
                        events.push((id.clone(), resource_type(r), "DELETE_COMPLETE".into(), None));
                    }
                }
                Pending {
                    status: format!("{verb}_COMPLETE"),
                    reason: None,
                    events,
                    apply: Some((template, parameters, tags)),
                }
            }
        };
        s.pending = Some(pending);
        self.in_flight += 1;
        self.max_in_flight = self.max_in_flight.max(self.in_flight);
    }

    /// Finishes the stack's operation, if one runs.
    fn resolve(&mut self, target: &str) {
        let Some(s) = self.stack(target) else { return };
        if s.pending.is_none() {
            return;
        }
        let mut ids = Vec::new();
        let count = s.pending.as_ref().map_or(0, |p| p.events.len()) + 1;
        for _ in 0..count {
            ids.push(self.id());
        }
        let Some(s) = self.stack_mut(target) else { return };
        let Some(p) = s.pending.take() else { return };
        let mut ids = ids.into_iter();
        for (logical, ty, status, reason) in p.events {
            let n = ids.next().unwrap_or_default();
            s.events.push(StackEvent {
                id: format!("e{n}"),
                timestamp: event_time(n),
                logical_id: logical,
                resource_type: ty,
                status,
                reason,
            });
        }
        if let Some((template, parameters, tags)) = p.apply {
            s.template = template;
            s.parameters = parameters;
            s.tags = tags;
        }
        s.status = p.status;
        s.reason = p.reason;
        let n = ids.next().unwrap_or_default();
        s.events.push(StackEvent {
            id: format!("e{n}"),
            timestamp: event_time(n),
            logical_id: s.name.clone(),
            resource_type: "AWS::CloudFormation::Stack".into(),
            status: s.status.clone(),
            reason: None,
        });
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    fn state(s: &FakeStack) -> StackState {
        let template: Json = serde_json::from_str(&s.template).unwrap_or(Json::Null);
        let physical = |id: &str| {
            s.physical
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("phys-{id}"))
        };
        let outputs = template
            .get("Outputs")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
            .map(|(k, o)| {
                let v = match o.get("Value") {
                    Some(Json::String(v)) => v.clone(),
                    Some(v) => match v.get("Ref").and_then(Json::as_str) {
                        Some(r) => physical(r),
                        None => format!("value-of-{k}"),
                    },
                    None => String::new(),
                };
                (k.clone(), v)
            })
            .collect();
        StackState {
            id: s.id.clone(),
            status: s.status.clone(),
            status_reason: s.reason.clone(),
            parameters: s.parameters.clone(),
            tags: s.tags.clone(),
            termination_protection: s.termination_protection,
            outputs,
        }
    }
}

/// The fake's clients for one region (all regions share one world).
#[derive(Clone)]
pub(crate) struct FakeCloud {
    region: String,
    /// The role whose credentials the calls use (`None`: the configured ones).
    role: Option<String>,
    world: Arc<Mutex<World>>,
}

impl FakeCloud {
    fn world(&self) -> MutexGuard<'_, World> {
        match self.world.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Records the call; fails when the endpoint is "down"; takes the latency.
    async fn call(&self, operation: &str, target: &str) -> CloudResult<()> {
        let latency = {
            let mut w = self.world();
            w.calls.push(format!("{operation} {target}"));
            if let Some(role) = &self.role {
                w.calls_as.push((format!("{operation} {target}"), role.clone()));
            }
            if let Some(endpoint) = &w.unreachable {
                return Err(CloudError::Unreachable {
                    endpoint: endpoint.clone(),
                    cause: "connection refused: nothing listens there".into(),
                    hint: "check that the endpoint is running and that --endpoint-url or AWS_ENDPOINT_URL names it"
                        .into(),
                });
            }
            w.latency
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        Ok(())
    }
}

impl CloudFormation for FakeCloud {
    async fn describe_stack(&self, stack: &str) -> CloudResult<Option<StackState>> {
        self.call("DescribeStacks", stack).await?;
        let mut w = self.world();
        let state = w.stack(stack).map(World::state);
        w.resolve(stack);
        Ok(state)
    }

    async fn get_template(&self, stack: &str) -> CloudResult<String> {
        self.call("GetTemplate", stack).await?;
        let w = self.world();
        w.stack(stack)
            .map(|s| s.template.clone())
            .ok_or_else(|| World::not_found(stack))
    }

    async fn stack_events(&self, stack: &str) -> CloudResult<Vec<StackEvent>> {
        self.call("DescribeStackEvents", stack).await?;
        let w = self.world();
        let s = w.stack(stack).ok_or_else(|| World::not_found(stack))?;
        Ok(s.events.iter().rev().cloned().collect())
    }

    async fn stack_resources(&self, stack: &str) -> CloudResult<Vec<(String, String)>> {
        self.call("DescribeStackResources", stack).await?;
        let w = self.world();
        let s = w.stack(stack).ok_or_else(|| World::not_found(stack))?;
        Ok(resources(&s.template)
            .keys()
            .map(|k| {
                let p = s.physical.get(k).cloned().unwrap_or_else(|| format!("phys-{k}"));
                (k.clone(), p)
            })
            .collect())
    }

    async fn validate_template(&self, template: &Template) -> CloudResult<()> {
        let target = match template {
            Template::Body(_) => "body",
            Template::Url(u) => u,
        };
        self.call("ValidateTemplate", target).await?;
        let w = self.world();
        if let Some(m) = &w.invalid_template {
            return Err(CloudError::Service {
                code: Some("ValidationError".into()),
                message: m.clone(),
            });
        }
        let text = w.template_text(template)?;
        match serde_json::from_str::<Json>(&text) {
            Ok(Json::Object(_)) => Ok(()),
            _ => Err(CloudError::Service {
                code: Some("ValidationError".into()),
                message: "Template format error: not a JSON object".into(),
            }),
        }
    }

    async fn create_change_set(
        &self,
        request: &StackRequest,
        name: &str,
        kind: ChangeSetKind,
    ) -> CloudResult<ChangeSetId> {
        self.call("CreateChangeSet", &request.stack).await?;
        let mut w = self.world();
        let template = w.template_text(&request.template)?;
        let existing = w.stack(&request.stack).cloned();
        match (kind, &existing) {
            (ChangeSetKind::Update, None) => return Err(World::not_found(&request.stack)),
            (ChangeSetKind::Create, Some(s)) if s.status != "REVIEW_IN_PROGRESS" => {
                return Err(CloudError::Service {
                    code: Some("AlreadyExistsException".into()),
                    message: format!("Stack [{}] already exists", request.stack),
                })
            }
            _ => {}
        }
        let parameters = w.resolve_parameters(existing.as_ref(), &request.parameters);
        let old_template = existing
            .as_ref()
            .filter(|_| kind == ChangeSetKind::Update)
            .map(|s| s.template.clone())
            .unwrap_or_default();
        let changes = w.changes(&old_template, &template);
        let unchanged = kind == ChangeSetKind::Update
            && changes.is_empty()
            && existing
                .as_ref()
                .is_some_and(|s| s.parameters == parameters && s.tags == request.tags);
        if unchanged && w.refuse_unchanged_at_create {
            return Err(CloudError::Service {
                code: Some("ValidationError".into()),
                message: "No updates are to be performed.".into(),
            });
        }
        let stack_id = match existing {
            Some(s) => s.id,
            None => {
                let id = w.put_stack(&request.stack, &Json::Null, "REVIEW_IN_PROGRESS");
                if let Some(s) = w.stack_mut(&id) {
                    s.template = String::new();
                    s.events.push(StackEvent {
                        id: format!("review-{id}"),
                        timestamp: event_time(0),
                        logical_id: request.stack.clone(),
                        resource_type: "AWS::CloudFormation::Stack".into(),
                        status: "REVIEW_IN_PROGRESS".into(),
                        reason: Some("User Initiated".into()),
                    });
                }
                id
            }
        };
        if let Some(s) = w.stack_mut(&stack_id) {
            s.role_arn = request.role_arn.clone();
        }
        let n = w.id();
        let status = match w.fail_change_set.remove(&request.stack) {
            Some(reason) => ChangeSetStatus::Failed(reason),
            None if unchanged => ChangeSetStatus::Failed(
                "The submitted information didn't contain changes. Submit different information to create a change set."
                    .into(),
            ),
            None => ChangeSetStatus::Ready,
        };
        let id = ChangeSetId {
            id: format!(
                "arn:aws:cloudformation:us-east-1:{}:changeSet/{name}/{n}",
                w.account
            ),
            stack_id,
        };
        w.change_sets.push(FakeChangeSet {
            id: id.clone(),
            template,
            parameters,
            tags: request.tags.clone(),
            polls: 1,
            status,
            changes,
        });
        Ok(id)
    }

    async fn describe_change_set(&self, id: &ChangeSetId) -> CloudResult<ChangeSet> {
        self.call("DescribeChangeSet", &id.stack_id).await?;
        let mut w = self.world();
        let cs = w
            .change_sets
            .iter_mut()
            .find(|c| c.id == *id)
            .ok_or_else(|| CloudError::service(format!("ChangeSet [{}] does not exist", id.id)))?;
        if cs.polls > 0 {
            cs.polls -= 1;
            return Ok(ChangeSet {
                status: ChangeSetStatus::Pending,
                changes: vec![],
            });
        }
        Ok(ChangeSet {
            status: cs.status.clone(),
            changes: cs.changes.clone(),
        })
    }

    async fn execute_change_set(&self, id: &ChangeSetId, disable_rollback: bool) -> CloudResult<()> {
        self.call("ExecuteChangeSet", &id.stack_id).await?;
        let mut w = self.world();
        let i = w
            .change_sets
            .iter()
            .position(|c| c.id == *id)
            .ok_or_else(|| CloudError::service(format!("ChangeSet [{}] does not exist", id.id)))?;
        let cs = w.change_sets.remove(i);
        if cs.status != ChangeSetStatus::Ready {
            return Err(CloudError::service("the change set is not executable"));
        }
        w.start(
            &id.stack_id,
            cs.template,
            cs.parameters,
            cs.tags,
            disable_rollback,
        );
        Ok(())
    }

    async fn delete_change_set(&self, id: &ChangeSetId) -> CloudResult<()> {
        self.call("DeleteChangeSet", &id.stack_id).await?;
        self.world().change_sets.retain(|c| c.id != *id);
        Ok(())
    }

    async fn create_stack(&self, request: &StackRequest) -> CloudResult<String> {
        self.call("CreateStack", &request.stack).await?;
        let mut w = self.world();
        if w.stack(&request.stack).is_some() {
            return Err(CloudError::service(format!(
                "Stack [{}] already exists",
                request.stack
            )));
        }
        let template = w.template_text(&request.template)?;
        let parameters = w.resolve_parameters(None, &request.parameters);
        let id = w.put_stack(&request.stack, &Json::Null, "REVIEW_IN_PROGRESS");
        if let Some(s) = w.stack_mut(&id) {
            s.template = String::new();
            s.termination_protection = request.termination_protection;
            s.role_arn = request.role_arn.clone();
        }
        w.start(
            &id,
            template,
            parameters,
            request.tags.clone(),
            request.disable_rollback,
        );
        Ok(id)
    }

    async fn update_stack(&self, request: &StackRequest) -> CloudResult<()> {
        self.call("UpdateStack", &request.stack).await?;
        let mut w = self.world();
        let s = w
            .stack(&request.stack)
            .cloned()
            .ok_or_else(|| World::not_found(&request.stack))?;
        let template = w.template_text(&request.template)?;
        let parameters = w.resolve_parameters(Some(&s), &request.parameters);
        if w.changes(&s.template, &template).is_empty()
            && s.parameters == parameters
            && s.tags == request.tags
        {
            return Err(CloudError::Service {
                code: Some("ValidationError".into()),
                message: "No updates are to be performed.".into(),
            });
        }
        if let Some(st) = w.stack_mut(&s.id) {
            st.role_arn = request.role_arn.clone();
        }
        w.start(
            &s.id,
            template,
            parameters,
            request.tags.clone(),
            request.disable_rollback,
        );
        Ok(())
    }

    async fn delete_stack(&self, stack: &str, role_arn: Option<&str>) -> CloudResult<()> {
        self.call("DeleteStack", stack).await?;
        let mut w = self.world();
        let n = w.id();
        let Some(s) = w.stack_mut(stack) else {
            return Ok(());
        };
        s.role_arn = role_arn.map(String::from);
        s.status = "DELETE_IN_PROGRESS".into();
        s.pending = Some(Pending {
            status: "DELETE_COMPLETE".into(),
            reason: None,
            events: vec![],
            apply: None,
        });
        s.events.push(StackEvent {
            id: format!("e{n}"),
            timestamp: event_time(n),
            logical_id: s.name.clone(),
            resource_type: "AWS::CloudFormation::Stack".into(),
            status: "DELETE_IN_PROGRESS".into(),
            reason: Some("User Initiated".into()),
        });
        w.in_flight += 1;
        Ok(())
    }

    async fn continue_update_rollback(&self, stack: &str) -> CloudResult<()> {
        self.call("ContinueUpdateRollback", stack).await?;
        let mut w = self.world();
        let Some(s) = w.stack_mut(stack) else {
            return Err(World::not_found(stack));
        };
        s.status = "UPDATE_ROLLBACK_IN_PROGRESS".into();
        s.pending = Some(Pending {
            status: "UPDATE_ROLLBACK_COMPLETE".into(),
            reason: None,
            events: vec![],
            apply: None,
        });
        w.in_flight += 1;
        Ok(())
    }

    async fn update_termination_protection(&self, stack: &str, enabled: bool) -> CloudResult<()> {
        self.call("UpdateTerminationProtection", stack).await?;
        let mut w = self.world();
        let s = w.stack_mut(stack).ok_or_else(|| World::not_found(stack))?;
        s.termination_protection = enabled;
        Ok(())
    }
}

impl ObjectStore for FakeCloud {
    async fn object_exists(&self, bucket: &str, key: &str) -> CloudResult<bool> {
        self.call("HeadObject", &format!("{bucket}/{key}")).await?;
        Ok(self
            .world()
            .objects
            .contains_key(&(bucket.to_string(), key.to_string())))
    }

    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> CloudResult<()> {
        self.call("PutObject", &format!("{bucket}/{key}")).await?;
        self.world()
            .objects
            .insert((bucket.to_string(), key.to_string()), body);
        Ok(())
    }
}

impl AccountInfo for FakeCloud {
    async fn account(&self) -> CloudResult<String> {
        self.call("GetCallerIdentity", "-").await?;
        Ok(self.world().account.clone())
    }

    async fn parameter(&self, name: &str) -> CloudResult<Option<String>> {
        self.call("GetParameter", name).await?;
        Ok(self.world().parameters.get(name).cloned())
    }
}

impl Cloud for FakeCloud {
    fn region(&self) -> &str {
        &self.region
    }
}

/// The fake's clouds: every region shares the world.
pub(crate) struct FakeClouds {
    world: Arc<Mutex<World>>,
    default_region: Option<String>,
}

impl Clouds for FakeClouds {
    type Cloud = FakeCloud;

    fn default_region(&self) -> Option<String> {
        self.default_region.clone()
    }

    async fn connect(&self, region: &str) -> FakeCloud {
        FakeCloud {
            region: region.to_string(),
            role: None,
            world: self.world.clone(),
        }
    }

    async fn assume(&self, region: &str, role_arn: &str) -> CloudResult<FakeCloud> {
        let cloud = FakeCloud {
            region: region.to_string(),
            role: None,
            world: self.world.clone(),
        };
        cloud.call("AssumeRole", role_arn).await?;
        if cloud.world().unassumable.contains(role_arn) {
            return Err(CloudError::Service {
                code: Some("AccessDenied".into()),
                message: format!("not authorized to perform sts:AssumeRole on {role_arn}"),
            });
        }
        Ok(FakeCloud {
            role: Some(role_arn.to_string()),
            ..cloud
        })
    }
}

/// Answers every question the same, and keeps the questions.
pub(crate) struct Answer {
    pub yes: bool,
    pub asked: Mutex<Vec<String>>,
}

impl Ask for Answer {
    fn ask(&self, question: &str) -> bool {
        if let Ok(mut a) = self.asked.lock() {
            a.push(question.to_string());
        }
        self.yes
    }
}

/// A run against the fake: its world, what it wrote, the context.
pub(crate) struct Harness {
    pub world: Arc<Mutex<World>>,
    pub out: Buffer,
    pub err: Buffer,
    pub ctx: Arc<Ctx<FakeClouds>>,
}

impl Harness {
    /// A fake in `us-east-1`, bootstrapped, with nobody to ask.
    pub(crate) fn new() -> Self {
        Self::build(None, false)
    }

    /// Same, with `--json` output or someone who answers.
    pub(crate) fn build(ask: Option<Arc<Answer>>, json: bool) -> Self {
        let world = Arc::new(Mutex::new(World {
            account: ACCOUNT.into(),
            ..World::default()
        }));
        let (out, err) = (Buffer::default(), Buffer::default());
        let report = Reporter::new(
            Box::new(out.clone()),
            Box::new(err.clone()),
            json,
            ask.map(|a| a as Arc<dyn Ask>),
        );
        let clouds = FakeClouds {
            world: world.clone(),
            default_region: Some("us-east-1".into()),
        };
        let h = Harness {
            world,
            out,
            err,
            ctx: Arc::new(Ctx::new(clouds, report, false)),
        };
        h.world().bootstrap("us-east-1");
        h
    }

    /// Another run (a new context, new output) against the same world.
    pub(crate) fn again(&self) -> Self {
        let (out, err) = (Buffer::default(), Buffer::default());
        let report = Reporter::new(Box::new(out.clone()), Box::new(err.clone()), false, None);
        let clouds = FakeClouds {
            world: self.world.clone(),
            default_region: Some("us-east-1".into()),
        };
        Harness {
            world: self.world.clone(),
            out,
            err,
            ctx: Arc::new(Ctx::new(clouds, report, false)),
        }
    }

    /// The world, locked.
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        match self.world.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}
