//! (secretsmanager: in progress)
