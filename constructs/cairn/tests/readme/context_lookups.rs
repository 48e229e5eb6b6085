use cairn::ec2::{
    Instance, InstanceProps, LookupMachineImageProps, MachineImage, SubnetType, Vpc, VpcLookupOptions,
};
use cairn::ssm::StringParameter;
use cairn::{Context, Environment, StackProps};

pub fn main() -> cairn::Result<()> {
    // The context the cairn CLI passes (cdk.json, cdk.context.json, --context).
    let mut app = Context::from_env()?.into_app();
    let env = Some(Environment::new("123456789012", "eu-west-1"));
    let stack = app.stack_with(
        app.root(),
        "Web",
        StackProps {
            env,
            ..StackProps::default()
        },
    )?;

    let vpc = Vpc::from_lookup(
        &mut app,
        stack,
        "Shared",
        VpcLookupOptions {
            vpc_name: Some("shared".into()),
            ..VpcLookupOptions::default()
        },
    )?;
    let image = MachineImage::lookup(LookupMachineImageProps {
        name: "al2023-ami-2023.*-x86_64".into(),
        owners: vec!["amazon".into()],
        ..LookupMachineImageProps::default()
    });
    Instance::new(
        &mut app,
        stack,
        "Server",
        InstanceProps::new(&vpc, "t3.micro", image),
    )?;
    let color = StringParameter::value_from_lookup(&mut app, stack, "/web/color", Some("blue"))?;

    // Run without the CLI: the CDK's dummy values, and the keys the CLI would look up.
    assert_eq!(vpc.select_subnets(SubnetType::Public).len(), 2);
    assert_eq!(color, "blue");
    let asm = app.synth()?;
    let keys: Vec<&str> = asm.missing().iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys[0], "vpc-provider:account=123456789012:filter.tag:Name=shared:region=eu-west-1:returnAsymmetricSubnets=true");
    assert_eq!(keys.len(), 3);
    Ok(())
}
