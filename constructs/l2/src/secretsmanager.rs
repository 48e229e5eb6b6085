//! Secrets Manager: secrets with a generated value, optional KMS key, retained by default,
//! dynamic references for other resources' properties, and grants.
//!
//! ```
//! use cairn_constructs::secretsmanager::{Secret, SecretProps, SecretStringGenerator};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let secret = Secret::new(&mut app, stack, "DbCredentials", SecretProps {
//!     generate_secret_string: Some(SecretStringGenerator {
//!         secret_string_template: Some(r#"{"username":"admin"}"#.into()),
//!         generate_string_key: Some("password".into()),
//!         exclude_characters: Some("\"@/\\".into()),
//!         password_length: Some(32),
//!         ..SecretStringGenerator::default()
//!     }),
//!     ..SecretProps::default()
//! })?;
//! // for a property of another resource, e.g. a database's MasterUserPassword:
//! let password = secret.secret_value_from_json("password");
//! # let _ = password;
//! let asm = app.synth()?;
//! let s = asm.stack("S").unwrap();
//! let id = s.resources_of_type("AWS::SecretsManager::Secret")[0];
//! assert_eq!(s.template["Resources"][id]["Properties"]["GenerateSecretString"]["GenerateStringKey"], "password");
//! # Ok(())
//! # }
//! ```

use cairn_core::{format_arn, App, Construct, Error, NodeId, RemovalPolicy, Res, Result, Value};

use crate::iam::{grant, Grantable, PolicyStatement};
use crate::imported::{check_name, import_node, parse_arn, ArnFormat};
use crate::kms::Key;

pub use cairn_cfn::secretsmanager::*;

/// The actions of [`Secret::grant_read`] (the CDK's list).
pub const READ_ACTIONS: &[&str] = &["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"];
/// The actions of [`Secret::grant_write`] (the CDK's list).
pub const WRITE_ACTIONS: &[&str] = &["secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret"];

/// How Secrets Manager generates the secret's value (`GenerateSecretString`).
///
/// With `secret_string_template` and `generate_string_key` the value is the template's
/// JSON object with the generated password added under the key, e.g.
/// `{"username":"admin","password":"..."}`; without them it is the password alone.
///
/// ```
/// use cairn_constructs::secretsmanager::SecretStringGenerator;
/// let g = SecretStringGenerator { password_length: Some(40), exclude_punctuation: true, ..Default::default() };
/// # let _ = g;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretStringGenerator {
    /// Characters the password must not contain.
    pub exclude_characters: Option<String>,
    /// Length (Secrets Manager's default is 32).
    pub password_length: Option<i64>,
    /// No punctuation.
    pub exclude_punctuation: bool,
    /// No upper case letters.
    pub exclude_uppercase: bool,
    /// No lower case letters.
    pub exclude_lowercase: bool,
    /// No digits.
    pub exclude_numbers: bool,
    /// Allow the space character.
    pub include_space: bool,
    /// At least one character of each included type.
    pub require_each_included_type: bool,
    /// A JSON object the generated password is added to (with `generate_string_key`).
    pub secret_string_template: Option<String>,
    /// The key of the generated password in the template (with `secret_string_template`).
    pub generate_string_key: Option<String>,
}

/// Settings of a [`Secret`]. The default generates a 32-character password.
///
/// ```
/// use cairn_constructs::secretsmanager::SecretProps;
/// let props = SecretProps { description: Some("API token".into()), ..SecretProps::default() };
/// assert!(props.generate_secret_string.is_some());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SecretProps {
    /// A physical name; generated when `None`.
    pub secret_name: Option<Value>,
    /// `Description`.
    pub description: Option<String>,
    /// How the value is generated (default: a password with Secrets Manager's defaults).
    /// `None` creates the secret without a value only when `secret_string` is set.
    pub generate_secret_string: Option<SecretStringGenerator>,
    /// A literal value instead of a generated one (it ends up in the template: prefer
    /// generation, or a dynamic reference).
    pub secret_string: Option<Value>,
    /// A customer managed key; the AWS managed `aws/secretsmanager` key when `None`.
    pub encryption_key: Option<Key>,
    /// What happens to the secret when it leaves the stack (default: `Retain`).
    pub removal_policy: RemovalPolicy,
}

impl Default for SecretProps {
    fn default() -> Self {
        SecretProps {
            secret_name: None,
            description: None,
            generate_secret_string: Some(SecretStringGenerator::default()),
            secret_string: None,
            encryption_key: None,
            removal_policy: RemovalPolicy::Retain,
        }
    }
}

/// A secret (`AWS::SecretsManager::Secret`), its L1 the child `Resource`.
///
/// ```
/// use cairn_constructs::iam::{Principal, Role, RoleProps};
/// use cairn_constructs::secretsmanager::{Secret, SecretProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let secret = Secret::new(&mut app, stack, "ApiToken", SecretProps::default())?;
/// let role = Role::new(&mut app, stack, "Api", RoleProps::new(Principal::service("lambda.amazonaws.com")))?;
/// secret.grant_read(&mut app, &role)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Secret {
    node: NodeId,
    resource: Res<CfnSecret>,
    key: Option<Key>,
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl Secret {
    /// Creates the secret as construct `id` under `scope`. A template without a key (or
    /// the reverse), a template that is not a JSON object, or both a generator and a
    /// literal value are an [`Error::InvalidProps`].
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: SecretProps) -> Result<Secret> {
        let scope = scope.into();
        let path = {
            let p = app.path(scope);
            if p.is_empty() {
                id.to_string()
            } else {
                format!("{p}/{id}")
            }
        };
        let invalid = |problem: String| Error::InvalidProps {
            path: path.clone(),
            problem,
        };
        let mut s = CfnSecret {
            name: props.secret_name.clone().map(Into::into),
            description: props.description.as_deref().map(Into::into),
            kms_key_id: props.encryption_key.map(|k| k.key_arn().into()),
            ..CfnSecret::default()
        };
        match (&props.generate_secret_string, &props.secret_string) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "set generate_secret_string or secret_string, not both".into(),
                ))
            }
            (Some(g), None) => {
                match (&g.secret_string_template, &g.generate_string_key) {
                    (Some(t), Some(_)) => {
                        let parsed: std::result::Result<serde_json::Value, _> = serde_json::from_str(t);
                        if !matches!(parsed, Ok(serde_json::Value::Object(_))) {
                            return Err(invalid(format!(
                                "secret_string_template must be a JSON object, got {t:?}"
                            )));
                        }
                    }
                    (None, None) => {}
                    _ => {
                        return Err(invalid(
                            "secret_string_template and generate_string_key go together: set both or neither"
                                .into(),
                        ))
                    }
                }
                let flag = |b: bool| b.then(|| true.into());
                s.generate_secret_string = Some(
                    secret::GenerateSecretString {
                        exclude_characters: g.exclude_characters.as_deref().map(Into::into),
                        exclude_lowercase: flag(g.exclude_lowercase),
                        exclude_numbers: flag(g.exclude_numbers),
                        exclude_punctuation: flag(g.exclude_punctuation),
                        exclude_uppercase: flag(g.exclude_uppercase),
                        generate_string_key: g.generate_string_key.as_deref().map(Into::into),
                        include_space: flag(g.include_space),
                        password_length: g.password_length.map(Into::into),
                        require_each_included_type: flag(g.require_each_included_type),
                        secret_string_template: g.secret_string_template.as_deref().map(Into::into),
                    }
                    .into(),
                );
            }
            (None, Some(v)) => s.secret_string = Some(v.clone().into()),
            (None, None) => {}
        }
        let node = app.construct(scope, id)?;
        let resource = app.add(node, "Resource", s)?;
        app.apply_removal_policy(resource, props.removal_policy)?;
        Ok(Secret {
            node,
            resource,
            key: props.encryption_key,
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnSecret> {
        self.resource
    }

    /// The customer managed key, when the secret has one.
    pub fn encryption_key(&self) -> Option<Key> {
        self.key
    }

    /// The secret's ARN (`Ref`).
    pub fn secret_arn(&self) -> Value {
        self.resource.ref_()
    }

    /// The whole secret string as a dynamic reference:
    /// `{{resolve:secretsmanager:<arn>:SecretString:::}}`, resolved by CloudFormation at
    /// deploy time (the value never appears in the template).
    pub fn secret_value(&self) -> Value {
        SecretRef::secret_value(self)
    }

    /// One field of a JSON secret as a dynamic reference:
    /// `{{resolve:secretsmanager:<arn>:SecretString:<key>::}}`.
    pub fn secret_value_from_json(&self, key: &str) -> Value {
        SecretRef::secret_value_from_json(self, key)
    }

    /// Grants `secretsmanager:GetSecretValue` and `DescribeSecret` (and `kms:Decrypt`
    /// through Secrets Manager on a customer managed key).
    pub fn grant_read(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        SecretRef::grant_read(self, app, grantee)
    }

    /// Grants `secretsmanager:PutSecretValue` and `UpdateSecret` (and encrypt/decrypt
    /// through Secrets Manager on a customer managed key).
    pub fn grant_write(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        SecretRef::grant_write(self, app, grantee)
    }
}

/// A secret, created by this app ([`Secret`]) or existing ([`ImportedSecret`]): dynamic
/// references and grants (the grantee's identity policy) work on either.
pub trait SecretRef: Construct {
    /// The secret's ARN (for an existing secret imported by name, without the 6-character
    /// suffix Secrets Manager adds).
    fn secret_arn(&self) -> Value;
    /// The ARN pattern grants name: the complete ARN, or `<partial ARN>-??????`.
    fn arn_for_policies(&self) -> Value;
    /// What dynamic references name the secret by: its complete ARN, else its name.
    fn reference_id(&self) -> Value;
    /// The ARN of the secret's customer managed key, if any.
    fn encryption_key_arn(&self) -> Option<Value>;

    /// The whole secret string as a dynamic reference, resolved by CloudFormation.
    fn secret_value(&self) -> Value {
        dynamic_reference(self.reference_id(), "")
    }

    /// One field of a JSON secret as a dynamic reference.
    fn secret_value_from_json(&self, key: &str) -> Value {
        dynamic_reference(self.reference_id(), key)
    }

    /// Grants `secretsmanager:GetSecretValue` and `DescribeSecret` (and `kms:Decrypt`
    /// through Secrets Manager on a customer managed key).
    fn grant_read(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        grant(
            app,
            grantee,
            READ_ACTIONS.iter().copied(),
            [self.arn_for_policies()],
        )?;
        grant_key(self, app, grantee, &["kms:Decrypt"])
    }

    /// Grants `secretsmanager:PutSecretValue` and `UpdateSecret` (and encrypt/decrypt
    /// through Secrets Manager on a customer managed key).
    fn grant_write(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        grant(
            app,
            grantee,
            WRITE_ACTIONS.iter().copied(),
            [self.arn_for_policies()],
        )?;
        grant_key(
            self,
            app,
            grantee,
            &[
                "kms:Decrypt",
                "kms:Encrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
            ],
        )
    }
}

fn dynamic_reference(id: Value, key: &str) -> Value {
    Value::join(
        "",
        [
            Value::from("{{resolve:secretsmanager:"),
            id,
            Value::from(format!(":SecretString:{key}::}}}}")),
        ],
    )
}

fn grant_key(
    secret: &impl SecretRef,
    app: &mut App,
    grantee: &impl Grantable,
    actions: &[&str],
) -> Result<()> {
    let Some(key) = secret.encryption_key_arn() else {
        return Ok(());
    };
    grantee.add_to_principal_policy(
        app,
        PolicyStatement::allow()
            .actions(actions.iter().copied())
            .resource(key)
            .condition(
                "StringEquals",
                "kms:ViaService",
                Value::sub("secretsmanager.${AWS::Region}.amazonaws.com"),
            ),
    )
}

impl SecretRef for Secret {
    fn secret_arn(&self) -> Value {
        Secret::secret_arn(self)
    }

    fn arn_for_policies(&self) -> Value {
        Secret::secret_arn(self)
    }

    fn reference_id(&self) -> Value {
        Secret::secret_arn(self)
    }

    fn encryption_key_arn(&self) -> Option<Value> {
        self.key.map(|k| k.key_arn())
    }
}

/// A secret that exists outside the app ([`Secret::from_secret_name_v2`],
/// [`Secret::from_secret_complete_arn`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedSecret {
    node: NodeId,
    arn: Value,
    complete: bool,
    name: Value,
    key_arn: Option<Value>,
}

impl Secret {
    /// A secret of the stack's account and region that exists, by name. Its ARN ends with
    /// a suffix the name does not tell, so grants name `<ARN>-??????` and dynamic
    /// references the name (as aws-cdk-lib's `fromSecretNameV2` does). An empty name is
    /// an [`Error::InvalidProps`].
    ///
    /// ```
    /// use cairn_constructs::secretsmanager::{Secret, SecretRef};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let db = Secret::from_secret_name_v2(&mut app, stack, "Db", "prod/db")?;
    /// assert_eq!(db.reference_id(), "prod/db".into());
    /// let full = Secret::from_secret_complete_arn(&mut app, stack, "Api",
    ///     "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-key-AbCdEf")?;
    /// assert_eq!(full.arn_for_policies(), full.secret_arn());
    /// assert!(Secret::from_secret_complete_arn(&mut app, stack, "Partial",
    ///     "arn:aws:secretsmanager:eu-west-1:123456789012:secret:api-key").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_secret_name_v2(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        name: impl Into<Value>,
    ) -> Result<ImportedSecret> {
        let node = import_node(app, scope, id)?;
        let name = name.into();
        check_name(app, node, "secret name", &name)?;
        let arn = format_arn(
            "secretsmanager",
            Value::join("", [Value::from("secret:"), name.clone()]),
        );
        Ok(ImportedSecret {
            node,
            arn,
            complete: false,
            name,
            key_arn: None,
        })
    }

    /// A secret that exists, by its complete ARN (with the 6-character suffix). An ARN of
    /// another service, or without the suffix, is an [`Error::InvalidProps`].
    pub fn from_secret_complete_arn(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        arn: impl Into<Value>,
    ) -> Result<ImportedSecret> {
        let node = import_node(app, scope, id)?;
        let arn = arn.into();
        let example = "arn:aws:secretsmanager:us-east-1:123456789012:secret:my-secret-AbCdEf";
        let parts = parse_arn(
            app,
            node,
            &arn,
            "secretsmanager",
            Some("secret"),
            ArnFormat::Colon,
            example,
        )?;
        if let Some(name) = parts.resource_name.as_str() {
            let suffix_ok = name.rsplit_once('-').is_some_and(|(head, tail)| {
                !head.is_empty() && tail.len() == 6 && tail.chars().all(|c| c.is_ascii_alphanumeric())
            });
            if !suffix_ok {
                return Err(app.invalid_props(
                    node,
                    format!("{name:?} is not a complete secret ARN's name: it lacks the 6-character suffix (-AbCdEf); use from_secret_name_v2 for a name"),
                ));
            }
        }
        Ok(ImportedSecret {
            node,
            arn,
            complete: true,
            name: parts.resource_name,
            key_arn: None,
        })
    }
}

impl ImportedSecret {
    /// The secret's KMS key (grants then include the key's actions through Secrets
    /// Manager).
    pub fn with_encryption_key_arn(mut self, key_arn: impl Into<Value>) -> Self {
        self.key_arn = Some(key_arn.into());
        self
    }
}

impl SecretRef for ImportedSecret {
    fn secret_arn(&self) -> Value {
        self.arn.clone()
    }

    fn arn_for_policies(&self) -> Value {
        if self.complete {
            self.arn.clone()
        } else {
            // `arn:...:secret:<name>-??????`: the name and the suffix Secrets Manager adds.
            format_arn(
                "secretsmanager",
                Value::join(
                    "",
                    [Value::from("secret:"), self.name.clone(), Value::from("-??????")],
                ),
            )
        }
    }

    fn reference_id(&self) -> Value {
        if self.complete {
            self.arn.clone()
        } else {
            self.name.clone()
        }
    }

    fn encryption_key_arn(&self) -> Option<Value> {
        self.key_arn.clone()
    }
}

imported_handle!(ImportedSecret);

impl From<Secret> for NodeId {
    fn from(s: Secret) -> NodeId {
        s.node
    }
}

construct!(Secret);
