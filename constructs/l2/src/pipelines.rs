//! CDK-Pipelines-style delivery of cairn apps: synth step, self-mutation, waves of stages.
