//! The `data-lake` example app (being built).
