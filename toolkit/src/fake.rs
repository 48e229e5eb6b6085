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
    CloudResult, Clouds, DetectionStatus, DriftDetection, ObjectInfo, ObjectStore, Parameter, ResourceChange,
    ResourceDrift, ResourceToImport, StackRequest, StackState, StackSummary, Template,
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
    kind: ChangeSetKind,
    import: Vec<ResourceToImport>,
}

/// The seconds since the Unix epoch, now.
pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Everything the fake holds, and its knobs.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub account: String,
    pub stacks: Vec<FakeStack>,
    change_sets: Vec<FakeChangeSet>,
    pub parameters: BTreeMap<String, String>,
    pub objects: BTreeMap<(String, String), Vec<u8>>,
    /// When each object was written (seconds since the epoch; default: long ago).
    pub object_modified: BTreeMap<(String, String), i64>,
    /// Each object's tags.
    pub object_tags: BTreeMap<(String, String), Vec<(String, String)>>,
    /// Objects `DeleteObjects` cannot delete (`AccessDenied`).
    pub undeletable: std::collections::BTreeSet<(String, String)>,
    /// Resources (by stack name) whose rollback fails, `(logical id, reason)`, until a
    /// `ContinueUpdateRollback` skips them.
    pub fail_rollback: BTreeMap<String, Vec<(String, String)>>,
    /// Stacks (by name) whose [`World::fail_rollback`] resources fail even when skipped.
    pub stubborn_rollback: std::collections::BTreeSet<String>,
    /// The `ResourcesToSkip` of every `ContinueUpdateRollback`, by stack name.
    pub rollback_skips: Vec<(String, Vec<String>)>,
    /// The drift `DescribeStackResourceDrifts` reports, by stack name (default: every
    /// resource of the template `IN_SYNC`).
    pub drifts: BTreeMap<String, Vec<ResourceDrift>>,
    /// Drift detections fail with this reason (`DETECTION_FAILED`).
    pub drift_failure: Option<String>,
    /// Running drift detections: id -> (stack name, polls left in progress).
    detections: BTreeMap<String, (String, u32)>,
    /// The `ResourcesToImport` of every `IMPORT` change set, by stack name.
    pub imports: Vec<(String, Vec<ResourceToImport>)>,
    /// Lambda functions, state machines, task definitions and ECS services (hotswaps).
    pub services: crate::hotswap::fake::FakeServices,
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

impl FakeStack {
    /// Records an event of the stack itself (`AWS::CloudFormation::Stack`), the `n`th of
    /// the world.
    fn push_stack_event(&mut self, n: u64, status: &str, reason: Option<&str>) {
        self.events.push(StackEvent {
            id: format!("e{n}"),
            timestamp: event_time(n),
            logical_id: self.name.clone(),
            resource_type: "AWS::CloudFormation::Stack".into(),
            status: status.into(),
            reason: reason.map(Into::into),
        });
    }
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
        s.push_stack_event(n, &s.status.clone(), Some("User Initiated"));
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
        s.push_stack_event(n, &s.status.clone(), None);
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Starts a rollback of `target` (`RollbackStack` or `ContinueUpdateRollback`): it
    /// fails again on the [`World::fail_rollback`] resources `skip` does not name.
    fn start_rollback(
        &mut self,
        target: &str,
        in_progress: &str,
        failed: &str,
        complete: &str,
        skip: &[String],
    ) {
        let n = self.id();
        let name = self.stack(target).map(|s| s.name.clone()).unwrap_or_default();
        let stubborn = self.stubborn_rollback.contains(&name);
        let failing: Vec<(String, String)> = self
            .fail_rollback
            .get(&name)
            .into_iter()
            .flatten()
            .filter(|(l, _)| stubborn || !skip.contains(l))
            .cloned()
            .collect();
        let Some(s) = self.stack_mut(target) else { return };
        let types = resources(&s.template);
        s.status = in_progress.into();
        s.push_stack_event(n, in_progress, Some("User Initiated"));
        let mut events: Vec<(String, String, String, Option<String>)> = skip
            .iter()
            .map(|l| {
                let ty = types.get(l).map(resource_type).unwrap_or_default();
                (
                    l.clone(),
                    ty,
                    "UPDATE_COMPLETE".into(),
                    Some("Resource skipped".into()),
                )
            })
            .collect();
        for (logical, reason) in &failing {
            let ty = types.get(logical).map(resource_type).unwrap_or_default();
            events.push((logical.clone(), ty, "UPDATE_FAILED".into(), Some(reason.clone())));
        }
        s.pending = Some(Pending {
            status: if failing.is_empty() { complete } else { failed }.into(),
            reason: (!failing.is_empty()).then(|| "The following resource(s) failed to roll back".into()),
            events,
            apply: None,
        });
        self.in_flight += 1;
    }

    /// Starts the execution of an `IMPORT` change set: the resources are adopted (their
    /// physical ids are their identifiers' values).
    fn start_import(&mut self, target: &str, cs: FakeChangeSet) {
        let n = self.id();
        let Some(s) = self.stack_mut(target) else { return };
        s.status = "IMPORT_IN_PROGRESS".into();
        s.push_stack_event(n, "IMPORT_IN_PROGRESS", Some("User Initiated"));
        let mut events = Vec::new();
        for r in &cs.import {
            let physical = r.identifier.values().next().cloned().unwrap_or_default();
            s.physical.insert(r.logical_id.clone(), physical);
            events.push((
                r.logical_id.clone(),
                r.resource_type.clone(),
                "IMPORT_COMPLETE".into(),
                None,
            ));
        }
        s.pending = Some(Pending {
            status: "IMPORT_COMPLETE".into(),
            reason: None,
            events,
            apply: Some((cs.template, cs.parameters, cs.tags)),
        });
        self.in_flight += 1;
    }

    /// What CloudFormation refuses in an `IMPORT` change set from `old` to `new`: a
    /// resource to import missing from the template or without a `DeletionPolicy`, or any
    /// other resource change.
    fn import_errors(old: &str, new: &str, import: &[ResourceToImport]) -> Option<String> {
        let (old, new) = (resources(old), resources(new));
        for r in import {
            match new.get(&r.logical_id) {
                None => return Some(format!("Resource {} to import is not in the template", r.logical_id)),
                Some(d) if d.get("DeletionPolicy").is_none() => {
                    return Some(format!(
                        "The following resource(s) to import [{}] must have DeletionPolicy attribute specified in the template.",
                        r.logical_id
                    ))
                }
                Some(_) => {}
            }
        }
        let importing = |id: &str| import.iter().any(|r| r.logical_id == id);
        let changed = new.iter().any(|(id, r)| !importing(id) && old.get(id) != Some(r))
            || old.keys().any(|id| !new.contains_key(id));
        changed.then(|| {
            "There are no changes to import / other resources cannot be changed in an IMPORT operation".into()
        })
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
                    Some(v) => match (
                        v.get("Ref").and_then(Json::as_str),
                        v.get("Fn::Sub").and_then(Json::as_str),
                    ) {
                        (Some(r), _) => physical(r),
                        (None, Some(sub)) => match sub.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
                            Some(r) if !r.contains('$') => physical(r),
                            _ => format!("value-of-{k}"),
                        },
                        _ => format!("value-of-{k}"),
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
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        match self.world.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Records the call; fails when the endpoint is "down"; takes the latency.
    pub(crate) async fn call(&self, operation: &str, target: &str) -> CloudResult<()> {
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
            (ChangeSetKind::Import, _) => {
                let old = existing.as_ref().map(|s| s.template.clone()).unwrap_or_default();
                if let Some(message) = World::import_errors(&old, &template, &request.resources_to_import) {
                    return Err(CloudError::Service {
                        code: Some("ValidationError".into()),
                        message,
                    });
                }
                w.imports
                    .push((request.stack.clone(), request.resources_to_import.clone()));
            }
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
            .filter(|_| kind != ChangeSetKind::Create)
            .map(|s| s.template.clone())
            .unwrap_or_default();
        let changes = match kind {
            ChangeSetKind::Import => request
                .resources_to_import
                .iter()
                .map(|r| ResourceChange {
                    action: "Import".into(),
                    logical_id: r.logical_id.clone(),
                    resource_type: r.resource_type.clone(),
                    replacement: Replacement::Never,
                })
                .collect(),
            _ => w.changes(&old_template, &template),
        };
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
            kind,
            import: request.resources_to_import.clone(),
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
        if cs.kind == ChangeSetKind::Import {
            w.start_import(&id.stack_id, cs);
            return Ok(());
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
        s.push_stack_event(n, "DELETE_IN_PROGRESS", Some("User Initiated"));
        w.in_flight += 1;
        Ok(())
    }

    async fn continue_update_rollback(
        &self,
        stack: &str,
        role_arn: Option<&str>,
        skip: &[String],
    ) -> CloudResult<()> {
        self.call("ContinueUpdateRollback", stack).await?;
        let mut w = self.world();
        let Some(s) = w.stack_mut(stack) else {
            return Err(World::not_found(stack));
        };
        if s.status != "UPDATE_ROLLBACK_FAILED" {
            return Err(CloudError::Service {
                code: Some("ValidationError".into()),
                message: format!(
                    "Stack {} is in {} state and can not continue an update rollback",
                    s.name, s.status
                ),
            });
        }
        s.role_arn = role_arn.map(String::from);
        let name = s.name.clone();
        w.rollback_skips.push((name, skip.to_vec()));
        w.start_rollback(
            stack,
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_FAILED",
            "UPDATE_ROLLBACK_COMPLETE",
            skip,
        );
        Ok(())
    }

    async fn rollback_stack(&self, stack: &str, role_arn: Option<&str>) -> CloudResult<()> {
        self.call("RollbackStack", stack).await?;
        let mut w = self.world();
        let Some(s) = w.stack_mut(stack) else {
            return Err(World::not_found(stack));
        };
        let (in_progress, failed, complete) = match s.status.as_str() {
            "CREATE_FAILED" => ("ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "ROLLBACK_COMPLETE"),
            "UPDATE_FAILED" => (
                "UPDATE_ROLLBACK_IN_PROGRESS",
                "UPDATE_ROLLBACK_FAILED",
                "UPDATE_ROLLBACK_COMPLETE",
            ),
            other => {
                return Err(CloudError::Service {
                    code: Some("ValidationError".into()),
                    message: format!("Stack {} is in {other} state and can not be rolled back", s.name),
                })
            }
        };
        s.role_arn = role_arn.map(String::from);
        w.start_rollback(stack, in_progress, failed, complete, &[]);
        Ok(())
    }

    async fn detect_stack_drift(&self, stack: &str) -> CloudResult<String> {
        self.call("DetectStackDrift", stack).await?;
        let mut w = self.world();
        let name = w
            .stack(stack)
            .map(|s| s.name.clone())
            .ok_or_else(|| World::not_found(stack))?;
        let id = format!("drift-{}", w.id());
        w.detections.insert(id.clone(), (name, 1));
        Ok(id)
    }

    async fn drift_detection_status(&self, detection_id: &str) -> CloudResult<DriftDetection> {
        self.call("DescribeStackDriftDetectionStatus", detection_id)
            .await?;
        let mut w = self.world();
        let failure = w.drift_failure.clone();
        let Some((name, polls)) = w.detections.get_mut(detection_id) else {
            return Err(CloudError::service(format!("no drift detection {detection_id}")));
        };
        if *polls > 0 {
            *polls -= 1;
            return Ok(DriftDetection {
                status: DetectionStatus::InProgress,
                stack_drift_status: None,
            });
        }
        let name = name.clone();
        let drifted = w.drifts.get(&name).is_some_and(|d| {
            d.iter()
                .any(|r| matches!(r.status.as_str(), "MODIFIED" | "DELETED"))
        });
        Ok(DriftDetection {
            status: failure.map_or(DetectionStatus::Complete, DetectionStatus::Failed),
            stack_drift_status: Some(if drifted { "DRIFTED" } else { "IN_SYNC" }.into()),
        })
    }

    async fn stack_resource_drifts(&self, stack: &str) -> CloudResult<Vec<ResourceDrift>> {
        self.call("DescribeStackResourceDrifts", stack).await?;
        let w = self.world();
        let s = w.stack(stack).ok_or_else(|| World::not_found(stack))?;
        if let Some(d) = w.drifts.get(&s.name) {
            return Ok(d.clone());
        }
        Ok(resources(&s.template)
            .iter()
            .map(|(id, r)| ResourceDrift {
                logical_id: id.clone(),
                physical_id: s
                    .physical
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| format!("phys-{id}")),
                resource_type: resource_type(r),
                status: "IN_SYNC".into(),
                differences: vec![],
            })
            .collect())
    }

    async fn list_stacks(&self) -> CloudResult<Vec<StackSummary>> {
        self.call("ListStacks", "-").await?;
        Ok(self
            .world()
            .stacks
            .iter()
            .map(|s| StackSummary {
                id: s.id.clone(),
                name: s.name.clone(),
                status: s.status.clone(),
            })
            .collect())
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
        let mut w = self.world();
        let k = (bucket.to_string(), key.to_string());
        w.objects.insert(k.clone(), body);
        w.object_modified.insert(k, now_secs());
        Ok(())
    }

    async fn list_objects(&self, bucket: &str) -> CloudResult<Vec<ObjectInfo>> {
        self.call("ListObjectsV2", bucket).await?;
        let w = self.world();
        Ok(w.objects
            .iter()
            .filter(|((b, _), _)| b == bucket)
            .map(|(k, body)| ObjectInfo {
                key: k.1.clone(),
                size: body.len() as u64,
                last_modified: w.object_modified.get(k).copied().unwrap_or(0),
            })
            .collect())
    }

    async fn object_tags(&self, bucket: &str, key: &str) -> CloudResult<Vec<(String, String)>> {
        self.call("GetObjectTagging", &format!("{bucket}/{key}")).await?;
        let w = self.world();
        let k = (bucket.to_string(), key.to_string());
        if !w.objects.contains_key(&k) {
            return Err(CloudError::Service {
                code: Some("NoSuchKey".into()),
                message: "The specified key does not exist.".into(),
            });
        }
        Ok(w.object_tags.get(&k).cloned().unwrap_or_default())
    }

    async fn set_object_tags(&self, bucket: &str, key: &str, tags: &[(String, String)]) -> CloudResult<()> {
        let op = if tags.is_empty() {
            "DeleteObjectTagging"
        } else {
            "PutObjectTagging"
        };
        self.call(op, &format!("{bucket}/{key}")).await?;
        let mut w = self.world();
        let k = (bucket.to_string(), key.to_string());
        if tags.is_empty() {
            w.object_tags.remove(&k);
        } else {
            w.object_tags.insert(k, tags.to_vec());
        }
        Ok(())
    }

    async fn delete_objects(&self, bucket: &str, keys: &[String]) -> CloudResult<Vec<(String, String)>> {
        self.call("DeleteObjects", &format!("{bucket} {}", keys.join(",")))
            .await?;
        let mut w = self.world();
        let mut errors = Vec::new();
        for key in keys {
            let k = (bucket.to_string(), key.clone());
            if w.undeletable.contains(&k) {
                errors.push((key.clone(), "AccessDenied: Access Denied".to_string()));
                continue;
            }
            w.objects.remove(&k);
            w.object_tags.remove(&k);
            w.object_modified.remove(&k);
        }
        Ok(errors)
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

/// Answers every question the same, and keeps the questions; text questions get the
/// `inputs` in order (then empty lines).
#[derive(Default)]
pub(crate) struct Answer {
    pub yes: bool,
    pub asked: Mutex<Vec<String>>,
    pub inputs: Mutex<std::collections::VecDeque<String>>,
}

impl Answer {
    /// Says `yes` to every yes/no question and types `inputs` in turn.
    pub(crate) fn new(yes: bool, inputs: &[&str]) -> Arc<Self> {
        Arc::new(Answer {
            yes,
            asked: Mutex::new(vec![]),
            inputs: Mutex::new(inputs.iter().map(|s| s.to_string()).collect()),
        })
    }

    /// The questions asked so far.
    pub(crate) fn questions(&self) -> Vec<String> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl Ask for Answer {
    fn ask(&self, question: &str) -> bool {
        if let Ok(mut a) = self.asked.lock() {
            a.push(question.to_string());
        }
        self.yes
    }

    fn input(&self, question: &str) -> String {
        if let Ok(mut a) = self.asked.lock() {
            a.push(question.to_string());
        }
        self.inputs
            .lock()
            .ok()
            .and_then(|mut i| i.pop_front())
            .unwrap_or_default()
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
