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

use cairn_core::{App, Arn, NodeId, Res, Result, Value};

pub use cairn_cfn::iam::*;

mod existing;
mod policy;

pub use existing::{AnyRole, ImportedRole, RoleImportOptions, RoleRef};
pub use policy::{Policy, PolicyAttachment, PolicyProps};

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
                Arn::new("iam", "root").no_region().account(a.clone()).format(),
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

/// Appends a statement to the `Statement` list of a policy document value (once).
pub(crate) fn push_statement(document: &mut Value, statement: Value) {
    if let Some(Value::List(statements)) = document.as_map_mut().and_then(|d| d.get_mut("Statement")) {
        if !statements.contains(&statement) {
            statements.push(statement);
        }
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

/// Something that can be granted permissions: an identity (a role, created or imported,
/// a policy) or a construct that has one (a function, an instance ...).
pub trait Grantable {
    /// Adds `statement` to the identity policy that grants it: a created role's default
    /// policy, an imported role's `Policy`, a policy's own document.
    fn add_to_principal_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<()>;
}

/// The trust conditions that keep a service from being used as a confused deputy: the
/// request comes from this account (`aws:SourceAccount`) and from a resource matching
/// `source_arn` (`aws:SourceArn`, `ArnLike`), for [`RoleProps::assume_conditions`].
///
/// ```
/// use cairn_constructs::iam::source_conditions;
/// use cairn_core::format_arn;
/// let c = source_conditions(format_arn("states", "stateMachine:*"));
/// assert!(c["StringEquals"].contains_key("aws:SourceAccount"));
/// assert!(c["ArnLike"].contains_key("aws:SourceArn"));
/// ```
pub fn source_conditions(source_arn: Value) -> IndexMap<String, IndexMap<String, Value>> {
    [
        (
            "StringEquals".to_string(),
            [(
                "aws:SourceAccount".to_string(),
                Value::pseudo(cairn_core::Pseudo::AccountId),
            )]
            .into_iter()
            .collect(),
        ),
        (
            "ArnLike".to_string(),
            [("aws:SourceArn".to_string(), source_arn)].into_iter().collect(),
        ),
    ]
    .into_iter()
    .collect()
}

/// Grants `actions` on `resources` to `grantee` (adds a statement to its role's default
/// policy). The building block of every `grant_*` method.
pub fn grant<S: Into<String>>(
    app: &mut App,
    grantee: &impl Grantable,
    actions: impl IntoIterator<Item = S>,
    resources: impl IntoIterator<Item = Value>,
) -> Result<()> {
    grantee.add_to_principal_policy(
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
    /// Identities of an OpenID Connect provider that may assume the role with
    /// `sts:AssumeRoleWithWebIdentity`, restricted by claims of their tokens (a trust
    /// statement of its own; see [`RoleProps::web_identity`]).
    pub web_identity: Option<OpenIdConnectPrincipal>,
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
            web_identity: None,
        }
    }

    /// A role assumed only by identities of an OpenID Connect provider (IAM roles for
    /// Kubernetes service accounts, GitHub Actions ...), with `sts:AssumeRoleWithWebIdentity`
    /// and the principal's claim conditions.
    ///
    /// ```
    /// use cairn_constructs::iam::{OpenIdConnectPrincipal, Role, RoleProps};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let principal = OpenIdConnectPrincipal::from_issuer(
    ///     "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
    ///     "token.actions.githubusercontent.com",
    /// )
    /// .string_equals("aud", "sts.amazonaws.com")
    /// .string_like("sub", "repo:example/app:*");
    /// let role = Role::new(&mut app, stack, "Deploy", RoleProps::web_identity(principal))?;
    /// let asm = app.synth()?;
    /// let s = asm.stack("S").unwrap();
    /// let trust = &s.template["Resources"][s.resources_of_type("AWS::IAM::Role")[0]]
    ///     ["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    /// assert_eq!(trust["Action"], "sts:AssumeRoleWithWebIdentity");
    /// assert_eq!(trust["Condition"]["StringLike"]["token.actions.githubusercontent.com:sub"], "repo:example/app:*");
    /// # let _ = role;
    /// # Ok(())
    /// # }
    /// ```
    pub fn web_identity(principal: OpenIdConnectPrincipal) -> Self {
        RoleProps {
            assumed_by: Vec::new(),
            web_identity: Some(principal),
            ..RoleProps::new(Principal::Any)
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
        let mut statements = Vec::new();
        if !props.assumed_by.is_empty() || props.web_identity.is_none() {
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
            statements.push(trust);
        }
        let document = match &props.web_identity {
            None => PolicyDocument::new(statements).to_value(),
            Some(web) => {
                if web.conditions.is_empty() {
                    return Err(app.invalid_props(
                        node,
                        "the web identity trust has no claim condition, so every identity of the provider could assume the role; add string_equals(\"sub\", ...) (and \"aud\")",
                    ));
                }
                web.trust_document(statements)
            }
        };
        let mut role = CfnRole::new(document);
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
        Arn::new("iam", format!("policy/{name}"))
            .no_region()
            .account("aws")
            .format()
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
                let name = generated_policy_name(app, holder);
                let mut policy = CfnPolicy::new(PolicyDocument::default().to_value(), name);
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

// ---------------------------------------------------------------------------------------
// OpenID Connect providers and web identities
// ---------------------------------------------------------------------------------------

/// Settings of an [`OpenIdConnectProvider`].
///
/// ```
/// use cairn_constructs::iam::OpenIdConnectProviderProps;
/// let props = OpenIdConnectProviderProps::new("https://token.actions.githubusercontent.com");
/// assert_eq!(props.client_ids, vec!["sts.amazonaws.com".to_string()]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIdConnectProviderProps {
    /// The issuer URL (`https://...`), a literal or a deploy-time value such as an EKS
    /// cluster's `OpenIdConnectIssuerUrl`.
    pub url: Value,
    /// The audiences (`aud`) the provider's tokens may carry (default: `sts.amazonaws.com`).
    pub client_ids: Vec<String>,
    /// Certificate thumbprints (40 hex digits each, at most 5). Empty by default: IAM
    /// verifies well-known issuers (EKS, GitHub ...) through its trusted CAs.
    pub thumbprints: Vec<String>,
}

impl OpenIdConnectProviderProps {
    /// A provider for `url`, with the STS audience and no thumbprints.
    pub fn new(url: impl Into<Value>) -> Self {
        OpenIdConnectProviderProps {
            url: url.into(),
            client_ids: vec!["sts.amazonaws.com".into()],
            thumbprints: Vec::new(),
        }
    }
}

/// An IAM OpenID Connect identity provider (`AWS::IAM::OIDCProvider`), its L1 the child
/// `Resource`: the trust anchor of web identities (EKS service accounts, CI systems).
///
/// ```
/// use cairn_constructs::iam::{OpenIdConnectPrincipal, OpenIdConnectProvider, OpenIdConnectProviderProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let provider = OpenIdConnectProvider::new(&mut app, stack, "GitHub",
///     OpenIdConnectProviderProps::new("https://token.actions.githubusercontent.com"))?;
/// assert_eq!(provider.issuer(), "token.actions.githubusercontent.com".into());
/// let principal = OpenIdConnectPrincipal::new(&provider).string_equals("aud", "sts.amazonaws.com");
/// # let _ = principal;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct OpenIdConnectProvider {
    node: NodeId,
    resource: Res<CfnOIDCProvider>,
    issuer: Value,
}

impl PartialEq for OpenIdConnectProvider {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl OpenIdConnectProvider {
    /// Creates the provider as construct `id` under `scope`. A literal URL that is not
    /// `https://`, or a thumbprint that is not 40 hex digits, is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps) (listing every problem).
    pub fn new(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        props: OpenIdConnectProviderProps,
    ) -> Result<OpenIdConnectProvider> {
        let node = app.construct(scope, id)?;
        let mut problems = Vec::new();
        if let Some(url) = props.url.as_str() {
            if !url.starts_with("https://") || url.len() <= "https://".len() {
                problems.push(format!("the issuer URL {url:?} must start with https://"));
            }
        }
        if props.thumbprints.len() > 5 {
            problems.push(format!(
                "at most 5 thumbprints are allowed, got {}",
                props.thumbprints.len()
            ));
        }
        for t in &props.thumbprints {
            if t.len() != 40 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
                problems.push(format!(
                    "the thumbprint {t:?} must be 40 hex digits (the SHA-1 of the issuer's top CA certificate)"
                ));
            }
        }
        if props.client_ids.iter().any(String::is_empty) {
            problems.push("client ids must not be empty".into());
        }
        crate::check_props(app, node, problems)?;
        let mut p = CfnOIDCProvider {
            url: Some(props.url.clone().into()),
            ..CfnOIDCProvider::default()
        };
        if !props.client_ids.is_empty() {
            p.client_id_list = Some(
                props
                    .client_ids
                    .iter()
                    .map(|c| c.as_str().into())
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        if !props.thumbprints.is_empty() {
            p.thumbprint_list = Some(
                props
                    .thumbprints
                    .iter()
                    .map(|c| c.as_str().into())
                    .collect::<Vec<_>>()
                    .into(),
            );
        }
        let resource = app.add(node, "Resource", p)?;
        let issuer = match props.url.as_str() {
            Some(url) => Value::from(url.trim_start_matches("https://")),
            // The ARN is `arn:<partition>:iam::<account>:oidc-provider/<issuer>`, as the
            // CDK reads it.
            None => Value::select(1, Value::split(":oidc-provider/", resource.ref_())),
        };
        Ok(OpenIdConnectProvider {
            node,
            resource,
            issuer,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnOIDCProvider> {
        self.resource
    }

    /// The provider's ARN (`Ref`).
    pub fn arn(&self) -> Value {
        self.resource.ref_()
    }

    /// The issuer as IAM condition keys name it: the URL without `https://` (a literal
    /// when the URL is one, else read from the ARN at deploy time).
    pub fn issuer(&self) -> Value {
        self.issuer.clone()
    }
}

impl From<&OpenIdConnectProvider> for NodeId {
    fn from(p: &OpenIdConnectProvider) -> NodeId {
        p.node
    }
}

/// One condition on a claim of a web identity token, keyed `<issuer>:<claim>`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimCondition {
    /// The condition operator, e.g. `StringEquals`.
    pub operator: String,
    /// The claim, e.g. `sub` or `aud`.
    pub claim: String,
    /// The accepted values (one renders as a string, several as a list).
    pub values: Vec<String>,
}

/// The variable that stands for the issuer in a trust policy rendered as `Fn::Sub`.
const ISSUER_VAR: &str = "OidcIssuer";

/// Identities of an OpenID Connect provider, as the trust principal of a role
/// (`Federated` + `sts:AssumeRoleWithWebIdentity`), with conditions on their claims.
///
/// IAM names the claims of a provider's tokens by condition keys that start with the
/// issuer (`oidc.eks.<region>.amazonaws.com/id/<ID>:sub`). When the issuer is only known
/// at deploy time (an EKS cluster's issuer URL), the key holds a token, and CloudFormation
/// accepts no intrinsic function in a JSON key. The CDK works around this with a Lambda
/// custom resource (`CfnJson`). cairn needs none: the role's `AssumeRolePolicyDocument`
/// may be a JSON *string*, so the whole trust policy renders as one `Fn::Sub` whose
/// template is the policy's JSON text, with `${OidcIssuer}` in the keys and every other
/// deploy-time value as a variable of its own. IAM parses the substituted text as it
/// parses any policy. With a literal issuer the document stays a plain map.
///
/// ```
/// use cairn_constructs::iam::{OpenIdConnectPrincipal, OpenIdConnectProvider, OpenIdConnectProviderProps, Role, RoleProps};
/// use cairn_core::{App, Value};
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let issuer_url = Value::from("https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE");
/// let provider = OpenIdConnectProvider::new(&mut app, stack, "Oidc", OpenIdConnectProviderProps::new(issuer_url))?;
/// let principal = OpenIdConnectPrincipal::new(&provider)
///     .string_equals("sub", "system:serviceaccount:jenkins:agent")
///     .string_equals("aud", "sts.amazonaws.com");
/// Role::new(&mut app, stack, "Agent", RoleProps::web_identity(principal))?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIdConnectPrincipal {
    /// The provider's ARN.
    pub provider_arn: Value,
    /// The issuer without `https://` (a literal or a deploy-time value).
    pub issuer: Value,
    /// Conditions on the token's claims.
    pub conditions: Vec<ClaimCondition>,
}

impl OpenIdConnectPrincipal {
    /// The identities of a provider of this app.
    pub fn new(provider: &OpenIdConnectProvider) -> Self {
        Self::from_issuer(provider.arn(), provider.issuer())
    }

    /// The identities of a provider given by ARN and issuer (without `https://`), e.g. one
    /// defined outside the app.
    pub fn from_issuer(provider_arn: impl Into<Value>, issuer: impl Into<Value>) -> Self {
        OpenIdConnectPrincipal {
            provider_arn: provider_arn.into(),
            issuer: issuer.into(),
            conditions: Vec::new(),
        }
    }

    /// Adds a condition `operator` on `claim` with `values`.
    pub fn with_claim<S: Into<String>>(
        mut self,
        operator: &str,
        claim: &str,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        self.conditions.push(ClaimCondition {
            operator: operator.to_string(),
            claim: claim.to_string(),
            values: values.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Requires `claim` to equal `value` (`StringEquals`).
    pub fn string_equals(self, claim: &str, value: &str) -> Self {
        self.with_claim("StringEquals", claim, [value])
    }

    /// Requires `claim` to match the pattern `value` (`StringLike`, `*` and `?`).
    pub fn string_like(self, claim: &str, value: &str) -> Self {
        self.with_claim("StringLike", claim, [value])
    }

    /// The trust statement, its keys prefixed with `issuer_text`.
    fn statement(&self, issuer_text: &str) -> PolicyStatement {
        let mut s = PolicyStatement::allow()
            .principal(Principal::Federated(self.provider_arn.clone()))
            .actions(["sts:AssumeRoleWithWebIdentity"]);
        for c in &self.conditions {
            let value = one_or_many(c.values.iter().map(|v| Value::from(v.as_str())).collect());
            s = s.condition(&c.operator, &format!("{issuer_text}:{}", c.claim), value);
        }
        s
    }

    /// A trust policy of `others` and this principal's statement: a map when the issuer
    /// is a literal, else one `Fn::Sub` string (see the type's documentation).
    pub fn trust_document(&self, others: Vec<PolicyStatement>) -> Value {
        match self.issuer.as_str() {
            Some(issuer) => {
                let mut statements = others;
                statements.push(self.statement(issuer));
                PolicyDocument::new(statements).to_value()
            }
            None => {
                let mut statements = others;
                statements.push(self.statement(&format!("${{{ISSUER_VAR}}}")));
                let doc = PolicyDocument::new(statements).to_value();
                let mut vars = IndexMap::new();
                vars.insert(ISSUER_VAR.to_string(), self.issuer.clone());
                let mut text = String::new();
                sub_json(&doc, &mut vars, &mut text);
                Value::sub_with(&text, vars)
            }
        }
    }
}

/// Escapes literal text for an `Fn::Sub` template (`${` becomes `${!`).
fn sub_escape(text: &str) -> String {
    text.replace("${", "${!")
}

/// Appends the JSON text of `v` to `out` as an `Fn::Sub` template: literal strings are
/// escaped; every deploy-time value becomes a `${Vn}` variable in `vars` (pseudo
/// parameters are named directly); map keys may name the variables already in `vars`.
fn sub_json(v: &Value, vars: &mut IndexMap<String, Value>, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&serde_json::Value::from(*f).to_string()),
        Value::String(s) => out.push_str(&sub_escape(&serde_json::Value::from(s.as_str()).to_string())),
        Value::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                sub_json(item, vars, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let mut key = sub_escape(&serde_json::Value::from(k.as_str()).to_string());
                for name in vars.keys() {
                    key = key.replace(&format!("${{!{name}}}"), &format!("${{{name}}}"));
                }
                out.push_str(&key);
                out.push(':');
                sub_json(item, vars, out);
            }
            out.push('}');
        }
        Value::Intrinsic(i) => match i.as_ref() {
            cairn_core::Intrinsic::Pseudo(p) => {
                out.push('"');
                out.push_str(&format!("${{{}}}", p.name()));
                out.push('"');
            }
            _ => {
                let name = format!("V{}", vars.len());
                vars.insert(name.clone(), v.clone());
                out.push_str(&format!("\"${{{name}}}\""));
            }
        },
    }
}

impl Grantable for Role {
    fn add_to_principal_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<()> {
        self.add_to_policy(app, statement)
    }
}

/// aws-cdk-lib's generated name of the inline policy held by construct `holder`: the
/// logical ID of its `Resource` (from its stack), its last 128 characters. A different
/// name would rename the inline policy of a ported role (removed, then put again).
pub(crate) fn generated_policy_name(app: &App, holder: NodeId) -> String {
    let stack = app.stack_of(holder).map_or(app.root(), |s| s.node());
    let mut path = app.path_from(stack, holder);
    path.push("Resource");
    let name = cairn_core::make_unique_id(&path);
    name.chars()
        .skip(name.chars().count().saturating_sub(128))
        .collect()
}

impl From<Role> for NodeId {
    fn from(r: Role) -> NodeId {
        r.node
    }
}

construct!(Role, OpenIdConnectProvider);
node_from!(OpenIdConnectProvider);
