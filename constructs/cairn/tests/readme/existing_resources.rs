use cairn::dynamodb::{Table, TableRef};
use cairn::ec2::{
    Port, SecurityGroup, SecurityGroupImportOptions, SecurityGroupProps, SecurityGroupRef, Vpc, VpcAttributes,
};
use cairn::iam::{Role, RoleImportOptions};
use cairn::lambda::{Code, Function, FunctionProps, Runtime};
use cairn::s3::{Bucket, BucketRef};
use cairn::sns::{Topic, TopicRef};
use cairn::App;

pub fn main() -> cairn::Result<()> {
    let mut app = App::new();
    let stack = app.stack("Reports")?;

    // What the app did not create: no resource is added for any of these.
    let archive = Bucket::from_bucket_name(&mut app, stack, "Archive", "corp-archive")?;
    let alerts = Topic::from_topic_arn(
        &mut app,
        stack,
        "Alerts",
        "arn:aws:sns:eu-west-1:123456789012:alerts",
    )?;
    let orders = Table::from_table_name(&mut app, stack, "Orders", "orders")?;
    let ops = Role::from_role_arn(
        &mut app,
        stack,
        "Ops",
        "arn:aws:iam::123456789012:role/ops",
        RoleImportOptions::default(),
    )?;
    let network = Vpc::from_attributes(
        &mut app,
        stack,
        "Network",
        VpcAttributes {
            private_subnet_ids: vec!["subnet-0a".into(), "subnet-0b".into()],
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

    // Created resources use them as they would use created ones.
    let report = Function::new(
        &mut app,
        stack,
        "Report",
        FunctionProps::new(
            Runtime::Python3_12,
            "index.handler",
            Code::inline("def handler(event, context):\n    return event\n"),
        ),
    )?;
    report.add_environment(&mut app, "TABLE", orders.table_name())?;
    archive.grant_read(&mut app, &report)?; // the function's role policy only
    alerts.grant_publish(&mut app, &report)?;
    orders.grant_read_data(&mut app, &report)?;
    archive.grant_put(&mut app, &ops)?; // an inline policy `Ops/Policy`, attached to "ops"
    let app_sg = SecurityGroup::new(&mut app, stack, "AppSg", SecurityGroupProps::for_vpc(&network))?;
    database.allow_from(&mut app, &app_sg, Port::tcp(5432), "")?; // an ingress rule resource

    let asm = app.synth()?;
    let s = asm.stack("Reports").unwrap();
    assert!(s.resources_of_type("AWS::S3::Bucket").is_empty());
    assert_eq!(s.resources_of_type("AWS::IAM::Policy").len(), 2);
    assert_eq!(s.resources_of_type("AWS::EC2::SecurityGroupIngress").len(), 1);
    Ok(())
}
