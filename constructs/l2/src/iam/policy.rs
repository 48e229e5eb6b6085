//! `iam::Policy`: an inline policy (`AWS::IAM::Policy`) attached to roles, users and
//! groups, named as aws-cdk-lib names it.

use indexmap::IndexMap;

use cairn_core::{App, NodeId, PropertyError, Result, ToValue, Val, Validator, Value};

use super::{
    generated_policy_name, push_statement, CfnPolicy, Grantable, PolicyDocument, PolicyStatement, RoleRef,
};

/// Settings of a [`Policy`].
///
/// ```
/// use cairn_constructs::iam::PolicyProps;
/// let props = PolicyProps::default();
/// assert!(props.policy_name.is_none() && !props.force);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PolicyProps {
    /// `PolicyName`; by default aws-cdk-lib's generated name (the last 128 characters of
    /// the policy's logical ID), so a ported policy keeps its name.
    pub policy_name: Option<String>,
    /// The first statements (more with [`Policy::add_statements`]).
    pub statements: Vec<PolicyStatement>,
    /// Names of users to attach the policy to.
    pub users: Vec<Value>,
    /// Names of groups to attach the policy to.
    pub groups: Vec<Value>,
    /// The CDK's `force`: the policy must end up with statements and an identity. cairn
    /// checks both for every policy (CloudFormation refuses an unattached one); `force`
    /// is kept for ports and changes nothing else.
    pub force: bool,
}

/// An inline IAM policy (`AWS::IAM::Policy`, its L1 the child `Resource`), attached to
/// roles (created or imported), users and groups. A grantee itself: grants to a policy add
/// statements to it.
///
/// Every `AWS::IAM::Policy` of the app is checked at synthesis ([`PolicyAttachment`]):
/// one attached to no role, user or group, or with no statement, stops synthesis with the
/// construct path and the fix (aws-cdk-lib leaves such a policy out silently unless
/// `force` is set, and then fails the same way).
///
/// ```
/// use cairn_constructs::iam::{Policy, PolicyProps, PolicyStatement, Principal, Role, RoleProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let role = Role::new(&mut app, stack, "Worker", RoleProps::new(Principal::service("ec2.amazonaws.com")))?;
/// let policy = Policy::new(&mut app, stack, "ReadConfig", PolicyProps::default())?;
/// policy.add_statements(&mut app, [PolicyStatement::allow()
///     .actions(["ssm:GetParameter"])
///     .resource("arn:aws:ssm:eu-west-1:123456789012:parameter/app/config")])?;
/// policy.attach_to_role(&mut app, &role)?;
/// let asm = app.synth()?;
/// let s = asm.stack("S").unwrap();
/// let id = s.resources_of_type("AWS::IAM::Policy")[0];
/// let p = &s.template["Resources"][id]["Properties"];
/// assert!(id.starts_with("ReadConfig"));
/// assert_eq!(p["PolicyName"], id);
/// assert_eq!(p["Roles"][0]["Ref"], "Worker11F36D0F");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    node: NodeId,
    resource: NodeId,
}

impl Policy {
    /// Creates the policy as construct `id` under `scope`. An empty `policy_name` is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: PolicyProps) -> Result<Policy> {
        let node = app.construct(scope, id)?;
        let name = match props.policy_name {
            Some(n) if n.trim().is_empty() => {
                return Err(app.invalid_props(
                    node,
                    "the policy name is empty; leave policy_name None for the generated name",
                ))
            }
            Some(n) => n,
            None => generated_policy_name(app, node),
        };
        let l1 = CfnPolicy::new(PolicyDocument::default().to_value(), name);
        let resource = app.add(node, "Resource", l1)?.node();
        app.add_validator_once(PolicyAttachment);
        let policy = Policy { node, resource };
        policy.add_statements(app, props.statements)?;
        for user in props.users {
            policy.attach_to_user(app, user)?;
        }
        for group in props.groups {
            policy.attach_to_group(app, group)?;
        }
        Ok(policy)
    }

    /// The L1 node.
    pub fn resource(&self) -> NodeId {
        self.resource
    }

    /// The policy's name (`PolicyName`).
    pub fn policy_name(&self, app: &App) -> Value {
        self.l1(app).map_or(Value::Null, |p| p.policy_name.to_value())
    }

    /// Adds statements to the policy document (each once).
    pub fn add_statements(
        &self,
        app: &mut App,
        statements: impl IntoIterator<Item = PolicyStatement>,
    ) -> Result<()> {
        let p = self.l1_mut(app)?;
        for s in statements {
            push_statement(&mut p.policy_document, s.to_value());
        }
        Ok(())
    }

    /// Attaches the policy to a role, created or imported (once).
    pub fn attach_to_role(&self, app: &mut App, role: &impl RoleRef) -> Result<()> {
        self.attach_to_role_named(app, role.role_name())
    }

    /// Attaches the policy to a role by name (once): for a role the app made that has no
    /// handle at hand (a stack's shared handler function's role).
    pub(crate) fn attach_to_role_named(&self, app: &mut App, role_name: Value) -> Result<()> {
        let p = self.l1_mut(app)?;
        push_name(&mut p.roles, role_name);
        Ok(())
    }

    /// Attaches the policy to a user, by name (once).
    pub fn attach_to_user(&self, app: &mut App, user_name: impl Into<Value>) -> Result<()> {
        let p = self.l1_mut(app)?;
        push_name(&mut p.users, user_name.into());
        Ok(())
    }

    /// Attaches the policy to a group, by name (once).
    pub fn attach_to_group(&self, app: &mut App, group_name: impl Into<Value>) -> Result<()> {
        let p = self.l1_mut(app)?;
        push_name(&mut p.groups, group_name.into());
        Ok(())
    }

    fn l1<'a>(&self, app: &'a App) -> Option<&'a CfnPolicy> {
        app.node(self.resource).resource::<CfnPolicy>()
    }

    fn l1_mut<'a>(&self, app: &'a mut App) -> Result<&'a mut CfnPolicy> {
        let problem = app.invalid_props(self.node, "the policy's Resource is not an AWS::IAM::Policy");
        app.try_node_mut(self.resource)?
            .resource_mut::<CfnPolicy>()
            .ok_or(problem)
    }

    /// The policy held by construct `node` (its child `Resource`), if it is one.
    pub(crate) fn of(app: &App, node: NodeId) -> Option<Policy> {
        let resource = app.node(node).child("Resource")?;
        app.node(resource).resource::<CfnPolicy>()?;
        Some(Policy { node, resource })
    }
}

/// Appends `name` to a `Roles`/`Users`/`Groups` list, once.
fn push_name(list: &mut Option<Val<Vec<Val<String>>>>, name: Value) {
    let mut items = match list.take() {
        Some(Val::Lit(items)) => items,
        _ => Vec::new(),
    };
    if !items.iter().any(|x| x.to_value() == name) {
        items.push(name.into());
    }
    *list = Some(items.into());
}

impl Grantable for Policy {
    fn add_to_principal_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<()> {
        self.add_statements(app, [statement])
    }
}

construct!(Policy);
node_from!(Policy);

/// The synthesis check of inline policies (registered by [`Policy::new`]): every
/// `AWS::IAM::Policy` names at least one role, user or group and has a statement.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyAttachment;

impl Validator for PolicyAttachment {
    fn validate(&self, resource_type: &str, properties: &IndexMap<String, Value>) -> Vec<PropertyError> {
        if resource_type != "AWS::IAM::Policy" {
            return Vec::new();
        }
        let mut errors = Vec::new();
        let attached = ["Roles", "Users", "Groups"].iter().any(|k| {
            !matches!(properties.get(*k), None | Some(Value::Null))
                && properties.get(*k) != Some(&Value::List(Vec::new()))
        });
        if !attached {
            errors.push(PropertyError {
                path: "Properties.Roles".into(),
                message: "the policy is attached to no role, user or group; call attach_to_role, attach_to_user or attach_to_group (or remove the policy)".into(),
            });
        }
        let statements = properties
            .get("PolicyDocument")
            .and_then(Value::as_map)
            .and_then(|d| d.get("Statement"));
        if matches!(statements, Some(Value::List(l)) if l.is_empty()) {
            errors.push(PropertyError {
                path: "Properties.PolicyDocument.Statement".into(),
                message: "the policy has no statement; add one with add_statements (or remove the policy)"
                    .into(),
            });
        }
        errors
    }
}
