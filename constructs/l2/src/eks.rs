//! EKS: clusters, managed node groups, IAM roles for service accounts.
