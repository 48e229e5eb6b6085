//! The structure check of pipelines, run at synthesis over every
//! `AWS::CodePipeline::Pipeline`: at least two stages, sources only (and all of them) in the
//! first stage, every stage with an action, unique names, and every input artifact produced
//! by an earlier action.

use indexmap::IndexMap;

use cairn_core::{PropertyError, Validator, Value};

/// The structure check of pipelines (see [`Pipeline`](super::Pipeline)).
#[derive(Debug, Clone, Copy, Default)]
pub struct PipelineStructure;

impl Validator for PipelineStructure {
    fn validate(&self, resource_type: &str, properties: &IndexMap<String, Value>) -> Vec<PropertyError> {
        if resource_type != "AWS::CodePipeline::Pipeline" {
            return Vec::new();
        }
        let mut errors = Vec::new();
        let mut err = |path: String, message: String| errors.push(PropertyError { path, message });
        let Some(Value::List(stages)) = properties.get("Stages") else {
            return Vec::new();
        };
        if stages.len() < 2 {
            err(
                "Properties.Stages".into(),
                format!(
                    "a pipeline needs at least two stages (a source stage and another), it has {}",
                    stages.len()
                ),
            );
        }
        let mut produced: Vec<(usize, i64, String)> = Vec::new();
        let mut stage_names = Vec::new();
        for (si, stage) in stages.iter().enumerate() {
            let name = stage
                .as_map()
                .and_then(|m| m.get("Name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if stage_names.contains(&name) {
                err(
                    format!("Properties.Stages[{si}].Name"),
                    format!("the stage name {name:?} is used twice"),
                );
            }
            stage_names.push(name);
            let actions = match stage.as_map().and_then(|m| m.get("Actions")) {
                Some(Value::List(a)) => a.as_slice(),
                _ => &[],
            };
            if actions.is_empty() {
                err(
                    format!("Properties.Stages[{si}]"),
                    format!("the stage {name:?} has no action"),
                );
            }
            for (ai, action) in actions.iter().enumerate() {
                let Some(a) = action.as_map() else { continue };
                let category = a
                    .get("ActionTypeId")
                    .and_then(Value::as_map)
                    .and_then(|t| t.get("Category"))
                    .and_then(Value::as_str)
                    .unwrap_or("");
                let action_name = a.get("Name").and_then(Value::as_str).unwrap_or("");
                if (si == 0) != (category == "Source") {
                    err(
                        format!("Properties.Stages[{si}].Actions[{ai}]"),
                        if si == 0 {
                            format!("the first stage holds source actions only; move {action_name:?} to a later stage")
                        } else {
                            format!("the source action {action_name:?} must be in the first stage")
                        },
                    );
                }
                let run_order = match a.get("RunOrder") {
                    Some(Value::Int(i)) => *i,
                    _ => 1,
                };
                if let Some(Value::List(inputs)) = a.get("InputArtifacts") {
                    for input in inputs {
                        let n = input
                            .as_map()
                            .and_then(|m| m.get("Name"))
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        let ok = produced
                            .iter()
                            .any(|(ps, pr, pn)| pn == n && (*ps < si || (*ps == si && *pr < run_order)));
                        if !ok {
                            err(
                                format!("Properties.Stages[{si}].Actions[{ai}].InputArtifacts"),
                                format!("the input artifact {n:?} of {action_name:?} is not produced by an earlier action"),
                            );
                        }
                    }
                }
                if let Some(Value::List(outputs)) = a.get("OutputArtifacts") {
                    for output in outputs {
                        if let Some(n) = output
                            .as_map()
                            .and_then(|m| m.get("Name"))
                            .and_then(Value::as_str)
                        {
                            if produced.iter().any(|(_, _, pn)| pn == n) {
                                err(
                                    format!("Properties.Stages[{si}].Actions[{ai}].OutputArtifacts"),
                                    format!("the artifact {n:?} is produced twice"),
                                );
                            }
                            produced.push((si, run_order, n.to_string()));
                        }
                    }
                }
            }
        }
        errors
    }
}

/// Whether `name` is a valid stage or action name.
pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
}
