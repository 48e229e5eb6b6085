//! CloudWatch Logs: log groups with a retention period, KMS encryption and retention of
//! the data by default, and the per-stack log group key they share.
//!
//! ```
//! use cairn_constructs::logs::{LogGroup, LogGroupProps, RetentionDays};
//! use cairn_core::App;
//!
//! # fn main() -> cairn_core::Result<()> {
//! let mut app = App::new();
//! let stack = app.stack("S")?;
//! let group = LogGroup::new(&mut app, stack, "Audit", LogGroupProps {
//!     retention: RetentionDays::OneYear,
//!     ..LogGroupProps::default()
//! })?;
//! let asm = app.synth()?;
//! let s = asm.stack("S").unwrap();
//! let id = s.resources_of_type("AWS::Logs::LogGroup")[0];
//! assert_eq!(s.template["Resources"][id]["Properties"]["RetentionInDays"], 365);
//! // encrypted with the stack's log group key
//! assert!(s.template["Resources"]["LogGroupEncryptionKey"].is_object());
//! # let _ = group;
//! # Ok(())
//! # }
//! ```

use cairn_core::{format_arn, App, Construct, Error, NodeId, NodeKind, RemovalPolicy, Res, Result, Value};

use crate::iam::{grant, Grantable};
use crate::imported::{check_name, import_node, parse_arn, ArnFormat};
use crate::kms::Key;

pub use cairn_cfn::logs::*;

/// The id, directly under the stack, of the key the stack's log groups share. The same id
/// and shape as the key the `CAIRN-LOGS-ENCRYPTION` rule creates when it fixes a log
/// group, so the L2 and the rule share one key.
pub const LOG_GROUP_KEY_ID: &str = "LogGroupEncryptionKey";

/// The actions of [`LogGroup::grant_write`] (the CDK's list).
pub const WRITE_ACTIONS: &[&str] = &["logs:CreateLogStream", "logs:PutLogEvents"];

/// The ARN of the stack's log group key (`<Stack>/LogGroupEncryptionKey`), created on
/// first use: rotation on, retained, administered by the account, usable by CloudWatch
/// Logs of the stack's account and region. Any construct that creates log groups can
/// use it (the key the `CAIRN-LOGS-ENCRYPTION` rule would create, so the rule finds
/// nothing to fix).
///
/// ```
/// use cairn_constructs::logs::stack_log_group_key;
/// # let mut app = cairn_core::App::new();
/// # let stack = app.stack("S").unwrap();
/// let a = stack_log_group_key(&mut app, stack).unwrap();
/// let b = stack_log_group_key(&mut app, stack).unwrap();
/// assert_eq!(a, b);
/// ```
pub fn stack_log_group_key(app: &mut App, scope: impl Into<NodeId>) -> Result<Value> {
    let scope = scope.into();
    let Some(stack) = app.stack_of(scope) else {
        return Err(Error::InvalidScope {
            path: app.path(scope),
            problem: "a log group key must be created inside a stack".into(),
        });
    };
    if let Some(existing) = app.node(stack.node()).child(LOG_GROUP_KEY_ID) {
        if matches!(app.node(existing).kind(), NodeKind::Resource(_)) {
            return Ok(Value::get_att(existing, "Arn"));
        }
        return Err(app.invalid_props(
            existing,
            format!(
                "the id {LOG_GROUP_KEY_ID} under the stack is reserved for the log group key, but a {} uses it",
                app.node(existing).kind().describe()
            ),
        ));
    }
    let root = crate::kms::account_root();
    let policy = Value::map([
        ("Version", Value::from("2012-10-17")),
        (
            "Statement",
            Value::list([
                Value::map([
                    ("Sid", Value::from("AccountAdministers")),
                    ("Effect", Value::from("Allow")),
                    ("Principal", Value::map([("AWS", root)])),
                    ("Action", Value::from("kms:*")),
                    ("Resource", Value::from("*")),
                ]),
                Value::map([
                    ("Sid", Value::from("CloudWatchLogsUse")),
                    ("Effect", Value::from("Allow")),
                    (
                        "Principal",
                        Value::map([("Service", Value::sub("logs.${AWS::Region}.amazonaws.com"))]),
                    ),
                    (
                        "Action",
                        Value::list(
                            [
                                "kms:Encrypt*",
                                "kms:Decrypt*",
                                "kms:ReEncrypt*",
                                "kms:GenerateDataKey*",
                                "kms:Describe*",
                            ]
                            .map(Value::from),
                        ),
                    ),
                    ("Resource", Value::from("*")),
                    (
                        "Condition",
                        Value::map([(
                            "ArnLike",
                            Value::map([("kms:EncryptionContext:aws:logs:arn", format_arn("logs", "*"))]),
                        )]),
                    ),
                ]),
            ]),
        ),
    ]);
    let key = CfnKeyShape {
        description: "Encrypts the CloudWatch log groups of this stack",
        policy,
    };
    let key = app.add(stack, LOG_GROUP_KEY_ID, key.into_l1())?;
    app.apply_removal_policy(key, RemovalPolicy::Retain)?;
    Ok(key.attr_arn())
}

/// The properties of the per-stack key, in the order the rule writes them.
struct CfnKeyShape {
    description: &'static str,
    policy: Value,
}

impl CfnKeyShape {
    fn into_l1(self) -> cairn_cfn::kms::CfnKey {
        cairn_cfn::kms::CfnKey {
            description: Some(self.description.into()),
            enable_key_rotation: Some(true.into()),
            key_policy: Some(self.policy),
            ..Default::default()
        }
    }
}

/// How long CloudWatch keeps log events: the values CloudWatch accepts.
///
/// ```
/// use cairn_constructs::logs::RetentionDays;
/// assert_eq!(RetentionDays::default().days(), Some(731));
/// assert_eq!(RetentionDays::Infinite.days(), None);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum RetentionDays {
    /// 1 day
    OneDay,
    /// 3 days
    ThreeDays,
    /// 5 days
    FiveDays,
    /// 1 week
    OneWeek,
    /// 2 weeks
    TwoWeeks,
    /// 1 month (30 days)
    OneMonth,
    /// 2 months (60 days)
    TwoMonths,
    /// 3 months (90 days)
    ThreeMonths,
    /// 4 months (120 days)
    FourMonths,
    /// 5 months (150 days)
    FiveMonths,
    /// 6 months (180 days)
    SixMonths,
    /// 1 year (365 days)
    OneYear,
    /// 13 months (400 days)
    ThirteenMonths,
    /// 18 months (545 days)
    EighteenMonths,
    /// 2 years (731 days), the default (as in the CDK)
    #[default]
    TwoYears,
    /// 3 years (1096 days)
    ThreeYears,
    /// 5 years (1827 days)
    FiveYears,
    /// 6 years (2192 days)
    SixYears,
    /// 7 years (2557 days)
    SevenYears,
    /// 8 years (2922 days)
    EightYears,
    /// 9 years (3288 days)
    NineYears,
    /// 10 years (3653 days)
    TenYears,
    /// Keep events forever (no `RetentionInDays`; the recommended rules report it).
    Infinite,
}

impl RetentionDays {
    /// The `RetentionInDays` value, `None` for [`RetentionDays::Infinite`].
    pub fn days(self) -> Option<i64> {
        use RetentionDays::*;
        Some(match self {
            OneDay => 1,
            ThreeDays => 3,
            FiveDays => 5,
            OneWeek => 7,
            TwoWeeks => 14,
            OneMonth => 30,
            TwoMonths => 60,
            ThreeMonths => 90,
            FourMonths => 120,
            FiveMonths => 150,
            SixMonths => 180,
            OneYear => 365,
            ThirteenMonths => 400,
            EighteenMonths => 545,
            TwoYears => 731,
            ThreeYears => 1096,
            FiveYears => 1827,
            SixYears => 2192,
            SevenYears => 2557,
            EightYears => 2922,
            NineYears => 3288,
            TenYears => 3653,
            Infinite => return None,
        })
    }
}

/// Settings of a [`LogGroup`].
///
/// ```
/// use cairn_constructs::logs::{LogGroupProps, RetentionDays};
/// let props = LogGroupProps { log_group_name: Some("/app/api".into()), ..LogGroupProps::default() };
/// assert_eq!(props.retention, RetentionDays::TwoYears);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LogGroupProps {
    /// A physical name; generated when `None`.
    pub log_group_name: Option<Value>,
    /// How long events are kept (default: two years).
    pub retention: RetentionDays,
    /// The key; the stack's shared log group key ([`stack_log_group_key`]) when `None`.
    /// A key of your own must let `logs.<region>.amazonaws.com` use it (add the
    /// statement with [`Key::add_to_resource_policy`]).
    pub encryption_key: Option<Key>,
    /// What happens to the group when it leaves the stack (default: `Retain`).
    pub removal_policy: RemovalPolicy,
}

impl Default for LogGroupProps {
    fn default() -> Self {
        LogGroupProps {
            log_group_name: None,
            retention: RetentionDays::TwoYears,
            encryption_key: None,
            removal_policy: RemovalPolicy::Retain,
        }
    }
}

/// A CloudWatch log group (`AWS::Logs::LogGroup`), its L1 the child `Resource`.
///
/// ```
/// use cairn_constructs::iam::{Principal, Role, RoleProps};
/// use cairn_constructs::logs::{LogGroup, LogGroupProps};
/// use cairn_core::App;
///
/// # fn main() -> cairn_core::Result<()> {
/// let mut app = App::new();
/// let stack = app.stack("S")?;
/// let group = LogGroup::new(&mut app, stack, "App", LogGroupProps::default())?;
/// let role = Role::new(&mut app, stack, "Writer", RoleProps::new(Principal::service("ecs-tasks.amazonaws.com")))?;
/// group.grant_write(&mut app, &role)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct LogGroup {
    node: NodeId,
    resource: Res<CfnLogGroup>,
}

impl PartialEq for LogGroup {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl LogGroup {
    /// Creates the log group as construct `id` under `scope`.
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: LogGroupProps) -> Result<LogGroup> {
        let scope = scope.into();
        let key = match props.encryption_key {
            Some(k) => k.key_arn(),
            None => stack_log_group_key(app, scope)?,
        };
        let node = app.construct(scope, id)?;
        let group = CfnLogGroup {
            log_group_name: props.log_group_name.clone().map(Into::into),
            retention_in_days: props.retention.days().map(Into::into),
            kms_key_id: Some(key.into()),
            ..Default::default()
        };
        let resource = app.add(node, "Resource", group)?;
        app.apply_removal_policy(resource, props.removal_policy)?;
        Ok(LogGroup { node, resource })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The L1 resource.
    pub fn resource(&self) -> Res<CfnLogGroup> {
        self.resource
    }

    /// The log group's name (`Ref`).
    pub fn log_group_name(&self) -> Value {
        self.resource.ref_()
    }

    /// The log group's ARN (`arn:...:log-group:<name>:*`).
    pub fn log_group_arn(&self) -> Value {
        self.resource.attr_arn()
    }

    /// Grants `logs:CreateLogStream` and `logs:PutLogEvents` on the group.
    pub fn grant_write(&self, app: &mut App, grantee: &impl Grantable) -> Result<()> {
        LogGroupRef::grant_write(self, app, grantee)
    }

    /// Grants `actions` on the group.
    pub fn grant<S: Into<String>>(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
        actions: impl IntoIterator<Item = S>,
    ) -> Result<()> {
        LogGroupRef::grant(self, app, grantee, actions)
    }
}

/// A log group, created by this app ([`LogGroup`]) or existing ([`ImportedLogGroup`]);
/// grants go to the grantee's identity policy.
pub trait LogGroupRef: Construct {
    /// The log group's name.
    fn log_group_name(&self) -> Value;
    /// The log group's ARN (`arn:...:log-group:<name>:*`).
    fn log_group_arn(&self) -> Value;

    /// Grants `logs:CreateLogStream` and `logs:PutLogEvents` on the group.
    fn grant_write(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        self.grant(app, grantee, WRITE_ACTIONS.iter().copied())
    }

    /// Grants `actions` on the group.
    fn grant<S: Into<String>>(
        &self,
        app: &mut App,
        grantee: &impl Grantable,
        actions: impl IntoIterator<Item = S>,
    ) -> Result<()>
    where
        Self: Sized,
    {
        grant(app, grantee, actions, [self.log_group_arn()])
    }
}

impl LogGroupRef for LogGroup {
    fn log_group_name(&self) -> Value {
        LogGroup::log_group_name(self)
    }

    fn log_group_arn(&self) -> Value {
        LogGroup::log_group_arn(self)
    }
}

/// A log group that exists outside the app ([`LogGroup::from_log_group_name`],
/// [`LogGroup::from_log_group_arn`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedLogGroup {
    node: NodeId,
    name: Value,
    arn: Value,
}

impl LogGroup {
    /// A log group of the stack's account and region that exists, by name (its ARN
    /// `arn:...:log-group:<name>:*`). An empty name is an
    /// [`Error::InvalidProps`].
    ///
    /// ```
    /// use cairn_constructs::logs::{LogGroup, LogGroupRef};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let g = LogGroup::from_log_group_arn(&mut app, stack, "Audit",
    ///     "arn:aws:logs:eu-west-1:123456789012:log-group:/audit/app:*")?;
    /// assert_eq!(g.log_group_name(), "/audit/app".into());
    /// assert_eq!(g.log_group_arn(), "arn:aws:logs:eu-west-1:123456789012:log-group:/audit/app:*".into());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_log_group_name(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        name: impl Into<Value>,
    ) -> Result<ImportedLogGroup> {
        let node = import_node(app, scope, id)?;
        let name = name.into();
        check_name(app, node, "log group name", &name)?;
        let arn = format_arn(
            "logs",
            Value::join("", [Value::from("log-group:"), name.clone(), Value::from(":*")]),
        );
        Ok(ImportedLogGroup { node, name, arn })
    }

    /// A log group that exists, by ARN (with or without the trailing `:*`). An ARN of
    /// another service, or of no log group, is an
    /// [`Error::InvalidProps`].
    pub fn from_log_group_arn(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        arn: impl Into<Value>,
    ) -> Result<ImportedLogGroup> {
        let node = import_node(app, scope, id)?;
        let arn = arn.into();
        let example = "arn:aws:logs:us-east-1:123456789012:log-group:my-group:*";
        let parts = parse_arn(
            app,
            node,
            &arn,
            "logs",
            Some("log-group"),
            ArnFormat::Colon,
            example,
        )?;
        let (name, arn) = match (parts.resource_name.as_str(), arn.as_str()) {
            (Some(name), Some(text)) => {
                let name = name.strip_suffix(":*").unwrap_or(name);
                let base = text.strip_suffix(":*").unwrap_or(text);
                (Value::from(name), Value::from(format!("{base}:*")))
            }
            _ => (parts.resource_name, arn),
        };
        Ok(ImportedLogGroup { node, name, arn })
    }
}

impl LogGroupRef for ImportedLogGroup {
    fn log_group_name(&self) -> Value {
        self.name.clone()
    }

    fn log_group_arn(&self) -> Value {
        self.arn.clone()
    }
}

imported_handle!(ImportedLogGroup);

impl From<LogGroup> for NodeId {
    fn from(g: LogGroup) -> NodeId {
        g.node
    }
}

construct!(LogGroup);
