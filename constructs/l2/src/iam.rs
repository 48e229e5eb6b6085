//! IAM: policy statements, principals, roles, and the grant mechanism every L2 uses.
//!
//! ```
//! use cairn_constructs::iam::{Grantable, PolicyStatement, Principal, Role, RoleProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let role = Role::new(&mut app, stack, "Worker", RoleProps {
//!     managed_policies: vec![Role::aws_managed_policy("service-role/AWSLambdaBasicExecutionRole")],
//!     ..RoleProps::new(Principal::service("lambda.amazonaws.com"))
//! })?;
//! role.add_to_policy(&mut app, PolicyStatement::allow()
//!     .actions(["sqs:SendMessage"])
//!     .resource("arn:aws:sqs:us-east-1:123456789012:jobs"))?;
//! let asm = app.synth()?;
//! let t = &asm.stack("S").unwrap().template["Resources"];
//! assert_eq!(t["WorkerDefaultPolicyD9676315"]["Properties"]["Roles"][0]["Ref"], "Worker11F36D0F");
//! # Ok(())
//! # }
//! ```

use indexmap::IndexMap;

use cairn_core::{App, NodeId, Pseudo, Res, Result, Value};

pub use cairn_cfn::iam::*;

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Allow.
    Allow,
    /// Deny.
    Deny,
}

/// Who a statement applies to, or who may assume a role.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// An AWS service, e.g. `lambda.amazonaws.com`.
    Service(String),
    /// An AWS account (its root), by id or reference.
    Account(Value),
    /// An IAM ARN (role, user, account root).
    Arn(Value),
    /// Federated identities (e.g. an OIDC provider ARN).
    Federated(Value),
    /// Anyone. Use only with conditions.
    Any,
}

impl Principal {
    /// An AWS service principal.
    pub fn service(name: &str) -> Self {
        Principal::Service(name.to_string())
    }

    /// An account's root principal.
    pub fn account(id: impl Into<Value>) -> Self {
        Principal::Account(id.into())
    }

    /// The principal of an ARN.
    pub fn arn(arn: impl Into<Value>) -> Self {
        Principal::Arn(arn.into())
    }

    fn key_and_value(&self) -> (&'static str, Value) {
        match self {
            Principal::Service(s) => ("Service", Value::from(s.as_str())),
            Principal::Account(a) => (
                "AWS",
                Value::join(
                    "",
                    [
                        Value::from("arn:"),
                        Value::pseudo(Pseudo::Partition),
                        Value::from(":iam::"),
                        a.clone(),
                        Value::from(":root"),
                    ],
                ),
            ),
            Principal::Arn(a) => ("AWS", a.clone()),
            Principal::Federated(f) => ("Federated", f.clone()),
            Principal::Any => ("AWS", Value::from("*")),
        }
    }
}

/// Renders principals as a statement's `Principal` block (values of one key grouped).
fn principal_block(principals: &[Principal]) -> Value {
    let mut by_key: IndexMap<&'static str, Vec<Value>> = IndexMap::new();
    for p in principals {
        let (k, v) = p.key_and_value();
        by_key.entry(k).or_default().push(v);
    }
    Value::map(by_key.into_iter().map(|(k, mut vs)| {
        let v = if vs.len() == 1 {
            vs.remove(0)
        } else {
            Value::List(vs)
        };
        (k, v)
    }))
}

/// One IAM policy statement, built fluently.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyStatement {
    /// `Sid`
    pub sid: Option<String>,
    /// `Effect`
    pub effect: Effect,
    /// `Action`
    pub actions: Vec<String>,
    /// `Resource`
    pub resources: Vec<Value>,
    /// `Principal` (resource policies and trust policies only)
    pub principals: Vec<Principal>,
    /// `Condition`: operator -> key -> value
    pub conditions: IndexMap<String, IndexMap<String, Value>>,
}

impl PolicyStatement {
    /// An `Allow` statement with nothing in it yet.
    pub fn allow() -> Self {
        PolicyStatement {
            sid: None,
            effect: Effect::Allow,
            actions: Vec::new(),
            resources: Vec::new(),
            principals: Vec::new(),
            conditions: IndexMap::new(),
        }
    }

    /// A `Deny` statement with nothing in it yet.
    pub fn deny() -> Self {
        PolicyStatement {
            effect: Effect::Deny,
            ..Self::allow()
        }
    }

    /// Sets `Sid`.
    pub fn sid(mut self, sid: &str) -> Self {
        self.sid = Some(sid.to_string());
        self
    }

    /// Adds actions.
    pub fn actions<S: Into<String>>(mut self, actions: impl IntoIterator<Item = S>) -> Self {
        self.actions.extend(actions.into_iter().map(Into::into));
        self
    }

    /// Adds a resource.
    pub fn resource(mut self, arn: impl Into<Value>) -> Self {
        self.resources.push(arn.into());
        self
    }

    /// Adds resources.
    pub fn resources<V: Into<Value>>(mut self, arns: impl IntoIterator<Item = V>) -> Self {
        self.resources.extend(arns.into_iter().map(Into::into));
        self
    }

    /// Adds a principal.
    pub fn principal(mut self, p: Principal) -> Self {
        self.principals.push(p);
        self
    }

    /// Adds a condition, e.g. `condition("StringEquals", "aws:SourceAccount", account)`.
    pub fn condition(mut self, operator: &str, key: &str, value: impl Into<Value>) -> Self {
        self.conditions
            .entry(operator.to_string())
            .or_default()
            .insert(key.to_string(), value.into());
        self
    }

    /// The statement as JSON-like value.
    pub fn to_value(&self) -> Value {
        let mut m: IndexMap<String, Value> = IndexMap::new();
        if let Some(sid) = &self.sid {
            m.insert("Sid".into(), Value::from(sid.as_str()));
        }
        m.insert(
            "Effect".into(),
            Value::from(match self.effect {
                Effect::Allow => "Allow",
                Effect::Deny => "Deny",
            }),
        );
        if !self.principals.is_empty() {
            m.insert("Principal".into(), principal_block(&self.principals));
        }
        let mut actions: Vec<&String> = self.actions.iter().collect();
        actions.dedup();
        m.insert(
            "Action".into(),
            one_or_many(actions.into_iter().map(|a| Value::from(a.as_str())).collect()),
        );
        if !self.resources.is_empty() {
            m.insert("Resource".into(), one_or_many(self.resources.clone()));
        }
        if !self.conditions.is_empty() {
            m.insert(
                "Condition".into(),
                Value::Map(
                    self.conditions
                        .iter()
                        .map(|(op, kv)| (op.clone(), Value::Map(kv.clone())))
                        .collect(),
                ),
            );
        }
        Value::Map(m)
    }
}

fn one_or_many(mut vs: Vec<Value>) -> Value {
    if vs.len() == 1 {
        vs.remove(0)
    } else {
        Value::List(vs)
    }
}

/// A policy document: version and statements.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyDocument {
    /// The statements, in order.
    pub statements: Vec<PolicyStatement>,
}

impl PolicyDocument {
    /// A document of statements.
    pub fn new(statements: impl IntoIterator<Item = PolicyStatement>) -> Self {
        PolicyDocument {
            statements: statements.into_iter().collect(),
        }
    }

    /// The document as a value (`Version` 2012-10-17).
    pub fn to_value(&self) -> Value {
        Value::map([
            ("Version", Value::from("2012-10-17")),
            (
                "Statement",
                Value::List(self.statements.iter().map(PolicyStatement::to_value).collect()),
            ),
        ])
    }
}

/// Something that can be granted permissions: it has (or is) a role.
pub trait Grantable {
    /// The role whose policy receives granted statements.
    fn grant_role(&self) -> Role;
}

/// Grants `actions` on `resources` to `grantee` (adds a statement to its role's default
/// policy). The building block of every `grant_*` method.
pub fn grant<S: Into<String>>(
    app: &mut App,
    grantee: &impl Grantable,
    actions: impl IntoIterator<Item = S>,
    resources: impl IntoIterator<Item = Value>,
) -> Result<()> {
    grantee.grant_role().add_to_policy(
        app,
        PolicyStatement::allow().actions(actions).resources(resources),
    )
}

/// Settings of a [`Role`].
#[derive(Debug, Clone, PartialEq)]
pub struct RoleProps {
    /// Who may assume the role.
    pub assumed_by: Vec<Principal>,
    /// Conditions on the trust statement (e.g. an external id or an OIDC subject).
    pub assume_conditions: IndexMap<String, IndexMap<String, Value>>,
    /// Managed policy ARNs.
    pub managed_policies: Vec<Value>,
    /// `Description`
    pub description: Option<String>,
    /// A physical name; generated by CloudFormation when `None` (recommended).
    pub role_name: Option<Value>,
    /// Inline policies by name.
    pub inline_policies: IndexMap<String, PolicyDocument>,
    /// `MaxSessionDuration` in seconds.
    pub max_session_duration: Option<i64>,
}

impl RoleProps {
    /// A role assumed by one principal.
    pub fn new(assumed_by: Principal) -> Self {
        RoleProps {
            assumed_by: vec![assumed_by],
            assume_conditions: IndexMap::new(),
            managed_policies: Vec::new(),
            description: None,
            role_name: None,
            inline_policies: IndexMap::new(),
            max_session_duration: None,
        }
    }
}

/// An IAM role (`AWS::IAM::Role`), with a default policy created on the first grant.
#[derive(Debug, Clone, Copy)]
pub struct Role {
    node: NodeId,
    resource: Res<CfnRole>,
}

impl Role {
    /// Creates the role as construct `id` under `scope` (the L1 is its child `Resource`).
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: RoleProps) -> Result<Role> {
        let node = app.construct(scope, id)?;
        let mut trust = PolicyStatement::allow().actions(["sts:AssumeRole"]);
        trust.principals = props.assumed_by.clone();
        trust.conditions = props.assume_conditions.clone();
        if props
            .assumed_by
            .iter()
            .any(|p| matches!(p, Principal::Federated(_)))
        {
            trust.actions = vec!["sts:AssumeRoleWithWebIdentity".into()];
        }
        let mut role = CfnRole::new(PolicyDocument::new([trust]).to_value());
        role.description = props.description.as_deref().map(Into::into);
        role.role_name = props.role_name.clone().map(Into::into);
        role.max_session_duration = props.max_session_duration.map(Into::into);
        if !props.managed_policies.is_empty() {
            role.managed_policy_arns = Some(
                props
                    .managed_policies
                    .iter()
                    .map(|p| p.clone().into())
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        if !props.inline_policies.is_empty() {
            role.policies = Some(
                props
                    .inline_policies
                    .iter()
                    .map(|(name, doc)| role::Policy::new(doc.to_value(), name.as_str()).into())
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        let resource = app.add(node, "Resource", role)?;
        Ok(Role { node, resource })
    }

    /// The ARN of an AWS managed policy, e.g. `service-role/AWSLambdaBasicExecutionRole`.
    pub fn aws_managed_policy(name: &str) -> Value {
        Value::join(
            "",
            [
                Value::from("arn:"),
                Value::pseudo(Pseudo::Partition),
                Value::from(format!(":iam::aws:policy/{name}")),
            ],
        )
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnRole> {
        self.resource
    }

    /// The role's ARN.
    pub fn arn(&self) -> Value {
        self.resource.attr_arn()
    }

    /// The role's name (`Ref`).
    pub fn name(&self) -> Value {
        self.resource.ref_()
    }

    /// Adds a managed policy ARN.
    pub fn add_managed_policy(&self, app: &mut App, arn: Value) -> Result<()> {
        if let Some(r) = app.node_mut(self.resource.node()).resource_mut::<CfnRole>() {
            let mut list = match r.managed_policy_arns.take() {
                Some(cairn_core::Val::Lit(l)) => l,
                _ => Vec::new(),
            };
            if !list.iter().any(|x| cairn_core::ToValue::to_value(x) == arn) {
                list.push(arn.into());
            }
            r.managed_policy_arns = Some(list.into());
        }
        Ok(())
    }

    /// Adds a statement to the role's default policy (`<Role>/DefaultPolicy`), creating
    /// it on first use; identical statements are added once.
    pub fn add_to_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<()> {
        let existing = app
            .node(self.node)
            .child("DefaultPolicy")
            .and_then(|d| app.node(d).child("Resource"));
        let policy_node = match existing {
            Some(p) => p,
            None => {
                let holder = app.construct(self.node, "DefaultPolicy")?;
                let name = cairn_core::make_unique_id(&app.path_from(app.root(), holder));
                let mut policy = CfnPolicy::new(PolicyDocument::default().to_value(), truncate(&name, 128));
                policy.roles = Some(vec![self.name().into()].into());
                let p = app.add(holder, "Resource", policy)?;
                // The role's users wait for the policy.
                p.node()
            }
        };
        let value = statement.to_value();
        if let Some(p) = app.node_mut(policy_node).resource_mut::<CfnPolicy>() {
            if let Some(Value::List(statements)) = p
                .policy_document
                .as_map_mut()
                .and_then(|d| d.get_mut("Statement"))
            {
                if !statements.contains(&value) {
                    statements.push(value);
                }
            }
        }
        Ok(())
    }

    /// The default policy's L1 node, once a statement was added.
    pub fn default_policy(&self, app: &App) -> Option<NodeId> {
        app.node(self.node)
            .child("DefaultPolicy")
            .and_then(|d| app.node(d).child("Resource"))
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

impl Grantable for Role {
    fn grant_role(&self) -> Role {
        *self
    }
}

impl From<Role> for NodeId {
    fn from(r: Role) -> NodeId {
        r.node
    }
}
