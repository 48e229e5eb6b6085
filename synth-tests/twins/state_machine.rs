//! Twin pair `state_machine` (cairn side of `state_machine.js`): a state machine that
//! checks its input (Choice), runs a function over each item (Map, the Lambda invoke task
//! retried), fans out to two branches (Parallel), catches any error into a Fail state, and
//! logs to a log group.

use std::time::Duration;

use cairn::lambda::{Code, Function, FunctionProps, Runtime};
use cairn::logs::{LogGroup, LogGroupProps, RetentionDays};
use cairn::stepfunctions::{
    Catch, Condition, Definition, DefinitionError, Fail, LogLevel, LogOptions, Map, Parallel, Pass,
    StateMachine, StateMachineProps, Succeed, Task, Wait,
};
use cairn::{App, Value};
use serde_json::json;

/// The definition, as the CDK's chain builds it.
fn definition(worker: &Function) -> Result<Definition, DefinitionError> {
    let mut def = Definition::new();
    let has_items = def.add(cairn::stepfunctions::Choice::new("HasItems"))?;
    let nothing = def.add(Succeed::new("Nothing"))?;
    let each_item = def.add(Map::new("EachItem").items_path("$.items").max_concurrency(4))?;
    let processor = def.item_processor(each_item)?;
    let process = def.add_in(
        processor,
        Task::invoke("ProcessItem", worker).output_path("$.Payload"),
    )?;
    def.end(process)?;
    let finish = def.add(Parallel::new("Finish").discard_result())?;
    let audit_branch = def.branch(finish)?;
    let audit = def.add_in(
        audit_branch,
        Pass::new("Audit").result(Value::from_json(&json!({ "audited": true }))),
    )?;
    def.end(audit)?;
    let settle_branch = def.branch(finish)?;
    let settle = def.add_in(settle_branch, Wait::seconds("Settle", 5))?;
    def.end(settle)?;
    let done = def.add(Succeed::new("Done"))?;
    let failed = def.add(
        Fail::new("Failed")
            .error("ProcessingFailed")
            .cause("an item failed"),
    )?;
    def.add_catch(each_item, Catch::all(failed).result_path("$.error"))?;
    def.when(has_items, Condition::is_present("$.items"), each_item)?;
    def.otherwise(has_items, nothing)?;
    def.chain(each_item).next(finish)?.next(done)?;
    Ok(def)
}

pub fn build() -> cairn::Result<App> {
    let mut app = App::new();
    let stack = app.stack("StateMachine")?;

    let worker = Function::new(
        &mut app,
        stack,
        "Worker",
        FunctionProps {
            timeout: Some(Duration::from_secs(30)),
            ..FunctionProps::new(
                Runtime::Python3_12,
                "index.handler",
                Code::inline("def handler(event, context):\n    return {\"done\": event}\n"),
            )
        },
    )?;
    let definition = definition(&worker).map_err(|e| e.at(&app, stack))?;
    let logs = LogGroup::new(
        &mut app,
        stack,
        "MachineLogs",
        LogGroupProps {
            retention: RetentionDays::OneMonth,
            ..LogGroupProps::default()
        },
    )?;
    StateMachine::new(
        &mut app,
        stack,
        "Machine",
        StateMachineProps {
            timeout: Some(Duration::from_secs(15 * 60)),
            logs: Some(LogOptions::to(&logs, LogLevel::All)),
            ..StateMachineProps::new(definition)
        },
    )?;
    Ok(app)
}
