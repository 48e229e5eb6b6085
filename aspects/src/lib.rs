//! # cairn-aspects
//!
//! The compliance layer: rules that run over the construct tree before synthesis, so a
//! non-compliant resource never reaches AWS. Each rule has an id, a description, the
//! CloudFormation types it covers, a check, and where it is safe a fix; per rule you
//! choose [`Mode::Fix`], [`Mode::Error`], [`Mode::Warn`] or [`Mode::Off`].
//!
//! A [`RuleSet`] applied to a scope becomes two aspects (fixes at mutating priority,
//! checks at read-only priority) and a reporter: `synth` prints a summary and writes
//! `cairn-report.json` and `cairn-report.sarif` into the assembly.
//! [`Suppressions`] switch a rule off below a construct, only with a reason, and tell
//! checkov, cfn_nag and cfn-lint too.
//!
//! ```
//! use cairn_aspects::{Mode, RuleSet, Suppressions};
//! use cairn_aspects::rules::NoPublicIngress;
//! use cairn_core::{App, CfnResource, Value};
//!
//! let mut app = App::new();
//! let stack = app.stack("Web").unwrap();
//! let sg = app.add(stack, "Alb", CfnResource::new("AWS::EC2::SecurityGroup")
//!     .with("GroupDescription", "alb")
//!     .with("SecurityGroupIngress", Value::list([Value::map([
//!         ("IpProtocol", Value::from("tcp")), ("FromPort", Value::from(443)),
//!         ("ToPort", Value::from(443)), ("CidrIp", Value::from("0.0.0.0/0")),
//!     ])]))).unwrap();
//! let root = app.root();
//! RuleSet::recommended()
//!     .rule(NoPublicIngress::default().allow(443, "Web/Alb"), Mode::Error)
//!     .apply(&mut app, root);
//! assert!(app.synth().is_ok());
//! # let _ = sg;
//! ```

#![warn(missing_docs)]

pub mod report;
pub mod rule;
pub mod rules;
pub mod ruleset;
pub mod suppress;
pub mod tags;

pub use report::{Finding, Status};
pub use rule::{Context, Fix, Mode, Rule, RuleInfo, Violation};
pub use ruleset::{Findings, RuleSet};
pub use suppress::{SuppressionError, Suppressions};
pub use tags::{TagOptions, TagShape, Tags};
