//! KMS: customer managed keys with rotation, an account-administered key policy, aliases
//! and grants.
//!
//! ```
//! use cairn_constructs::kms::{Key, KeyProps};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let key = Key::new(&mut app, stack, "DataKey", KeyProps {
//!     alias: Some("data".into()),
//!     ..KeyProps::default()
//! })?;
//! let asm = app.synth()?;
//! let s = asm.stack("S").unwrap();
//! let id = s.resources_of_type("AWS::KMS::Key")[0];
//! assert_eq!(s.template["Resources"][id]["Properties"]["EnableKeyRotation"], true);
//! assert_eq!(s.template["Resources"][id]["DeletionPolicy"], "Retain");
//! # let _ = key;
//! # Ok(())
//! # }
//! ```

use cairn_core::{App, Construct, NodeId, RemovalPolicy, Res, Result, Value};

use crate::iam::{grant, Grantable, PolicyDocument, PolicyStatement, Principal};
use crate::imported::{import_node, parse_arn, ArnFormat};

pub use cairn_cfn::kms::*;

/// The actions of [`Key::grant_decrypt`] (the CDK's list).
pub const DECRYPT_ACTIONS: &[&str] = &["kms:Decrypt"];
/// The actions of [`Key::grant_encrypt`] (the CDK's list).
pub const ENCRYPT_ACTIONS: &[&str] = &["kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"];
/// The actions of [`Key::grant_encrypt_decrypt`] (the CDK's list).
pub const ENCRYPT_DECRYPT_ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
];

/// `arn:<partition>:iam::<account>:root`: the stack's account.
pub(crate) fn account_root() -> Value {
    cairn_core::Arn::new("iam", "root").no_region().format()
}

pub(crate) use crate::iam::push_statement;

/// Settings of a [`Key`].
///
/// ```
/// use cairn_constructs::kms::KeyProps;
/// let props = KeyProps { description: Some("orders".into()), ..KeyProps::default() };
/// assert!(props.enable_key_rotation);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct KeyProps {
    /// `Description`.
    pub description: Option<String>,
    /// Yearly automatic rotation (default: on).
    pub enable_key_rotation: bool,
    /// An alias, with or without the `alias/` prefix.
    pub alias: Option<String>,
    /// What happens to the key when it leaves the stack (default: `Retain`).
    pub removal_policy: RemovalPolicy,
    /// Days before a deleted key is gone (7 to 30; CloudFormation's default is 30).
    pub pending_window_in_days: Option<i64>,
    /// Statements added to the key policy after the account-administers statement.
    pub policy_statements: Vec<PolicyStatement>,
}

impl Default for KeyProps {
    fn default() -> Self {
        KeyProps {
            description: None,
            enable_key_rotation: true,
            alias: None,
            removal_policy: RemovalPolicy::Retain,
            pending_window_in_days: None,
            policy_statements: Vec::new(),
        }
    }
}

/// A customer managed KMS key (`AWS::KMS::Key`): rotation on, retained, and a key policy
/// that lets the account administer it, so IAM policies in the account (such as the
/// ones `grant_*` writes) take effect, as in the CDK.
///
/// ```
/// use cairn_constructs::iam::{Principal, Role, RoleProps};
/// use cairn_constructs::kms::{Key, KeyProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let key = Key::new(&mut app, stack, "Key", KeyProps::default())?;
/// let role = Role::new(&mut app, stack, "Reader", RoleProps::new(Principal::service("lambda.amazonaws.com")))?;
/// key.grant_decrypt(&mut app, &role)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Key {
    node: NodeId,
    resource: Res<CfnKey>,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}
impl Eq for Key {}

impl Key {
    /// Creates the key as construct `id` under `scope` (the L1 is its child `Resource`).
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: KeyProps) -> Result<Key> {
        let node = app.construct(scope, id)?;
        let admin = PolicyStatement::allow()
            .principal(Principal::Arn(account_root()))
            .actions(["kms:*"])
            .resource("*");
        let mut statements = vec![admin];
        statements.extend(props.policy_statements.iter().cloned());
        let mut key = CfnKey {
            key_policy: Some(PolicyDocument::new(statements).to_value()),
            enable_key_rotation: Some(props.enable_key_rotation.into()),
            ..CfnKey::default()
        };
        key.description = props.description.as_deref().map(Into::into);
        key.pending_window_in_days = props.pending_window_in_days.map(Into::into);
        let resource = app.add(node, "Resource", key)?;
        app.apply_removal_policy(resource, props.removal_policy)?;
        let key = Key { node, resource };
        if let Some(alias) = &props.alias {
            key.add_alias(app, alias)?;
        }
        Ok(key)
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnKey> {
        self.resource
    }

    /// The key's ARN.
    pub fn key_arn(&self) -> Value {
        self.resource.attr_arn()
    }

    /// The key's id (`Ref`).
    pub fn key_id(&self) -> Value {
        self.resource.ref_()
    }

    /// Adds an alias (`alias/` is prefixed when missing): the first is the child `Alias`,
    /// later ones `Alias<name>`, each with its L1 as child `Resource`.
    pub fn add_alias(&self, app: &mut App, name: &str) -> Result<Res<CfnAlias>> {
        let full = if name.starts_with("alias/") {
            name.to_string()
        } else {
            format!("alias/{name}")
        };
        let id = if app.node(self.node).child("Alias").is_none() {
            "Alias".to_string()
        } else {
            format!("Alias{}", full.trim_start_matches("alias/").replace('/', "-"))
        };
        let holder = app.construct(self.node, &id)?;
        app.add(holder, "Resource", CfnAlias::new(full, self.key_arn()))
    }

    /// Adds a statement to the key policy (e.g. a service principal that must use the key).
    pub fn add_to_resource_policy(&self, app: &mut App, statement: PolicyStatement) -> Result<()> {
        if let Some(k) = app.node_mut(self.resource.node()).resource_mut::<CfnKey>() {
            if let Some(doc) = k.key_policy.as_mut() {
                push_statement(doc, statement.to_value());
            }
        }
        Ok(())
    }

    /// Grants `actions` on this key.
    pub fn grant<S: Into<String>>(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
        actions: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        KeyRef::grant(self, app, grantee, actions)
    }

    /// Grants `kms:Decrypt`.
    pub fn grant_decrypt(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        KeyRef::grant_decrypt(self, app, grantee)
    }

    /// Grants `kms:Encrypt`, `kms:ReEncrypt*`, `kms:GenerateDataKey*`.
    pub fn grant_encrypt(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        KeyRef::grant_encrypt(self, app, grantee)
    }

    /// Grants decrypt and encrypt (`kms:Decrypt`, `kms:Encrypt`, `kms:ReEncrypt*`,
    /// `kms:GenerateDataKey*`).
    pub fn grant_encrypt_decrypt(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        KeyRef::grant_encrypt_decrypt(self, app, grantee)
    }
}

/// A key, created by this app ([`Key`]) or existing ([`ImportedKey`]). Grants go to the
/// grantee's identity policy (the key policy of [`Key`] lets the account's IAM policies
/// decide, as aws-cdk-lib's default key policy does).
pub trait KeyRef: Construct {
    /// The key's ARN.
    fn key_arn(&self) -> Value;

    /// Grants `actions` on this key.
    fn grant<S: Into<String>>(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
        actions: impl IntoIterator<Item = S>,
    ) -> Result<()>
    where
        Self: Sized,
    {
        grant(app, grantee, actions, [self.key_arn()])
    }

    /// Grants `kms:Decrypt`.
    fn grant_decrypt(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        self.grant(app, grantee, DECRYPT_ACTIONS.iter().copied())
    }

    /// Grants `kms:Encrypt`, `kms:ReEncrypt*`, `kms:GenerateDataKey*`.
    fn grant_encrypt(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        self.grant(app, grantee, ENCRYPT_ACTIONS.iter().copied())
    }

    /// Grants decrypt and encrypt.
    fn grant_encrypt_decrypt(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        self.grant(app, grantee, ENCRYPT_DECRYPT_ACTIONS.iter().copied())
    }
}

impl KeyRef for Key {
    fn key_arn(&self) -> Value {
        Key::key_arn(self)
    }
}

/// A key that exists outside the app ([`Key::from_key_arn`]): grants change only the
/// grantee's identity policy.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedKey {
    node: NodeId,
    arn: Value,
    key_id: Value,
}

impl Key {
    /// A key that exists, by ARN (`arn:aws:kms:<region>:<account>:key/<id>`). An ARN of
    /// another service, or of an alias, is an
    /// [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    ///
    /// ```
    /// use cairn_constructs::kms::{Key, KeyRef};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let key = Key::from_key_arn(&mut app, stack, "Shared",
    ///     "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")?;
    /// assert_eq!(key.key_id(), "1234abcd-12ab-34cd-56ef-1234567890ab".into());
    /// assert!(Key::from_key_arn(&mut app, stack, "Bad", "arn:aws:kms:eu-west-1:123456789012:alias/x").is_err());
    /// # let _ = key.key_arn();
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_key_arn(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        arn: impl Into<Value>,
    ) -> Result<ImportedKey> {
        let node = import_node(app, scope, id)?;
        let arn = arn.into();
        let example = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let parts = parse_arn(app, node, &arn, "kms", Some("key"), ArnFormat::Slash, example)?;
        Ok(ImportedKey {
            node,
            arn,
            key_id: parts.resource_name,
        })
    }
}

impl ImportedKey {
    /// The key's id (the end of its ARN).
    pub fn key_id(&self) -> Value {
        self.key_id.clone()
    }
}

impl KeyRef for ImportedKey {
    fn key_arn(&self) -> Value {
        self.arn.clone()
    }
}

imported_handle!(ImportedKey);

impl From<Key> for NodeId {
    fn from(k: Key) -> NodeId {
        k.node
    }
}

construct!(Key);
