//! (stepfunctions: in progress)
