//! CodePipeline: pipelines, stages and actions.
