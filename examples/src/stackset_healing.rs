//! The `stackset-healing` example app (being built).
