//! The `pipelines` example app (being built).
