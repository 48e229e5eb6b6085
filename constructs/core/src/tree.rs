//! The construct tree: an arena of nodes owned by the [`App`], addressed by `Copy` handles.
//!
//! `App > (Stage >) Stack > constructs to any depth`. Ids are validated and unique among
//! siblings; paths read `Stack/Group/Child`.

use std::fmt;
use std::panic::Location;
use std::rc::Rc;

use indexmap::IndexMap;

use crate::annotations::{Annotation, Diagnostic, Level};
use crate::asset::{AssetLocation, FileAsset, FileAssetArtifact, StagedAsset};
use crate::context::{context_key, provider_error, ContextQuery, MissingContext};
use crate::error::{Error, Result};
use crate::id::{AppId, ConditionRef, MappingRef, NodeId, OutputRef, ParameterRef, Stack, Stage};
use crate::resource::{PropertyOverride, Res, Resource, ResourceEntry, ResourceOptions, TypedResource};
use crate::template::{Environment, Mapping, Output, Parameter, StackProps};
use crate::validate::Validator;
use crate::value::Value;

// ---- the extension points an app stores: aspects and reporters ----

/// A visitor applied to each node below the scope it was added to.
pub trait Aspect {
    /// Visits one node. The aspect may read and change anything in the app: downcast the
    /// node's resource with `app.node_mut(node).resource_mut::<T>()`, annotate it, add
    /// nodes, or add aspects (which are applied in a later pass).
    fn visit(&self, app: &mut App, node: NodeId);

    /// A short name for messages and reports.
    fn name(&self) -> String {
        std::any::type_name::<Self>()
            .rsplit("::")
            .next()
            .unwrap_or("aspect")
            .to_string()
    }
}

/// An aspect added to a node, with its priority.
#[derive(Clone)]
pub struct AspectApplication {
    pub(crate) aspect: Rc<dyn Aspect>,
    pub(crate) priority: i32,
    /// Order of addition across the app: ties in priority run in this order.
    pub(crate) seq: u64,
}

impl std::fmt::Debug for AspectApplication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AspectApplication")
            .field("aspect", &self.aspect.name())
            .field("priority", &self.priority)
            .finish()
    }
}

/// Which aspect (by `seq`) has been applied to which node.
#[derive(Debug, Default)]
pub(crate) struct AspectState {
    pub(crate) next_seq: u64,
    /// Per node (by index), the `seq`s of the aspects applied to it: a handful each, so a
    /// short vector beats a hash set on the hot path.
    pub(crate) applied: Vec<Vec<u64>>,
    /// The highest priority applied so far per node, to refuse inversions.
    pub(crate) last_priority: Vec<Option<i32>>,
}

/// A file a [`Reporter`] writes into the assembly directory, with an optional summary
/// for the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Files to write, as (name relative to the assembly directory, contents).
    pub files: Vec<(String, String)>,
    /// Text for the terminal, e.g. a findings table.
    pub summary: Option<String>,
}

/// Produces reports after synthesis (compliance findings, SARIF ...). Reports are made
/// whether synthesis succeeded or was refused, so a refused app still leaves its
/// findings behind.
pub trait Reporter: std::any::Any {
    /// The report of an app; `assembly` is `None` when synthesis was refused.
    fn report(&self, app: &App, assembly: Option<&crate::assembly::CloudAssembly>) -> Report;
}

/// Data of a stage node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageData {
    /// The environment the stage's stacks default to.
    pub env: Environment,
}

/// Data of a stack node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackData {
    /// The stack's settings.
    pub props: StackProps,
    /// Explicit dependencies on other stacks.
    pub dependencies: Vec<NodeId>,
}

/// What a node is.
#[derive(Debug)]
pub enum NodeKind {
    /// The root.
    App,
    /// A stage.
    Stage(StageData),
    /// A stack.
    Stack(Box<StackData>),
    /// A grouping construct with no template presence of its own (an L2 or L3 construct).
    Construct,
    /// A CloudFormation resource.
    Resource(ResourceEntry),
    /// A template parameter.
    Parameter(Box<Parameter>),
    /// A template condition.
    Condition(Value),
    /// A template mapping.
    Mapping(Mapping),
    /// A template output.
    Output(Box<Output>),
    /// A template rule (`Rules` section), as written in the CloudFormation docs.
    Rule(Value),
}

impl NodeKind {
    /// A short English name of the kind, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            NodeKind::App => "app",
            NodeKind::Stage(_) => "stage",
            NodeKind::Stack(_) => "stack",
            NodeKind::Construct => "construct",
            NodeKind::Resource(_) => "resource",
            NodeKind::Parameter(_) => "parameter",
            NodeKind::Condition(_) => "condition",
            NodeKind::Mapping(_) => "mapping",
            NodeKind::Output(_) => "output",
            NodeKind::Rule(_) => "rule",
        }
    }

    /// True for kinds that become an entry of a template section and need a logical ID.
    pub fn is_template_element(&self) -> bool {
        matches!(
            self,
            NodeKind::Resource(_)
                | NodeKind::Parameter(_)
                | NodeKind::Condition(_)
                | NodeKind::Mapping(_)
                | NodeKind::Output(_)
                | NodeKind::Rule(_)
        )
    }
}

/// One node of the construct tree.
#[derive(Debug)]
pub struct Node {
    id: String,
    parent: Option<NodeId>,
    children: IndexMap<String, NodeId>,
    kind: NodeKind,
    annotations: Vec<Annotation>,
    metadata: IndexMap<String, Value>,
    logical_id_override: Option<String>,
    /// Aspects added to this node (applied to it and everything below it).
    pub(crate) aspects: Vec<AspectApplication>,
    location: Option<&'static Location<'static>>,
}

impl Node {
    /// The node's id among its siblings.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The parent node, `None` for the app.
    pub fn parent(&self) -> Option<NodeId> {
        self.parent
    }

    /// Children in the order they were added.
    pub fn children(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.children.values().copied()
    }

    /// Where in the user's code the node was created (file, line), for reports.
    pub fn location(&self) -> Option<&'static Location<'static>> {
        self.location
    }

    /// The child with an id.
    pub fn child(&self, id: &str) -> Option<NodeId> {
        self.children.get(id).copied()
    }

    /// What the node is (fixed when the node is added: handles rely on it).
    pub fn kind(&self) -> &NodeKind {
        &self.kind
    }

    /// Messages attached to the node.
    pub fn annotations(&self) -> &[Annotation] {
        &self.annotations
    }

    /// Messages attached to the node, mutably (e.g. to replace an earlier warning).
    pub fn annotations_mut(&mut self) -> &mut Vec<Annotation> {
        &mut self.annotations
    }

    /// Free-form construct metadata (cairn's own keys, and what rules and scanners read).
    pub fn metadata(&self) -> &IndexMap<String, Value> {
        &self.metadata
    }

    /// Free-form construct metadata, mutably.
    pub fn metadata_mut(&mut self) -> &mut IndexMap<String, Value> {
        &mut self.metadata
    }

    /// The logical ID set with [`App::override_logical_id`], if any.
    pub fn logical_id_override(&self) -> Option<&str> {
        self.logical_id_override.as_deref()
    }

    /// The resource entry, when this node is a resource.
    pub fn resource_entry(&self) -> Option<&ResourceEntry> {
        match &self.kind {
            NodeKind::Resource(r) => Some(r),
            _ => None,
        }
    }

    /// The resource entry, mutably, when this node is a resource.
    pub fn resource_entry_mut(&mut self) -> Option<&mut ResourceEntry> {
        match &mut self.kind {
            NodeKind::Resource(r) => Some(r),
            _ => None,
        }
    }

    /// The resource downcast to its typed struct, when this node holds a `T`.
    pub fn resource<T: Resource>(&self) -> Option<&T> {
        self.resource_entry()?.resource.as_any().downcast_ref::<T>()
    }

    /// The resource downcast to its typed struct, mutably, when this node holds a `T`.
    pub fn resource_mut<T: Resource>(&mut self) -> Option<&mut T> {
        self.resource_entry_mut()?
            .resource
            .as_any_mut()
            .downcast_mut::<T>()
    }

    /// The CloudFormation type, when this node is a resource.
    pub fn resource_type(&self) -> Option<&str> {
        self.resource_entry().map(|r| r.resource.resource_type())
    }

    /// Attaches an annotation.
    pub fn annotate(&mut self, level: Level, message: impl Into<String>) {
        self.annotations.push(Annotation {
            level,
            message: message.into(),
        });
    }
}

/// The root of a cairn app: owns every node, and the validators run at synthesis.
///
/// ```
/// use cairn_core::{App, CfnResource, Output, Value};
///
/// # fn main() -> Result<(), cairn_core::Error> {
/// let mut app = App::new();
/// let stack = app.stack("Storage")?;
/// let bucket = app.add(stack, "Logs", CfnResource::new("AWS::S3::Bucket"))?;
/// app.output(stack, "LogsArn", Output::new(bucket.attr("Arn")))?;
/// let assembly = app.synth()?;
/// assert!(assembly.stack("Storage").unwrap().template_json().contains("\"Logs\""));
/// # Ok(())
/// # }
/// ```
pub struct App {
    id: AppId,
    nodes: Vec<Node>,
    validators: Vec<Box<dyn Validator>>,
    reporters: Vec<Box<dyn Reporter>>,
    pub(crate) aspect_state: AspectState,
    /// File assets, packaged when added, written with their stacks.
    assets: Vec<StagedAsset>,
    /// The context (`CDK_CONTEXT_JSON`, given by [`App::with_context`]).
    context: serde_json::Map<String, serde_json::Value>,
    /// The lookups that missed, by stack, in the order asked.
    missing: Vec<(NodeId, MissingContext)>,
}

impl Default for App {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for App {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("App")
            .field("nodes", &self.nodes.len())
            .field("validators", &self.validators.len())
            .finish()
    }
}

impl App {
    /// An empty app.
    pub fn new() -> App {
        App {
            id: AppId::fresh(),
            nodes: vec![Node {
                id: String::new(),
                parent: None,
                children: IndexMap::new(),
                kind: NodeKind::App,
                annotations: Vec::new(),
                metadata: IndexMap::new(),
                logical_id_override: None,
                aspects: Vec::new(),
                location: None,
            }],
            validators: Vec::new(),
            reporters: Vec::new(),
            aspect_state: AspectState::default(),
            assets: Vec::new(),
            context: serde_json::Map::new(),
            missing: Vec::new(),
        }
    }

    /// An empty app with a context: what the `cairn` and `cdk` CLIs pass in
    /// `CDK_CONTEXT_JSON` (`cairn::Context::from_env()?.into_app()` reads it), which the
    /// app's context lookups ([`App::lookup_context`]) read.
    pub fn with_context(context: serde_json::Map<String, serde_json::Value>) -> App {
        let mut app = App::new();
        app.context = context;
        app
    }

    /// Sets a context value (as the CDK's `node.setContext` on the app).
    pub fn set_context(&mut self, key: &str, value: serde_json::Value) {
        self.context.insert(key.to_string(), value);
    }

    /// A context value, when set.
    pub fn context(&self, key: &str) -> Option<&serde_json::Value> {
        self.context.get(key)
    }

    /// Asks the context for a value of the environment of `scope`'s stack, as
    /// aws-cdk-lib's `ContextProvider.getValue`: the value under the query's key when
    /// the context has it; else the query's dummy value (`null` when it has none), and
    /// the key is reported missing in the stack's manifest entry, for the CLI to look up
    /// and run the app again. A value holding a provider's error (`$providerError`) is
    /// missing too, and the error becomes an error annotation of `scope`. A scope outside
    /// a stack, or a stack without a concrete account and region, is an
    /// [`Error::InvalidProps`] naming the fix.
    ///
    /// ```
    /// use cairn_core::context::{ContextQuery, AVAILABILITY_ZONE_PROVIDER};
    /// use cairn_core::{App, Environment, StackProps};
    /// use serde_json::json;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let env = Some(Environment::new("123456789012", "eu-west-1"));
    /// let stack = app.stack_with(app.root(), "S", StackProps { env, ..StackProps::default() })?;
    /// let mut query = ContextQuery::new(AVAILABILITY_ZONE_PROVIDER, Default::default());
    /// query.dummy_value = Some(json!(["dummy1a", "dummy1b", "dummy1c"]));
    /// assert_eq!(app.lookup_context(stack, &query)?, json!(["dummy1a", "dummy1b", "dummy1c"]));
    /// let asm = app.synth()?;
    /// assert_eq!(
    ///     asm.missing()[0].key,
    ///     "availability-zones:account=123456789012:region=eu-west-1"
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn lookup_context(
        &mut self,
        scope: impl Into<NodeId>,
        query: &ContextQuery,
    ) -> Result<serde_json::Value> {
        let scope = scope.into();
        self.try_node(scope)?;
        let Some(stack) = self.stack_of(scope) else {
            return Err(self.invalid_props(
                scope,
                format!(
                    "the context lookup {} needs a stack; add the construct inside one",
                    query.provider
                ),
            ));
        };
        let Environment {
            account: Some(account),
            region: Some(region),
        } = self.environment_of(stack)
        else {
            return Err(self.invalid_props(
                scope,
                format!(
                    "cannot look up {} from the context: the stack's account and region are not specified; give the stack (or its stage) an environment with both (StackProps::env), the one the lookup reads",
                    query.provider
                ),
            ));
        };
        let key_props = query.key_props(&account, &region);
        let key = context_key(&query.provider, &key_props);
        let value = self.context.get(&key).cloned();
        let error = value.as_ref().and_then(provider_error);
        match value {
            Some(v) if error.is_none() => Ok(v),
            _ => {
                if !self
                    .missing
                    .iter()
                    .any(|(s, m)| *s == stack.node() && m.key == key)
                {
                    let missing = MissingContext {
                        key,
                        provider: query.provider.clone(),
                        props: query.missing_props(&key_props),
                    };
                    self.missing.push((stack.node(), missing));
                }
                if let Some(e) = error {
                    self.annotate(
                        scope,
                        Level::Error,
                        format!("context lookup {}: {e}", query.provider),
                    );
                }
                Ok(query.dummy_value.clone().unwrap_or(serde_json::Value::Null))
            }
        }
    }

    /// The availability zones of a stack's environment (aws-cdk-lib's
    /// `Stack.availabilityZones`): for an account and region both known, the zone names
    /// from the context (`availability-zones` lookup; `dummy1a`..`dummy1c` while missing);
    /// else the first two of `Fn::GetAZs`.
    pub fn availability_zones(&mut self, stack: Stack) -> Result<Vec<Value>> {
        let env = self.environment_of(stack);
        if env.account.is_none() || env.region.is_none() {
            return Ok((0..2).map(|i| Value::select(i, Value::get_azs())).collect());
        }
        let mut query = ContextQuery::new(crate::context::AVAILABILITY_ZONE_PROVIDER, serde_json::Map::new());
        query.dummy_value = Some(serde_json::json!(["dummy1a", "dummy1b", "dummy1c"]));
        let value = self.lookup_context(stack, &query)?;
        match value.as_array().map(|a| a.iter().map(|z| z.as_str().map(Value::from)).collect::<Option<Vec<_>>>()) {
            Some(Some(zones)) => Ok(zones),
            _ => Err(self.invalid_props(
                stack,
                format!("the availability-zones context value is {value}, not a list of zone names; reset it with `cairn context --reset` and synthesize again"),
            )),
        }
    }

    /// The lookups of `stack` that missed, in the order asked.
    pub fn missing_context_of(&self, stack: Stack) -> Vec<&MissingContext> {
        self.missing
            .iter()
            .filter(|(s, _)| *s == stack.node())
            .map(|(_, m)| m)
            .collect()
    }

    /// The root node.
    pub fn root(&self) -> NodeId {
        NodeId::new(self.id, 0)
    }

    /// Registers a validator run over every resource at synthesis (e.g. the L1 schema checks).
    pub fn add_validator(&mut self, v: Box<dyn Validator>) {
        self.validators.push(v);
    }

    /// Registers a validator unless one of the same type is registered already.
    pub fn add_validator_once<V: Validator>(&mut self, v: V) {
        let present = self
            .validators
            .iter()
            .any(|x| (x.as_ref() as &dyn std::any::Any).is::<V>());
        if !present {
            self.validators.push(Box::new(v));
        }
    }

    /// Registers a reporter run after synthesis (see [`App::reports`]).
    pub fn add_reporter(&mut self, r: Box<dyn Reporter>) {
        self.reporters.push(r);
    }

    /// The registered reporter of type `T`, if any (to share one report between users).
    pub fn reporter<T: Reporter>(&self) -> Option<&T> {
        self.reporters
            .iter()
            .find_map(|r| (r.as_ref() as &dyn std::any::Any).downcast_ref::<T>())
    }

    /// The reports of every registered reporter; pass the assembly when synthesis succeeded.
    pub fn reports(&self, assembly: Option<&crate::CloudAssembly>) -> Vec<Report> {
        self.reporters.iter().map(|r| r.report(self, assembly)).collect()
    }

    pub(crate) fn validators(&self) -> &[Box<dyn Validator>] {
        &self.validators
    }

    /// The number of nodes, the root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when the app holds only its root.
    pub fn is_empty(&self) -> bool {
        self.nodes.len() == 1
    }

    /// A node. Panics only on a handle from another app; see [`App::try_node`].
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// A node, mutably. Panics only on a handle from another app; see [`App::try_node_mut`].
    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id.index()]
    }

    /// The free-form metadata of a node, mutably.
    pub fn metadata_mut(&mut self, id: NodeId) -> &mut IndexMap<String, Value> {
        &mut self.nodes[id.index()].metadata
    }

    /// The properties of a resource after overrides, before reference resolution (what
    /// [`ResourceEntry::final_properties`] computes), or `None` when the node is not a
    /// resource of this app.
    pub fn final_properties(&self, id: NodeId) -> Option<IndexMap<String, Value>> {
        Some(self.try_node(id).ok()?.resource_entry()?.final_properties())
    }

    /// One top-level property of a resource after overrides (only that property is
    /// computed): what a rule or aspect that reads a few properties asks for.
    pub fn final_property(&self, id: NodeId, name: &str) -> Option<Value> {
        self.try_node(id).ok()?.resource_entry()?.final_property(name)
    }

    /// A node, or an error for a handle this app did not create.
    pub fn try_node(&self, id: NodeId) -> Result<&Node> {
        if id.app() != self.id {
            return Err(Error::UnknownNode(id.index()));
        }
        self.nodes.get(id.index()).ok_or(Error::UnknownNode(id.index()))
    }

    /// A node, mutably, or an error for a handle this app did not create.
    pub fn try_node_mut(&mut self, id: NodeId) -> Result<&mut Node> {
        self.try_node(id)?;
        self.nodes
            .get_mut(id.index())
            .ok_or(Error::UnknownNode(id.index()))
    }

    /// Every node id in the arena, in creation order.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> {
        let app = self.id;
        (0..self.nodes.len()).map(move |i| NodeId::new(app, i))
    }

    /// The path of a node, e.g. `Stack/Group/Child` (the app's own path is empty).
    pub fn path(&self, id: NodeId) -> String {
        let mut parts = self.path_components(id);
        parts.reverse();
        parts.join("/")
    }

    /// Path components from the node up to (not including) the app, leaf first.
    fn path_components(&self, id: NodeId) -> Vec<&str> {
        let mut parts = Vec::new();
        let mut cur = Some(id);
        while let Some(c) = cur {
            let n = &self.nodes[c.index()];
            if n.parent.is_some() {
                parts.push(n.id.as_str());
            }
            cur = n.parent;
        }
        parts
    }

    /// The ids of the nodes from `ancestor` (exclusive) down to `id` (inclusive).
    pub fn path_from(&self, ancestor: NodeId, id: NodeId) -> Vec<&str> {
        let mut parts = Vec::new();
        let mut cur = Some(id);
        while let Some(c) = cur {
            if c == ancestor {
                break;
            }
            let n = &self.nodes[c.index()];
            parts.push(n.id.as_str());
            cur = n.parent;
        }
        parts.reverse();
        parts
    }

    /// The node at a construct path such as `Stack/Group/Child`.
    pub fn find(&self, path: &str) -> Option<NodeId> {
        let mut cur = self.root();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            cur = self.nodes[cur.index()].children.get(part).copied()?;
        }
        Some(cur)
    }

    /// The nearest stack at or above a node.
    pub fn stack_of(&self, id: NodeId) -> Option<Stack> {
        let mut cur = Some(id);
        while let Some(c) = cur {
            let n = &self.nodes[c.index()];
            if matches!(n.kind, NodeKind::Stack(_)) {
                return Some(Stack::from_node(c));
            }
            cur = n.parent;
        }
        None
    }

    /// The nearest stage at or above a node.
    pub fn stage_of(&self, id: NodeId) -> Option<Stage> {
        let mut cur = Some(id);
        while let Some(c) = cur {
            let n = &self.nodes[c.index()];
            if matches!(n.kind, NodeKind::Stage(_)) {
                return Some(Stage::from_node(c));
            }
            cur = n.parent;
        }
        None
    }

    /// The nodes below `root` (itself included), parents before children, siblings in
    /// the order they were added: the order aspects and synthesis visit them.
    pub fn descendants(&self, root: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            out.push(n);
            let node = &self.nodes[n.index()];
            stack.extend(node.children.values().rev().copied());
        }
        out
    }

    /// Visits every node below `root` top-down with mutable access. The visitor may add
    /// annotations or change resources; nodes it adds are not visited in this pass.
    pub fn visit_mut(&mut self, root: NodeId, mut visit: impl FnMut(&mut App, NodeId)) {
        for n in self.descendants(root) {
            visit(self, n);
        }
    }

    #[track_caller]
    fn add_node(&mut self, scope: NodeId, id: &str, kind: NodeKind) -> Result<NodeId> {
        let scope_node = self.try_node(scope)?;
        if id.is_empty() {
            return Err(Error::InvalidId {
                scope: self.path(scope),
                id: id.to_string(),
                reason: "ids must not be empty",
            });
        }
        if id.contains('/') {
            return Err(Error::InvalidId {
                scope: self.path(scope),
                id: id.to_string(),
                reason: "ids must not contain '/', the path separator",
            });
        }
        if let Some(existing) = scope_node.children.get(id) {
            let scope_path = self.path(scope);
            let path = if scope_path.is_empty() {
                id.to_string()
            } else {
                format!("{scope_path}/{id}")
            };
            return Err(Error::DuplicateId {
                path,
                existing: self.nodes[existing.index()].kind.describe(),
            });
        }
        let new_id = NodeId::new(self.id, self.nodes.len());
        self.nodes.push(Node {
            id: id.to_string(),
            parent: Some(scope),
            children: IndexMap::new(),
            kind,
            annotations: Vec::new(),
            metadata: IndexMap::new(),
            logical_id_override: None,
            aspects: Vec::new(),
            location: Some(Location::caller()),
        });
        self.nodes[scope.index()].children.insert(id.to_string(), new_id);
        Ok(new_id)
    }

    fn require_in_stack(&self, scope: NodeId, what: &str) -> Result<()> {
        self.try_node(scope)?;
        if self.stack_of(scope).is_none() {
            return Err(Error::InvalidScope {
                path: if scope == self.root() {
                    "<app>".into()
                } else {
                    self.path(scope)
                },
                problem: format!("a {what} must be added inside a stack; create one with app.stack(..) and add the {what} to it"),
            });
        }
        Ok(())
    }

    /// Adds a stage (a group of stacks for one environment) under the app or another stage.
    #[track_caller]
    pub fn stage(&mut self, scope: impl Into<NodeId>, id: &str, env: Environment) -> Result<Stage> {
        let scope = scope.into();
        let kind = &self.try_node(scope)?.kind;
        if !matches!(kind, NodeKind::App | NodeKind::Stage(_)) {
            return Err(Error::InvalidScope {
                path: self.path(scope),
                problem: "a stage can only be added to the app or to another stage".into(),
            });
        }
        self.add_node(scope, id, NodeKind::Stage(StageData { env }))
            .map(Stage::from_node)
    }

    /// Adds an environment-agnostic stack at the root of the app.
    #[track_caller]
    pub fn stack(&mut self, id: &str) -> Result<Stack> {
        self.stack_with(self.root(), id, StackProps::default())
    }

    /// Adds a stack with settings under the app or a stage.
    #[track_caller]
    pub fn stack_with(&mut self, scope: impl Into<NodeId>, id: &str, props: StackProps) -> Result<Stack> {
        let scope = scope.into();
        let kind = &self.try_node(scope)?.kind;
        if !matches!(kind, NodeKind::App | NodeKind::Stage(_)) {
            return Err(Error::InvalidScope {
                path: self.path(scope),
                problem:
                    "a stack can only be added to the app or to a stage (nested stacks are not supported yet)"
                        .into(),
            });
        }
        if let Some(q) = props
            .bootstrap_qualifier
            .as_deref()
            .filter(|q| !crate::BootstrapNames::is_valid_qualifier(q))
        {
            let path = match self.path(scope) {
                p if p.is_empty() => id.to_string(),
                p => format!("{p}/{id}"),
            };
            return Err(Error::InvalidProps {
                path,
                problem: format!(
                    "bootstrap_qualifier {q:?} is not a bootstrap qualifier; use 1 to 10 letters, digits, '-' or '_' (the qualifier the environment was bootstrapped with)"
                ),
            });
        }
        self.add_node(
            scope,
            id,
            NodeKind::Stack(Box::new(StackData {
                props,
                dependencies: Vec::new(),
            })),
        )
        .map(Stack::from_node)
    }

    /// Adds a grouping construct (no template presence of its own) inside a stack.
    #[track_caller]
    pub fn construct(&mut self, scope: impl Into<NodeId>, id: &str) -> Result<NodeId> {
        let scope = scope.into();
        self.require_in_stack(scope, "construct")?;
        self.add_node(scope, id, NodeKind::Construct)
    }

    /// Adds a typed resource and returns its typed handle.
    #[track_caller]
    pub fn add<T: TypedResource>(
        &mut self,
        scope: impl Into<NodeId>,
        id: &str,
        resource: T,
    ) -> Result<Res<T>> {
        self.add_boxed(scope, id, Box::new(resource)).map(Res::new)
    }

    /// Adds a resource of a type known only at run time.
    #[track_caller]
    pub fn add_boxed(
        &mut self,
        scope: impl Into<NodeId>,
        id: &str,
        resource: Box<dyn Resource>,
    ) -> Result<NodeId> {
        let scope = scope.into();
        self.require_in_stack(scope, "resource")?;
        let entry = ResourceEntry {
            resource,
            options: Box::default(),
            overrides: Vec::new(),
        };
        self.add_node(scope, id, NodeKind::Resource(entry))
    }

    /// Adds a template parameter.
    #[track_caller]
    pub fn parameter(&mut self, scope: impl Into<NodeId>, id: &str, p: Parameter) -> Result<ParameterRef> {
        let scope = scope.into();
        self.require_in_stack(scope, "parameter")?;
        self.add_node(scope, id, NodeKind::Parameter(Box::new(p)))
            .map(ParameterRef::from_node)
    }

    /// Adds a template condition; use its node in `Value::if_` or as a resource's condition.
    #[track_caller]
    pub fn condition(
        &mut self,
        scope: impl Into<NodeId>,
        id: &str,
        expression: Value,
    ) -> Result<ConditionRef> {
        let scope = scope.into();
        self.require_in_stack(scope, "condition")?;
        self.add_node(scope, id, NodeKind::Condition(expression))
            .map(ConditionRef::from_node)
    }

    /// Adds a template mapping; read it with `Value::find_in_map`.
    #[track_caller]
    pub fn mapping(&mut self, scope: impl Into<NodeId>, id: &str, m: Mapping) -> Result<MappingRef> {
        let scope = scope.into();
        self.require_in_stack(scope, "mapping")?;
        self.add_node(scope, id, NodeKind::Mapping(m))
            .map(MappingRef::from_node)
    }

    /// Adds a template output.
    #[track_caller]
    pub fn output(&mut self, scope: impl Into<NodeId>, id: &str, o: Output) -> Result<OutputRef> {
        let scope = scope.into();
        self.require_in_stack(scope, "output")?;
        self.add_node(scope, id, NodeKind::Output(Box::new(o)))
            .map(OutputRef::from_node)
    }

    /// Adds a template rule (the `Rules` section), written as CloudFormation expects it.
    #[track_caller]
    pub fn rule(&mut self, scope: impl Into<NodeId>, id: &str, rule: Value) -> Result<NodeId> {
        let scope = scope.into();
        self.require_in_stack(scope, "rule")?;
        self.add_node(scope, id, NodeKind::Rule(rule))
    }

    /// Makes `stack` deploy after `depends_on`.
    pub fn add_dependency(&mut self, stack: Stack, depends_on: Stack) -> Result<()> {
        self.try_node(depends_on.node())?;
        let path = self.path(stack.node());
        match &mut self.try_node_mut(stack.node())?.kind {
            NodeKind::Stack(data) => {
                if !data.dependencies.contains(&depends_on.node()) {
                    data.dependencies.push(depends_on.node());
                }
                Ok(())
            }
            other => Err(Error::WrongKind {
                path,
                expected: "stack",
                actual: other.describe(),
            }),
        }
    }

    /// The stack settings.
    pub fn stack_props(&self, stack: Stack) -> &StackProps {
        match &self.nodes[stack.node().index()].kind {
            NodeKind::Stack(d) => &d.props,
            _ => unreachable!("a Stack handle always points at a stack node"),
        }
    }

    /// The names of the bootstrap stack `stack` deploys through (its
    /// [`StackProps::bootstrap_qualifier`], else the default qualifier).
    pub fn bootstrap_names(&self, stack: Stack) -> crate::BootstrapNames {
        match &self.stack_props(stack).bootstrap_qualifier {
            Some(q) => crate::BootstrapNames::new(q.clone()),
            None => crate::BootstrapNames::default(),
        }
    }

    /// The stack settings, mutably.
    pub fn stack_props_mut(&mut self, stack: Stack) -> &mut StackProps {
        match &mut self.nodes[stack.node().index()].kind {
            NodeKind::Stack(d) => &mut d.props,
            _ => unreachable!("a Stack handle always points at a stack node"),
        }
    }

    fn resource_entry_mut(&mut self, node: NodeId) -> Result<&mut ResourceEntry> {
        let n = self.try_node(node)?;
        if n.resource_entry().is_none() {
            return Err(Error::WrongKind {
                path: self.path(node),
                expected: "resource",
                actual: n.kind.describe(),
            });
        }
        self.try_node_mut(node)?
            .resource_entry_mut()
            .ok_or(Error::UnknownNode(node.index()))
    }

    /// The resource attributes (DependsOn, DeletionPolicy, Condition ...) of a resource.
    pub fn resource_options_mut(&mut self, node: impl Into<NodeId>) -> Result<&mut ResourceOptions> {
        Ok(&mut self.resource_entry_mut(node.into())?.options)
    }

    /// Sets a property at a dot path, after the resource's own properties are rendered
    /// (the CDK's `addPropertyOverride`).
    pub fn add_property_override(
        &mut self,
        node: impl Into<NodeId>,
        path: &str,
        value: impl Into<Value>,
    ) -> Result<()> {
        self.push_override(node.into(), path, Some(value.into()))
    }

    /// Deletes a property at a dot path (the CDK's `addPropertyDeletionOverride`).
    pub fn add_property_deletion_override(&mut self, node: impl Into<NodeId>, path: &str) -> Result<()> {
        self.push_override(node.into(), path, None)
    }

    /// Appends an override (the final properties are the overrides applied in order).
    fn push_override(&mut self, node: NodeId, path: &str, value: Option<Value>) -> Result<()> {
        self.resource_entry_mut(node)?.overrides.push(PropertyOverride {
            path: path.to_string(),
            value,
        });
        Ok(())
    }

    /// Packages a file or directory as an asset of the stack that holds `scope` and
    /// returns where it will be in the bootstrap bucket once deployed.
    ///
    /// A directory is zipped now, deterministically: regular files only (symbolic links
    /// followed, empty directories dropped), entries sorted by their `/`-separated path,
    /// deflate level 6, timestamps 1980-01-01 00:00, permissions `0644`, or `0755` for
    /// files with an execute bit (a custom runtime's `bootstrap` must stay executable).
    /// The same content therefore always gives the same bytes, hash and key.
    ///
    /// Errors: `scope` is not in a stack, or the path is missing, of the wrong kind, or
    /// unreadable ([`Error::AssetNotFound`], [`Error::Asset`]: both name the construct path
    /// and the file).
    pub fn add_file_asset(&mut self, scope: impl Into<NodeId>, asset: FileAsset) -> Result<AssetLocation> {
        let scope = scope.into();
        self.try_node(scope)?;
        let Some(stack) = self.stack_of(scope) else {
            return Err(Error::InvalidScope {
                path: self.display_path(scope),
                problem: "an asset must be added inside a stack; pass the stack or a construct in it".into(),
            });
        };
        let mut artifact = crate::asset::package(&self.path(scope), &asset)?;
        artifact.bucket_name = self.bootstrap_names(stack).asset_bucket();
        let location = AssetLocation {
            bucket: Value::sub(&artifact.bucket_name),
            key: Value::from(artifact.object_key.clone()),
            hash: artifact.hash.clone(),
        };
        let stack_node = stack.node();
        let known = self.assets.iter().any(|a| {
            a.stack == stack_node
                && a.artifact.hash == artifact.hash
                && a.artifact.object_key == artifact.object_key
        });
        if !known {
            self.assets.push(StagedAsset {
                stack: stack_node,
                artifact,
            });
        }
        Ok(location)
    }

    /// The packaged assets of a stack, in the order they were added (one per content).
    pub fn assets_of(&self, stack: Stack) -> Vec<&FileAssetArtifact> {
        self.assets
            .iter()
            .filter(|a| a.stack == stack.node())
            .map(|a| &a.artifact)
            .collect()
    }

    /// Sets what CloudFormation does with a resource when it leaves the stack or is
    /// replaced (`DeletionPolicy` and `UpdateReplacePolicy`, as the CDK's
    /// `applyRemovalPolicy`). `node` is a resource, or a construct whose default child
    /// (`Resource`, else `Default`) is one.
    pub fn apply_removal_policy(
        &mut self,
        node: impl Into<NodeId>,
        policy: crate::RemovalPolicy,
    ) -> Result<()> {
        let node = node.into();
        let target = if self.try_node(node)?.resource_entry().is_some() {
            node
        } else {
            let n = self.node(node);
            match n.child("Resource").or_else(|| n.child("Default")) {
                Some(c) if self.node(c).resource_entry().is_some() => c,
                _ => {
                    return Err(Error::WrongKind {
                        path: self.path(node),
                        expected: "resource (or a construct with a default child resource)",
                        actual: self.node(node).kind.describe(),
                    })
                }
            }
        };
        let o = self.resource_options_mut(target)?;
        o.deletion_policy = Some(policy);
        o.update_replace_policy = Some(policy);
        Ok(())
    }

    /// The error for invalid construct settings: [`Error::InvalidProps`] at the path of
    /// `node` (the construct being built), naming the path once.
    pub fn invalid_props(&self, node: impl Into<NodeId>, problem: impl Into<String>) -> Error {
        Error::InvalidProps {
            path: self.display_path(node.into()),
            problem: problem.into(),
        }
    }

    /// Replaces the computed logical ID of a resource, parameter, output ... node.
    pub fn override_logical_id(&mut self, node: impl Into<NodeId>, logical_id: &str) -> Result<()> {
        let node = node.into();
        let valid = !logical_id.is_empty()
            && logical_id.len() <= 255
            && logical_id.chars().all(|c| c.is_ascii_alphanumeric());
        if !valid {
            return Err(Error::InvalidLogicalId {
                path: self.path(node),
                logical_id: logical_id.to_string(),
            });
        }
        self.try_node_mut(node)?.logical_id_override = Some(logical_id.to_string());
        Ok(())
    }

    /// Attaches an annotation to a node.
    pub fn annotate(&mut self, node: impl Into<NodeId>, level: Level, message: impl Into<String>) {
        self.node_mut(node.into()).annotate(level, message);
    }

    /// Every annotation in the tree, with its path, in tree order.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for n in self.descendants(self.root()) {
            self.push_annotations(n, &self.display_path(n), &mut out);
        }
        out
    }

    /// The path for messages: the construct path, or `<app>` for the root.
    pub(crate) fn display_path(&self, n: NodeId) -> String {
        let path = self.path(n);
        if path.is_empty() {
            "<app>".into()
        } else {
            path
        }
    }

    /// Appends the annotations of one node as diagnostics at `path`.
    pub(crate) fn push_annotations(&self, n: NodeId, path: &str, out: &mut Vec<Diagnostic>) {
        out.extend(self.nodes[n.index()].annotations.iter().map(|a| Diagnostic {
            level: a.level,
            path: path.to_string(),
            message: a.message.clone(),
        }));
    }

    /// The environment a stack deploys to (its own, else its stage's, else agnostic).
    pub fn environment_of(&self, stack: Stack) -> Environment {
        if let Some(env) = &self.stack_props(stack).env {
            return env.clone();
        }
        match self.stage_of(stack.node()) {
            Some(stage) => match &self.nodes[stage.node().index()].kind {
                NodeKind::Stage(s) => s.env.clone(),
                _ => Environment::default(),
            },
            None => Environment::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::CfnResource;

    #[test]
    fn paths_and_descendants_follow_insertion_order() {
        let mut app = App::new();
        let s = app.stack("S").unwrap();
        let g = app.construct(s, "G").unwrap();
        let a = app.add(g, "A", CfnResource::new("AWS::SNS::Topic")).unwrap();
        let b = app.add(s, "B", CfnResource::new("AWS::SQS::Queue")).unwrap();
        assert_eq!(app.path(a.node()), "S/G/A");
        assert_eq!(
            app.descendants(app.root()),
            vec![app.root(), s.node(), g, a.node(), b.node()]
        );
        assert_eq!(app.stack_of(a.node()), Some(s));
    }

    #[test]
    fn duplicate_ids_name_the_path() {
        let mut app = App::new();
        let s = app.stack("S").unwrap();
        app.construct(s, "G").unwrap();
        let err = app.add(s, "G", CfnResource::new("AWS::SNS::Topic")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "duplicate construct id: 'S/G' already exists (a construct was added there first); give the new construct a different id"
        );
        assert!(matches!(app.stack("S"), Err(Error::DuplicateId { .. })));
    }

    #[test]
    fn invalid_ids_are_rejected() {
        let mut app = App::new();
        let s = app.stack("S").unwrap();
        for bad in ["", "a/b"] {
            let err = app.construct(s, bad).unwrap_err();
            assert!(matches!(err, Error::InvalidId { .. }), "{err}");
            assert!(err.to_string().contains("under 'S'"), "{err}");
        }
    }

    #[test]
    fn resources_need_a_stack() {
        let mut app = App::new();
        let root = app.root();
        let err = app
            .add(root, "B", CfnResource::new("AWS::S3::Bucket"))
            .unwrap_err();
        assert!(err.to_string().contains("must be added inside a stack"), "{err}");
    }

    #[test]
    fn typed_downcast_reaches_the_struct() {
        let mut app = App::new();
        let s = app.stack("S").unwrap();
        let b = app.add(s, "B", CfnResource::new("AWS::S3::Bucket")).unwrap();
        app.node_mut(b.node())
            .resource_mut::<CfnResource>()
            .unwrap()
            .properties
            .insert("BucketName".into(), "x".into());
        assert_eq!(
            app.node(b.node()).resource::<CfnResource>().unwrap().properties["BucketName"],
            Value::from("x")
        );
    }
}
