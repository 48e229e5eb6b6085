//! The web-jobnet's two job nets as Step Functions definitions: the stop flow (maintenance
//! page on, web servers drained, stopped and backed up, the database backed up and stopped)
//! and the start flow (the reverse), with the Lambda calls, retries and backup waits they
//! share.

use super::*;

/// A Lambda invocation whose useful result (`$.Payload`, reshaped by `selector`) lands
/// at `result_path`.
fn call(name: &str, f: &Function, payload: Params, selector: Params, result_path: &str) -> Task {
    Task::invoke(name, f)
        .payload(payload)
        .result_selector(selector)
        .result_path(result_path)
        .timeout_seconds(60)
}

fn instance_payload() -> Params {
    Params::new().path("instanceId", "$.instanceId")
}

fn state_of_instance() -> Params {
    Params::new().path("state", "$.Payload.state")
}

fn status_of(field: &str) -> Params {
    Params::new().path(field, &format!("$.Payload.{field}"))
}

/// Run Command statuses that are not final yet.
fn command_running() -> Condition {
    Condition::or([
        Condition::string_equals("$.command.status", "Pending"),
        Condition::string_equals("$.command.status", "InProgress"),
        Condition::string_equals("$.command.status", "Delayed"),
    ])
}

/// The database cluster cannot change state right now (e.g. the backup is being taken):
/// retried every minute for half an hour.
fn busy_database() -> Retry {
    Retry::on(["InvalidDBClusterStateFault"])
        .interval_seconds(60)
        .max_attempts(30)
        .backoff_rate(1.0)
}

/// The AWS Backup job states after which a job will not complete.
pub const BACKUP_FAILED_STATES: [&str; 4] = ["FAILED", "ABORTED", "EXPIRED", "PARTIAL"];

/// Starts an AWS Backup job (of the item's web server when `payload` names an
/// `instanceId`, else of the database cluster) and polls `DescribeBackupJob` until it has
/// completed (`start -> wait -> describe -> choice`), then goes on to `success`, or to
/// `failure` when the job failed, was aborted or expired; returns the start task. An
/// error of either call goes to `caught` when given (else to the enclosing Map's catcher).
fn backup_and_wait(
    def: &mut Definition,
    scope: cairn::stepfunctions::Scope,
    f: &Functions,
    (label, payload): (&str, Params),
    (success, failure): (StateId, StateId),
    caught: Option<StateId>,
) -> Result<StateRef<Task>, DefinitionError> {
    let catch = |task: Task| match caught {
        Some(to) => task.catch(Catch::all(to).result_path("$.error")),
        None => task,
    };
    let start = def.add_in(
        scope,
        catch(
            call(
                &format!("Backup{label}"),
                &f.start_backup,
                payload.path("executionName", "$$.Execution.Name"),
                status_of("backupJobId"),
                "$.backup",
            )
            .comment("Starts an AWS Backup job into the job net's vault"),
        ),
    )?;
    let wait = def.add_in(scope, Wait::seconds(&format!("WaitFor{label}Backup"), 60))?;
    let describe = def.add_in(
        scope,
        catch(call(
            &format!("Describe{label}Backup"),
            &f.describe_backup,
            Params::new().path("backupJobId", "$.backup.backupJobId"),
            status_of("backupJobId").path("state", "$.Payload.state"),
            "$.backup",
        )),
    )?;
    let done = def.add_in(scope, Choice::new(&format!("{label}BackupDone?")))?;
    def.chain(start).next(wait)?.next(describe)?.next(done)?;
    def.when(
        done,
        Condition::string_equals("$.backup.state", "COMPLETED"),
        success,
    )?;
    def.when(
        done,
        Condition::or(
            BACKUP_FAILED_STATES
                .iter()
                .map(|s| Condition::string_equals("$.backup.state", s)),
        ),
        failure,
    )?;
    // CREATED, PENDING, RUNNING, ABORTING: not final yet.
    def.otherwise(done, wait)?;
    Ok(start)
}

/// The `Targets` pass state: the web servers' ids for the Map.
fn targets(web_servers: &[Value]) -> Pass {
    Pass::new("Targets")
        .comment("The web servers of the job net")
        .result(Value::map([(
            "instanceIds",
            Value::list(web_servers.iter().cloned()),
        )]))
        .result_path("$.targets")
}

/// Runs an httpd script on the item's instance and polls until it has finished
/// (`send -> wait -> result -> choice`), then goes on to `success` or `failure`; returns
/// the send task.
fn httpd_script(
    def: &mut Definition,
    scope: cairn::stepfunctions::Scope,
    f: &Functions,
    (action, label): (&str, &str),
    success: StateId,
    failure: StateId,
) -> Result<StateRef<Task>, DefinitionError> {
    let send = def.add_in(
        scope,
        call(
            &format!("{label}Httpd"),
            &f.send_command,
            instance_payload().set("action", action),
            status_of("commandId"),
            "$.command",
        )
        .comment(&format!(
            "/opt/webapp/bin/httpd-{action}.sh through SSM Run Command"
        ))
        .retry(
            // The SSM agent of an instance that has just started is not online yet.
            Retry::on(["InstanceNotReady"])
                .interval_seconds(15)
                .max_attempts(10)
                .backoff_rate(1.5),
        ),
    )?;
    let wait = def.add_in(scope, Wait::seconds(&format!("WaitFor{label}Httpd"), 10))?;
    let result = def.add_in(
        scope,
        call(
            &format!("Get{label}HttpdResult"),
            &f.command_result,
            instance_payload().path("commandId", "$.command.commandId"),
            status_of("commandId").path("status", "$.Payload.status"),
            "$.command",
        ),
    )?;
    let done = def.add_in(scope, Choice::new(&format!("Httpd{label}Done?")))?;
    def.chain(send).next(wait)?.next(result)?.next(done)?;
    def.when(
        done,
        Condition::string_equals("$.command.status", "Success"),
        success,
    )?;
    def.when(done, command_running(), wait)?;
    def.otherwise(done, failure)?;
    Ok(send)
}

/// The stop flow.
pub(super) fn stop_flow(web_servers: &[Value], f: &Functions) -> Result<Definition, DefinitionError> {
    let mut def = Definition::new();
    def.set_comment("web-jobnet stop: maintenance page on, httpd and web servers off and backed up (two at a time), database backed up and stopped");
    let failed = def.add(Fail::new("StopFailed").error("WebJobnet.StopFailed").cause(
        "A step of the stop job net failed; see the execution's events. The maintenance page stays on.",
    ))?;
    let stopped = def.add(Succeed::new("SystemStopped"))?;
    let catch = || Catch::all(failed).result_path("$.error");

    let targets = def.add(targets(web_servers))?;
    let maintenance = def.add(
        call(
            "MaintenanceOn",
            &f.maintenance_on,
            Params::new(),
            status_of("ruleArn"),
            "$.maintenance",
        )
        .catch(catch()),
    )?;

    let each = def.add(
        Map::new("StopWebServers")
            .items_path("$.targets.instanceIds")
            .max_concurrency(MAX_CONCURRENCY)
            .item_selector(Params::new().path("instanceId", "$$.Map.Item.Value"))
            .discard_result()
            .catch(catch()),
    )?;
    let it = def.item_processor(each)?;
    let stop_instance = def.add_in(
        it,
        call(
            "StopInstance",
            &f.stop_instance,
            instance_payload(),
            state_of_instance(),
            "$.instance",
        ),
    )?;
    let httpd_failed = def.add_in(
        it,
        Fail::new("HttpdStopFailed")
            .error("WebJobnet.HttpdStopFailed")
            .cause("httpd-stop.sh did not succeed"),
    )?;
    let stop_httpd = httpd_script(
        &mut def,
        it,
        f,
        ("stop", "Stop"),
        stop_instance.into(),
        httpd_failed.into(),
    )?;
    let wait_instance = def.add_in(it, Wait::seconds("WaitForInstanceStop", 30))?;
    let describe_instance = def.add_in(
        it,
        call(
            "DescribeStoppingInstance",
            &f.describe_instance,
            instance_payload(),
            state_of_instance(),
            "$.instance",
        ),
    )?;
    let instance_stopped = def.add_in(it, Choice::new("InstanceStopped?"))?;
    let web_server_stopped = def.add_in(it, Succeed::new("WebServerStopped"))?;
    let web_server_backup_failed = def.add_in(
        it,
        Fail::new("WebServerBackupFailed")
            .error("WebJobnet.WebServerBackupFailed")
            .cause("the AWS Backup job of the stopped web server failed, was aborted or expired"),
    )?;
    // Once stopped, the web server is backed up (an AMI, through AWS Backup).
    let backup_web_server = backup_and_wait(
        &mut def,
        it,
        f,
        ("WebServer", instance_payload()),
        (web_server_stopped.into(), web_server_backup_failed.into()),
        None,
    )?;
    let instance_failed = def.add_in(
        it,
        Fail::new("InstanceStopFailed")
            .error("WebJobnet.InstanceStopFailed")
            .cause("the instance is in a state the stop flow does not handle (pending, shutting-down, terminated)"),
    )?;
    def.chain(stop_instance)
        .next(wait_instance)?
        .next(describe_instance)?
        .next(instance_stopped)?;
    def.when(
        instance_stopped,
        Condition::string_equals("$.instance.state", "stopped"),
        backup_web_server,
    )?;
    def.when(
        instance_stopped,
        Condition::string_equals("$.instance.state", "stopping"),
        wait_instance,
    )?;
    def.otherwise(instance_stopped, instance_failed)?;
    // An instance already stopped (a rerun after a failure) is not stopped again, but
    // backed up: its backup may be the step that failed.
    let check_instance = def.add_in(
        it,
        call(
            "DescribeInstance",
            &f.describe_instance,
            instance_payload(),
            state_of_instance(),
            "$.instance",
        ),
    )?;
    let instance_state = def.add_in(it, Choice::new("InstanceState?"))?;
    def.chain(check_instance).next(instance_state)?;
    def.when(
        instance_state,
        Condition::string_equals("$.instance.state", "running"),
        stop_httpd,
    )?;
    def.when(
        instance_state,
        Condition::string_equals("$.instance.state", "stopping"),
        wait_instance,
    )?;
    def.when(
        instance_state,
        Condition::string_equals("$.instance.state", "stopped"),
        backup_web_server,
    )?;
    def.otherwise(instance_state, instance_failed)?;
    def.start_at(check_instance)?;

    let describe_db = def.add(
        call(
            "DescribeDatabase",
            &f.describe_database,
            Params::new(),
            status_of("status"),
            "$.database",
        )
        .catch(catch()),
    )?;
    let db_state = def.add(Choice::new("DatabaseState?"))?;
    // The database is stopped once its backup job has completed (a cluster cannot stop
    // while it is being backed up).
    let stop_db = def.add(
        call(
            "StopDatabase",
            &f.stop_database,
            Params::new(),
            status_of("status"),
            "$.database",
        )
        .catch(catch()),
    )?;
    let database_backup_failed = def.add(
        Fail::new("DatabaseBackupFailed")
            .error("WebJobnet.DatabaseBackupFailed")
            .cause("the AWS Backup job of the database cluster failed, was aborted or expired; the database was not stopped"),
    )?;
    let top = def.top();
    let backup = backup_and_wait(
        &mut def,
        top,
        f,
        ("Database", Params::new()),
        (stop_db.into(), database_backup_failed.into()),
        Some(failed.into()),
    )?;
    let wait_db = def.add(Wait::seconds("WaitForDatabaseStop", 60))?;
    let describe_stopping_db = def.add(
        call(
            "DescribeStoppingDatabase",
            &f.describe_database,
            Params::new(),
            status_of("status"),
            "$.database",
        )
        .catch(catch()),
    )?;
    let db_stopped = def.add(Choice::new("DatabaseStopped?"))?;

    def.chain(targets)
        .next(maintenance)?
        .next(each)?
        .next(describe_db)?
        .next(db_state)?;
    def.when(
        db_state,
        Condition::string_equals("$.database.status", "available"),
        backup,
    )?;
    def.when(
        db_state,
        Condition::string_equals("$.database.status", "stopping"),
        wait_db,
    )?;
    def.when(
        db_state,
        Condition::string_equals("$.database.status", "stopped"),
        stopped,
    )?;
    def.otherwise(db_state, failed)?;
    def.chain(stop_db)
        .next(wait_db)?
        .next(describe_stopping_db)?
        .next(db_stopped)?;
    def.when(
        db_stopped,
        Condition::string_equals("$.database.status", "stopped"),
        stopped,
    )?;
    def.when(
        db_stopped,
        Condition::string_equals("$.database.status", "stopping"),
        wait_db,
    )?;
    def.otherwise(db_stopped, failed)?;
    def.start_at(targets)?;
    Ok(def)
}

/// The start flow.
pub(super) fn start_flow(web_servers: &[Value], f: &Functions) -> Result<Definition, DefinitionError> {
    let mut def = Definition::new();
    def.set_comment("web-jobnet start: database started, web servers and httpd on (two at a time), targets healthy, maintenance page off");
    let failed = def.add(Fail::new("StartFailed").error("WebJobnet.StartFailed").cause(
        "A step of the start job net failed; see the execution's events. The maintenance page stays on.",
    ))?;
    let started = def.add(Succeed::new("SystemStarted"))?;
    let catch = || Catch::all(failed).result_path("$.error");

    let targets = def.add(targets(web_servers))?;
    let maintenance = def.add(
        call(
            "EnsureMaintenanceOn",
            &f.maintenance_on,
            Params::new(),
            status_of("ruleArn"),
            "$.maintenance",
        )
        .comment("The site answers with the maintenance page until every target is healthy")
        .catch(catch()),
    )?;
    let describe_db = def.add(
        call(
            "DescribeDatabase",
            &f.describe_database,
            Params::new(),
            status_of("status"),
            "$.database",
        )
        .catch(catch()),
    )?;
    let db_state = def.add(Choice::new("DatabaseState?"))?;
    let start_db = def.add(
        call(
            "StartDatabase",
            &f.start_database,
            Params::new(),
            status_of("status"),
            "$.database",
        )
        .retry(busy_database())
        .catch(catch()),
    )?;
    let wait_db = def.add(Wait::seconds("WaitForDatabaseStart", 60))?;
    let describe_starting_db = def.add(
        call(
            "DescribeStartingDatabase",
            &f.describe_database,
            Params::new(),
            status_of("status"),
            "$.database",
        )
        .catch(catch()),
    )?;
    let db_available = def.add(Choice::new("DatabaseAvailable?"))?;

    let each = def.add(
        Map::new("StartWebServers")
            .items_path("$.targets.instanceIds")
            .max_concurrency(MAX_CONCURRENCY)
            .item_selector(Params::new().path("instanceId", "$$.Map.Item.Value"))
            .discard_result()
            .catch(catch()),
    )?;
    let it = def.item_processor(each)?;
    let start_instance = def.add_in(
        it,
        call(
            "StartInstance",
            &f.start_instance,
            instance_payload(),
            state_of_instance(),
            "$.instance",
        ),
    )?;
    let wait_instance = def.add_in(it, Wait::seconds("WaitForInstanceStart", 20))?;
    let describe_instance = def.add_in(
        it,
        call(
            "DescribeStartingInstance",
            &f.describe_instance,
            instance_payload(),
            state_of_instance(),
            "$.instance",
        ),
    )?;
    let instance_running = def.add_in(it, Choice::new("InstanceRunning?"))?;
    let instance_failed = def.add_in(
        it,
        Fail::new("InstanceStartFailed")
            .error("WebJobnet.InstanceStartFailed")
            .cause("the instance is neither pending nor running"),
    )?;
    let web_server_started = def.add_in(it, Succeed::new("WebServerStarted"))?;
    let httpd_failed = def.add_in(
        it,
        Fail::new("HttpdStartFailed")
            .error("WebJobnet.HttpdStartFailed")
            .cause("httpd-start.sh did not succeed (httpd not healthy)"),
    )?;
    let start_httpd = httpd_script(
        &mut def,
        it,
        f,
        ("start", "Start"),
        web_server_started.into(),
        httpd_failed.into(),
    )?;
    def.chain(start_instance)
        .next(wait_instance)?
        .next(describe_instance)?
        .next(instance_running)?;
    def.when(
        instance_running,
        Condition::string_equals("$.instance.state", "running"),
        start_httpd,
    )?;
    def.when(
        instance_running,
        Condition::string_equals("$.instance.state", "pending"),
        wait_instance,
    )?;
    def.otherwise(instance_running, instance_failed)?;

    let wait_targets = def.add(Wait::seconds("WaitForHealthyTargets", 30))?;
    let health = def.add(
        call(
            "DescribeTargetHealth",
            &f.target_health,
            Params::new(),
            status_of("allHealthy")
                .path("healthy", "$.Payload.healthy")
                .path("total", "$.Payload.total"),
            "$.targetHealth",
        )
        .catch(catch()),
    )?;
    let healthy = def.add(Choice::new("TargetsHealthy?"))?;
    let maintenance_off = def.add(
        call(
            "MaintenanceOff",
            &f.maintenance_off,
            Params::new(),
            status_of("deleted"),
            "$.maintenance",
        )
        .catch(catch()),
    )?;

    def.chain(targets)
        .next(maintenance)?
        .next(describe_db)?
        .next(db_state)?;
    def.when(
        db_state,
        Condition::string_equals("$.database.status", "available"),
        each,
    )?;
    def.when(
        db_state,
        Condition::string_equals("$.database.status", "stopped"),
        start_db,
    )?;
    def.when(
        db_state,
        Condition::string_equals("$.database.status", "starting"),
        wait_db,
    )?;
    def.otherwise(db_state, failed)?;
    def.chain(start_db)
        .next(wait_db)?
        .next(describe_starting_db)?
        .next(db_available)?;
    def.when(
        db_available,
        Condition::string_equals("$.database.status", "available"),
        each,
    )?;
    def.when(
        db_available,
        Condition::string_equals("$.database.status", "starting"),
        wait_db,
    )?;
    def.otherwise(db_available, failed)?;
    def.chain(each).next(wait_targets)?.next(health)?.next(healthy)?;
    def.when(
        healthy,
        Condition::boolean_equals("$.targetHealth.allHealthy", true),
        maintenance_off,
    )?;
    def.otherwise(healthy, wait_targets)?;
    def.chain(maintenance_off).next(started)?;
    def.start_at(targets)?;
    Ok(def)
}
