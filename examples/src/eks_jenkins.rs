//! The `eks-jenkins` example app (being built).
