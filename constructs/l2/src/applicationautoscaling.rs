//! Application Auto Scaling: scalable targets and policies.
