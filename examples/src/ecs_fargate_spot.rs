//! The `ecs-fargate-spot` example app (being built).
