//! The names synthesis gives a stack's files and its deployed stack: one definition, used by
//! the synthesizer and by constructs that must point at the assembly (a pipeline deploying a
//! stage's templates), so the two cannot drift apart.

use crate::assembly::TemplateFormat;
use crate::id::Stack;
use crate::logical_id::make_unique_id;
use crate::tree::App;

impl App {
    /// The stack's artifact id in the cloud assembly: aws-cdk-lib's unique id of its path
    /// (`Prod/Api` -> `ProdApi2A1B3C4D`; a top-level stack keeps its id).
    pub fn artifact_id(&self, stack: Stack) -> String {
        make_unique_id(&self.path_from(self.root(), stack.node()))
    }

    /// The CloudFormation stack name: the stack's `stack_name`, else its path's ids joined
    /// with `-`, keeping letters, digits and hyphens (the CDK's default).
    pub fn stack_name(&self, stack: Stack) -> String {
        if let Some(name) = &self.stack_props(stack).stack_name {
            return name.clone();
        }
        self.path_from(self.root(), stack.node())
            .iter()
            .map(|c| {
                c.chars()
                    .filter(|ch| ch.is_ascii_alphanumeric() || *ch == '-')
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("-")
    }

    /// The nested assembly directory of the stack's stage (`assembly-Prod`), or `None` for a
    /// stack at the root of the app.
    pub fn assembly_directory(&self, stack: Stack) -> Option<String> {
        self.stage_of(stack.node())
            .map(|stage| format!("assembly-{}", self.path(stage.node()).replace('/', "-")))
    }

    /// The stack's template file relative to the root of the assembly directory
    /// (`assembly-Prod/ProdApi2A1B3C4D.template.json`).
    pub fn template_path(&self, stack: Stack, format: TemplateFormat) -> String {
        self.in_assembly(
            stack,
            &format!("{}.{}", self.artifact_id(stack), format.extension()),
        )
    }

    /// The stack's asset manifest file relative to the root of the assembly directory.
    pub fn asset_manifest_path(&self, stack: Stack) -> String {
        self.in_assembly(stack, &format!("{}.assets.json", self.artifact_id(stack)))
    }

    fn in_assembly(&self, stack: Stack, file: &str) -> String {
        match self.assembly_directory(stack) {
            Some(dir) => format!("{dir}/{file}"),
            None => file.to_string(),
        }
    }
}
