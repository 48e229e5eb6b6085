//! What every `Kind::from_*` constructor shares: the imported construct's node, the
//! checks of the ARN or name it is given, and the parts read from an ARN (literally when
//! the ARN is a literal, with `Fn::Select`/`Fn::Split` when it is a deploy-time value, as
//! aws-cdk-lib's `Stack.splitArn` does).

use cairn_core::{App, Intrinsic, NodeId, Result, Value};

/// How the resource name follows the resource type in an ARN's resource part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArnFormat {
    /// `bucket-name`, `queue-name`: the resource part is the name.
    NoResourceName,
    /// `role/name`, `table/name`, `key/id`, `parameter/name`.
    Slash,
    /// `function:name`, `secret:name-AbCdEf`, `stateMachine:name`, `log-group:name`.
    Colon,
}

/// The parts of an ARN an imported handle needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArnParts {
    /// The account (literal, or a `Fn::Select` of a token).
    pub account: Value,
    /// The resource name (after the resource type, or the whole resource part).
    pub resource_name: Value,
}

/// The construct node of an imported resource: a construct with no L1 under it, so
/// nothing is added to the template until a grant or subscription needs a resource.
pub(crate) fn import_node(app: &mut App, scope: impl Into<NodeId>, id: &str) -> Result<NodeId> {
    app.construct(scope, id)
}

/// Refuses an empty literal name of `what` (e.g. "bucket name") with the fix.
pub(crate) fn check_name(app: &App, node: NodeId, what: &str, name: &Value) -> Result<()> {
    match name.as_str() {
        Some(n) if n.trim().is_empty() => Err(app.invalid_props(
            node,
            format!("the {what} is empty; pass the name of the existing resource"),
        )),
        _ => Ok(()),
    }
}

/// Checks `arn` is an ARN of `service` whose resource part starts with `resource_type`
/// (`role`, `function` ...; `None` for services whose resource part is the name) and
/// returns its account and resource name. A literal that does not fit is an
/// [`Error::InvalidProps`](cairn_core::Error::InvalidProps) naming the expected shape;
/// a deploy-time value is taken as it is.
pub(crate) fn parse_arn(
    app: &App,
    node: NodeId,
    arn: &Value,
    service: &str,
    resource_type: Option<&str>,
    format: ArnFormat,
    example: &str,
) -> Result<ArnParts> {
    let Some(text) = arn.as_str() else {
        if !matches!(arn, Value::Intrinsic(_)) {
            return Err(app.invalid_props(
                node,
                format!("the ARN must be a string; pass an ARN such as {example}"),
            ));
        }
        let resource = Value::select(5, Value::split(":", arn.clone()));
        let resource_name = match format {
            ArnFormat::NoResourceName => resource,
            ArnFormat::Slash => Value::select(1, Value::split("/", resource)),
            ArnFormat::Colon => Value::select(6, Value::split(":", arn.clone())),
        };
        return Ok(ArnParts {
            account: Value::select(4, Value::split(":", arn.clone())),
            resource_name,
        });
    };
    let bad = |why: String| {
        app.invalid_props(
            node,
            format!("{text:?} is not an ARN of {service}: {why}; pass an ARN such as {example}"),
        )
    };
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" || parts[1].is_empty() {
        return Err(bad(
            "an ARN reads arn:<partition>:<service>:<region>:<account>:<resource>".into(),
        ));
    }
    if parts[2] != service {
        return Err(bad(format!("its service is {:?}", parts[2])));
    }
    let resource = parts[5];
    let name = match (resource_type, format) {
        (None, _) | (_, ArnFormat::NoResourceName) => resource,
        (Some(kind), ArnFormat::Slash) => resource
            .strip_prefix(kind)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(|| bad(format!("its resource {resource:?} is not {kind}/<name>")))?,
        (Some(kind), ArnFormat::Colon) => resource
            .strip_prefix(kind)
            .and_then(|r| r.strip_prefix(':'))
            .ok_or_else(|| bad(format!("its resource {resource:?} is not {kind}:<name>")))?,
    };
    if name.is_empty() {
        return Err(bad("its resource name is empty".into()));
    }
    Ok(ArnParts {
        account: Value::from(parts[4]),
        resource_name: Value::from(name),
    })
}

/// Whether a resource of `account` may be changed from the stack of `node` (its resource
/// policy, a permission of a function): the accounts are the same literal, or either is
/// only known at deploy time (as aws-cdk-lib decides `Token.compareStrings`: different
/// literals are the only "no").
pub(crate) fn same_account(app: &App, node: NodeId, account: &Value) -> bool {
    let stack_account = app
        .stack_of(node)
        .map(|s| app.environment_of(s))
        .and_then(|e| e.account);
    match (account.as_str(), stack_account.as_deref()) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// `parts` joined: a literal when every part is one, else a `Fn::Join ""` with nested
/// `Fn::Join ""` flattened and adjacent literals merged (as aws-cdk-lib renders a template
/// string of tokens).
pub(crate) fn concat(parts: impl IntoIterator<Item = Value>) -> Value {
    fn push(items: &mut Vec<Value>, part: Value) {
        match (items.last_mut(), part) {
            (Some(Value::String(last)), Value::String(s)) => last.push_str(&s),
            (_, Value::Intrinsic(i)) if matches!(&*i, Intrinsic::Join(d, Value::List(_)) if d.is_empty()) => {
                if let Intrinsic::Join(_, Value::List(inner)) = *i {
                    inner.into_iter().for_each(|p| push(items, p));
                }
            }
            (_, part) => items.push(part),
        }
    }
    let mut items: Vec<Value> = Vec::new();
    for part in parts {
        push(&mut items, part);
    }
    match items.as_slice() {
        [Value::String(s)] => Value::String(s.clone()),
        [] => Value::from(""),
        _ => Value::join("", items),
    }
}
