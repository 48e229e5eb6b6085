//! Athena: workgroups.
