//! Functions of the app and functions that exist already: the [`FunctionRef`] trait and
//! `Function::from_function_arn` / `from_function_name` / `from_function_attributes`.

use cairn_core::{App, Arn, Construct, Level, NodeId, Res, Result, Value};

use super::{bind_rule_target, invoke_permission, CfnPermission, Function};
use crate::events::{Rule, RuleTarget, TargetConfig};
use crate::iam::{self, Grantable, Principal};
use crate::imported::{check_name, concat, import_node, parse_arn, ArnFormat};

/// A function, created by this app ([`Function`]) or existing ([`ImportedFunction`]):
/// invoke grants, resource-based permissions and rule targets work on either.
pub trait FunctionRef: Construct {
    /// The function's ARN.
    fn function_arn(&self) -> Value;
    /// The function's name.
    fn function_name(&self) -> Value;
    /// Whether the app may add permissions to the function (its own, or an existing one
    /// known to be in the stack's account).
    fn can_create_permissions(&self) -> bool;

    /// Lets `grantee` invoke the function (`lambda:InvokeFunction` on the function and
    /// its versions and aliases).
    fn grant_invoke(&self, app: &mut App, grantee: &impl Grantable) -> Result<()>
    where
        Self: Sized,
    {
        iam::grant(
            app,
            grantee,
            ["lambda:InvokeFunction"],
            [
                self.function_arn(),
                concat([self.function_arn(), Value::from(":*")]),
            ],
        )
    }

    /// Adds a resource-based permission (`AWS::Lambda::Permission`, child `id`) letting
    /// `principal` invoke the function, optionally only on behalf of `source_arn`. `None`,
    /// with a warning on the function, when its permissions may not be changed (an
    /// existing function not known to be in the stack's account: set
    /// [`FunctionAttributes::same_environment`]).
    fn add_permission(
        &self,
        app: &mut App,
        id: &str,
        principal: Principal,
        source_arn: Option<Value>,
    ) -> Result<Option<Res<CfnPermission>>> {
        self.add_permission_in(app, self.node(), id, principal, source_arn)
    }

    /// [`FunctionRef::add_permission`] with the permission as child `id` of `scope` (e.g.
    /// the rule or topic it is for).
    fn add_permission_in(
        &self,
        app: &mut App,
        scope: NodeId,
        id: &str,
        principal: Principal,
        source_arn: Option<Value>,
    ) -> Result<Option<Res<CfnPermission>>> {
        if !self.can_create_permissions() {
            app.annotate(
                self.node(),
                Level::Warning,
                format!(
                    "permission {id} was not added: the function is not known to be in the stack's account; set same_environment in FunctionAttributes (or give the stack an account) if it is, or add the permission where the function is defined"
                ),
            );
            return Ok(None);
        }
        invoke_permission(app, scope, id, self.function_arn(), principal, source_arn).map(Some)
    }
}

impl FunctionRef for Function {
    fn function_arn(&self) -> Value {
        Function::function_arn(self)
    }

    fn function_name(&self) -> Value {
        Function::function_name(self)
    }

    fn can_create_permissions(&self) -> bool {
        true
    }
}

/// What is known of an existing function ([`Function::from_function_attributes`]).
///
/// ```
/// use cairn_constructs::lambda::FunctionAttributes;
/// let attrs = FunctionAttributes::new("arn:aws:lambda:eu-west-1:123456789012:function:resize");
/// assert!(!attrs.same_environment);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionAttributes {
    /// The function's ARN (`arn:aws:lambda:<region>:<account>:function:<name>`).
    pub function_arn: Value,
    /// The function is in the stack's account and region, so the app may add permissions
    /// to it (rule targets, subscriptions). Without it, that is known only when the ARN's
    /// account and the stack's are the same literal (as aws-cdk-lib decides).
    pub same_environment: bool,
}

impl FunctionAttributes {
    /// The attributes of the function of `function_arn`.
    pub fn new(function_arn: impl Into<Value>) -> Self {
        FunctionAttributes {
            function_arn: function_arn.into(),
            same_environment: false,
        }
    }
}

/// A function that exists outside the app: a construct with no resource; permissions it
/// may take are added under it.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedFunction {
    node: NodeId,
    arn: Value,
    name: Value,
    can_create_permissions: bool,
}

impl Function {
    /// A function that exists, by ARN. An ARN of another service, or of no function, is
    /// an [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    ///
    /// ```
    /// use cairn_constructs::lambda::{Function, FunctionRef};
    /// use cairn_core::App;
    ///
    /// # fn main() -> cairn_core::Result<()> {
    /// let mut app = App::new();
    /// let stack = app.stack("S")?;
    /// let f = Function::from_function_arn(&mut app, stack, "Resize",
    ///     "arn:aws:lambda:eu-west-1:123456789012:function:resize")?;
    /// assert_eq!(f.function_name(), "resize".into());
    /// assert!(!f.can_create_permissions());
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_function_arn(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        arn: impl Into<Value>,
    ) -> Result<ImportedFunction> {
        Function::from_function_attributes(app, scope, id, FunctionAttributes::new(arn))
    }

    /// A function of the stack's account and region, by name (permissions may be added).
    /// An empty name is an [`Error::InvalidProps`](cairn_core::Error::InvalidProps).
    pub fn from_function_name(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        name: impl Into<Value>,
    ) -> Result<ImportedFunction> {
        let node = import_node(app, scope, id)?;
        let name = name.into();
        check_name(app, node, "function name", &name)?;
        let arn = Arn::new(
            "lambda",
            Value::join("", [Value::from("function:"), name.clone()]),
        )
        .format();
        Ok(ImportedFunction {
            node,
            arn,
            name,
            can_create_permissions: true,
        })
    }

    /// A function that exists, by its attributes.
    pub fn from_function_attributes(
        app: &mut App,
        scope: impl Into<NodeId>,
        id: &str,
        attrs: FunctionAttributes,
    ) -> Result<ImportedFunction> {
        let node = import_node(app, scope, id)?;
        let arn = attrs.function_arn;
        let example = "arn:aws:lambda:us-east-1:123456789012:function:my-function";
        let parts = parse_arn(
            app,
            node,
            &arn,
            "lambda",
            Some("function"),
            ArnFormat::Colon,
            example,
        )?;
        // `function:<name>[:<version or alias>]`: the name is the part before a qualifier.
        let name = match parts.resource_name.as_str() {
            Some(n) => Value::from(n.split(':').next().unwrap_or(n)),
            None => parts.resource_name,
        };
        let stack_account = app
            .stack_of(node)
            .map(|s| app.environment_of(s))
            .and_then(|e| e.account);
        let known_same = matches!(
            (parts.account.as_str(), stack_account.as_deref()),
            (Some(a), Some(b)) if a == b
        );
        Ok(ImportedFunction {
            node,
            arn,
            name,
            can_create_permissions: attrs.same_environment || known_same,
        })
    }
}

impl FunctionRef for ImportedFunction {
    fn function_arn(&self) -> Value {
        self.arn.clone()
    }

    fn function_name(&self) -> Value {
        self.name.clone()
    }

    fn can_create_permissions(&self) -> bool {
        self.can_create_permissions
    }
}

/// An existing function is a rule target like a created one: the invoke permission is
/// the rule's child `AllowEventRule<function>`, as aws-cdk-lib places it, and is added
/// only where it may be (see [`FunctionRef::add_permission`]).
impl RuleTarget for ImportedFunction {
    fn bind(&self, app: &mut App, rule: &Rule, _id: &str) -> Result<TargetConfig> {
        bind_rule_target(self, app, rule)
    }
}

imported_handle!(ImportedFunction);
