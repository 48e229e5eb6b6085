//! (ssm: in progress)
