//! Roles of the app and roles that exist already (`Role::from_role_arn`,
//! `Role::from_role_name`): the [`RoleRef`] trait both implement.

use cairn_core::{App, Arn, Construct, Level, NodeId, Result, Value};

use super::{Grantable, Policy, PolicyProps, PolicyStatement, Role};
use crate::imported::{check_name, import_node, parse_arn, same_account, ArnFormat};

/// A role, created by this app ([`Role`]) or existing ([`ImportedRole`]): what props and
/// functions that only name or grant to a role take.
pub trait RoleRef: Grantable + Construct {
    /// The role's ARN.
    fn role_arn(&self) -> Value;
    /// The role's name.
    fn role_name(&self) -> Value;
}

impl RoleRef for Role {
    fn role_arn(&self) -> Value {
        self.arn()
    }

    fn role_name(&self) -> Value {
        self.name()
    }
}

/// Options of [`Role::from_role_arn`].
///
/// ```
/// use cairn_constructs::iam::RoleImportOptions;
/// assert!(RoleImportOptions::default().mutable);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleImportOptions {
    /// Whether grants may add a policy to the role (default `true`, as in aws-cdk-lib). A
    /// role of another account (by its literal ARN and the stack's literal account) is
    /// never changed.
    pub mutable: bool,
}

impl Default for RoleImportOptions {
    fn default() -> Self {
        RoleImportOptions { mutable: true }
    }
}

/// A role that exists outside the app. Grants to it add statements to an inline
/// [`Policy`] `<id>/Policy` attached to the role by name (the only resource an imported
/// role ever adds, as aws-cdk-lib does); an immutable one takes no grant (a warning says
/// which statement was left out).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedRole {
    node: NodeId,
    arn: Value,
    name: Value,
    mutable: bool,
}

impl Role {
    /// A role that exists, by ARN (`arn:aws:iam::123456789012:role/name`, service-role
    /// paths included: the name is the part after the last `/`). An ARN of another
    /// service, or of no role, is an [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    ///
    /// ```
    /// use cairn_constructs::iam::{Role, RoleImportOptions, RoleRef};
    /// use cairn_constructs::s3::{Bucket, BucketProps};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let role = Role::from_role_arn(&mut app, stack, "Ci",
    ///     "arn:aws:iam::123456789012:role/service-role/ci-runner", RoleImportOptions::default())?;
    /// assert_eq!(role.role_name(), "ci-runner".into());
    /// let bucket = Bucket::new(&mut app, stack, "Artifacts", BucketProps::default())?;
    /// bucket.grant_read(&mut app, &role)?;
    /// let asm = app.synth()?;
    /// let s = asm.stack("S").unwrap();
    /// let policy = &s.template["Resources"][s.resources_of_type("AWS::IAM::Policy")[0]]["Properties"];
    /// assert_eq!(policy["Roles"][0], "ci-runner");
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_role_arn(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        arn: impl Into<Value>,
        options: RoleImportOptions,
    ) -> Result<ImportedRole> {
        let node = import_node(app, scope, id)?;
        let arn = arn.into();
        let example = "arn:aws:iam::123456789012:role/my-role";
        let parts = parse_arn(app, node, &arn, "iam", Some("role"), ArnFormat::Slash, example)?;
        let name = match parts.resource_name.as_str() {
            Some(path) => Value::from(path.rsplit('/').next().unwrap_or(path)),
            None => parts.resource_name,
        };
        let mutable = options.mutable && same_account(app, node, &parts.account);
        Ok(ImportedRole {
            node,
            arn,
            name,
            mutable,
        }
        .recorded(app))
    }

    /// A role of the stack's account that exists, by name (its ARN in the stack's
    /// partition and account). An empty name is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    pub fn from_role_name(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        name: impl Into<Value>,
    ) -> Result<ImportedRole> {
        let node = import_node(app, scope, id)?;
        let name = name.into();
        check_name(app, node, "role name", &name)?;
        let arn = Arn::new("iam", Value::join("", [Value::from("role/"), name.clone()]))
            .no_region()
            .format();
        Ok(ImportedRole {
            node,
            arn,
            name,
            mutable: true,
        }
        .recorded(app))
    }
}

/// The construct metadata key under which an imported role keeps its ARN, name and
/// mutability, so an [`AnyRole`] (a `Copy` handle) finds them again.
const IMPORTED_ROLE_METADATA: &str = "cairn:iam:imported-role";

impl ImportedRole {
    /// Records the role on its node ([`IMPORTED_ROLE_METADATA`]); returns it.
    fn recorded(self, app: &mut App) -> Self {
        let record = Value::map([
            ("Arn", self.arn.clone()),
            ("Name", self.name.clone()),
            ("Mutable", Value::Bool(self.mutable)),
        ]);
        app.node_mut(self.node)
            .metadata_mut()
            .insert(IMPORTED_ROLE_METADATA.into(), record);
        self
    }

    /// The imported role of `node`, if `node` is one.
    fn of(app: &App, node: NodeId) -> Option<ImportedRole> {
        let Value::Map(record) = app.try_node(node).ok()?.metadata().get(IMPORTED_ROLE_METADATA)? else {
            return None;
        };
        Some(ImportedRole {
            node,
            arn: record.get("Arn")?.clone(),
            name: record.get("Name")?.clone(),
            mutable: matches!(record.get("Mutable"), Some(Value::Bool(true))),
        })
    }

    /// Whether grants change the role (see [`RoleImportOptions::mutable`]).
    pub fn is_mutable(&self) -> bool {
        self.mutable
    }

    /// The inline policy grants went to, once there was one.
    pub fn policy(&self, app: &App) -> Option<Policy> {
        app.node(self.node)
            .child("Policy")
            .and_then(|p| Policy::of(app, p))
    }
}

impl RoleRef for ImportedRole {
    fn role_arn(&self) -> Value {
        self.arn.clone()
    }

    fn role_name(&self) -> Value {
        self.name.clone()
    }
}

impl Grantable for ImportedRole {
    fn add_to_principal_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<()> {
        if !self.mutable {
            app.annotate(
                self.node,
                Level::Warning,
                format!(
                    "the imported role is immutable (mutable: false, or another account's), so the grant of {} was not added; add it to the role where it is defined",
                    statement.actions.join(", ")
                ),
            );
            return Ok(());
        }
        let policy = match self.policy(app) {
            Some(p) => p,
            None => {
                let p = Policy::new(app, self.node, "Policy", PolicyProps::default())?;
                p.attach_to_role(app, self)?;
                p
            }
        };
        policy.add_statements(app, [statement])
    }
}

imported_handle!(ImportedRole);

/// A role a construct runs with, created by this app or existing: what props that take the
/// CDK's `IRole` take (e.g. [`FunctionProps::role`](crate::lambda::FunctionProps::role)).
/// A `Copy` handle: an imported role is found again by its node.
///
/// Statements added to an existing role go to an inline policy `<id>/Policy` attached to
/// it (a mutable one) or are left out with a warning (an immutable one); managed policies
/// are not attached to an existing role (aws-cdk-lib does neither: an imported role's
/// `addManagedPolicy` does nothing).
///
/// ```
/// use cairn_constructs::iam::{AnyRole, Role, RoleImportOptions};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let existing = Role::from_role_arn(&mut app, stack, "Ci",
///     "arn:aws:iam::123456789012:role/ci", RoleImportOptions::default())?;
/// let role = AnyRole::from(&existing);
/// assert_eq!(role.arn(&app), "arn:aws:iam::123456789012:role/ci".into());
/// assert!(role.created().is_none());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub enum AnyRole {
    /// A role of this app.
    Created(Role),
    /// An existing role ([`Role::from_role_arn`], [`Role::from_role_name`]), by its node.
    Imported(NodeId),
}

impl PartialEq for AnyRole {
    fn eq(&self, other: &Self) -> bool {
        self.node() == other.node()
    }
}

impl From<Role> for AnyRole {
    fn from(role: Role) -> Self {
        AnyRole::Created(role)
    }
}

impl From<&ImportedRole> for AnyRole {
    fn from(role: &ImportedRole) -> Self {
        AnyRole::Imported(role.node)
    }
}

impl From<ImportedRole> for AnyRole {
    fn from(role: ImportedRole) -> Self {
        AnyRole::Imported(role.node)
    }
}

impl AnyRole {
    /// The role's construct node.
    pub fn node(&self) -> NodeId {
        match self {
            AnyRole::Created(r) => r.node(),
            AnyRole::Imported(n) => *n,
        }
    }

    /// The role, when this app created it.
    pub fn created(&self) -> Option<Role> {
        match self {
            AnyRole::Created(r) => Some(*r),
            AnyRole::Imported(_) => None,
        }
    }

    /// The existing role, when it is one.
    pub fn imported(&self, app: &App) -> Option<ImportedRole> {
        match self {
            AnyRole::Created(_) => None,
            AnyRole::Imported(n) => ImportedRole::of(app, *n),
        }
    }

    /// The role's ARN.
    pub fn arn(&self, app: &App) -> Value {
        match self {
            AnyRole::Created(r) => r.arn(),
            AnyRole::Imported(_) => self.imported(app).map_or(Value::Null, |r| r.arn),
        }
    }

    /// The role's name.
    pub fn name(&self, app: &App) -> Value {
        match self {
            AnyRole::Created(r) => r.name(),
            AnyRole::Imported(_) => self.imported(app).map_or(Value::Null, |r| r.name),
        }
    }

    /// Adds a statement to the role's policy: the default policy of a created role, the
    /// inline policy of a mutable existing one (an immutable one takes none: a warning).
    pub fn add_to_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<()> {
        match self {
            AnyRole::Created(r) => r.add_to_policy(app, statement),
            AnyRole::Imported(n) => match ImportedRole::of(app, *n) {
                Some(r) => r.add_to_principal_policy(app, statement),
                None => Err(app.invalid_props(*n, "this node is not an imported role (Role::from_role_arn)")),
            },
        }
    }

    /// Attaches a managed policy to a created role; an existing role is left as it is (as
    /// aws-cdk-lib leaves it).
    pub fn add_managed_policy(&self, app: &mut App, arn: Value) -> Result<()> {
        match self {
            AnyRole::Created(r) => r.add_managed_policy(app, arn),
            AnyRole::Imported(_) => Ok(()),
        }
    }

    /// The L1 node of the policy statements went to, once there is one: a created role's
    /// default policy, an existing role's inline policy.
    pub fn default_policy(&self, app: &App) -> Option<NodeId> {
        match self {
            AnyRole::Created(r) => r.default_policy(app),
            AnyRole::Imported(_) => self.imported(app)?.policy(app).map(|p| p.resource()),
        }
    }
}

impl Grantable for AnyRole {
    fn add_to_principal_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<()> {
        self.add_to_policy(app, statement)
    }
}

impl Construct for AnyRole {
    fn node(&self) -> NodeId {
        AnyRole::node(self)
    }
}

impl From<AnyRole> for NodeId {
    fn from(role: AnyRole) -> NodeId {
        role.node()
    }
}
