//! ECS: clusters, Fargate task definitions and services.
