//! Twin pair `existing` (cairn side of `existing.js`): resources the app did not create
//! (a bucket, a topic, a queue, a role, a key, a table, a VPC with a security group, a
//! function), referenced, granted to and read (an SQS event source) from a few it creates.

use std::time::Duration;

use cairn::dynamodb::{Table, TableRef};
use cairn::ec2::{
    Peer, Port, SecurityGroup, SecurityGroupImportOptions, SecurityGroupProps, SecurityGroupRef, Vpc,
    VpcAttributes,
};
use cairn::events::{Rule, RuleProps, Schedule};
use cairn::iam::{Role, RoleImportOptions};
use cairn::kms::{Key, KeyRef};
use cairn::lambda::{Code, Function, FunctionProps, FunctionRef, Runtime, SqsEventSource};
use cairn::s3::{Bucket, BucketRef};
use cairn::sns::{Subscriber, SubscriptionProps, Topic, TopicRef};
use cairn::sqs::{Queue, QueueProps, QueueRef};
use cairn::App;

pub fn build() -> cairn::Result<App> {
    let mut app = App::new();
    let stack = app.stack("Existing")?;

    let archive = Bucket::from_bucket_name(&mut app, stack, "Archive", "corp-archive")?;
    let alerts = Topic::from_topic_arn(
        &mut app,
        stack,
        "Alerts",
        "arn:aws:sns:eu-west-1:123456789012:alerts",
    )?;
    let jobs = Queue::from_queue_arn(&mut app, stack, "Jobs", "arn:aws:sqs:eu-west-1:123456789012:jobs")?;
    let ops = Role::from_role_arn(
        &mut app,
        stack,
        "Ops",
        "arn:aws:iam::123456789012:role/ops",
        RoleImportOptions::default(),
    )?;
    let key = Key::from_key_arn(
        &mut app,
        stack,
        "SharedKey",
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )?;
    let orders = Table::from_table_name(&mut app, stack, "Orders", "orders")?;
    let network = Vpc::from_attributes(
        &mut app,
        stack,
        "Network",
        VpcAttributes {
            private_subnet_ids: vec!["subnet-0a".into(), "subnet-0b".into()],
            private_subnet_route_table_ids: vec!["rtb-0a".into(), "rtb-0b".into()],
            ..VpcAttributes::new("vpc-0abc", ["eu-west-1a", "eu-west-1b"])
        },
    )?;
    let database = SecurityGroup::from_security_group_id(
        &mut app,
        stack,
        "Database",
        "sg-0database",
        SecurityGroupImportOptions::default(),
    )?;
    let resize = Function::from_function_name(&mut app, stack, "Resize", "resize")?;

    let handler = Function::new(
        &mut app,
        stack,
        "Handler",
        FunctionProps::new(
            Runtime::Python3_12,
            "index.handler",
            Code::inline("def handler(event, context):\n    return event\n"),
        ),
    )?;
    handler.add_environment(&mut app, "TABLE", orders.table_name())?;
    archive.grant_read(&mut app, &handler)?;
    alerts.grant_publish(&mut app, &handler)?;
    jobs.grant_send_messages(&mut app, &handler)?;
    key.grant_decrypt(&mut app, &handler)?;
    orders.grant_read_write_data(&mut app, &handler)?;
    resize.grant_invoke(&mut app, &handler)?;
    handler.add_event_source(&mut app, SqsEventSource::from_queue(&jobs))?;

    let results = Queue::new(&mut app, stack, "Results", QueueProps::default())?;
    results.grant_send_messages(&mut app, &ops)?;
    archive.grant_put(&mut app, &ops)?;
    alerts.add_subscription(&mut app, Subscriber::Sqs(results), SubscriptionProps::default())?;

    let app_sg = SecurityGroup::new(&mut app, stack, "AppSg", SecurityGroupProps::for_vpc(&network))?;
    database.allow_from(&mut app, &app_sg, Port::tcp(5432), "")?;
    database.add_ingress_rule(&mut app, Peer::ipv4("10.8.0.0/16"), Port::tcp(5432), "")?;

    let hourly = Rule::new(
        &mut app,
        stack,
        "Hourly",
        RuleProps::schedule(Schedule::Rate(Duration::from_secs(3600))),
    )?;
    hourly.add_target(&mut app, &resize)?;
    Ok(app)
}
