//! Annotations (info, warning, error) attached to construct nodes, and the diagnostics
//! that validation reports.

use std::fmt;

/// How serious an annotation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// For information; never fails synthesis.
    Info,
    /// Fails synthesis only in strict mode.
    Warning,
    /// Fails synthesis.
    Error,
}

impl Level {
    /// The cloud assembly metadata type, as the CDK writes it.
    pub fn metadata_type(self) -> &'static str {
        match self {
            Level::Info => "aws:cdk:info",
            Level::Warning => "aws:cdk:warning",
            Level::Error => "aws:cdk:error",
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// A message attached to a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    /// Severity.
    pub level: Level,
    /// The message.
    pub message: String,
}

/// A finding with the construct path it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Severity.
    pub level: Level,
    /// Construct path, e.g. `Stack/Data/Table`.
    pub path: String,
    /// The message, including the fix where one is known.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.level.as_str(), self.path, self.message)
    }
}
