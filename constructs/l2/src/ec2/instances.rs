//! Instances: `Instance`, its role and instance profile, user data and machine images.

use super::*;

/// Where an instance's AMI comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// A template parameter of type `AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>`
    /// whose default is the SSM parameter name (resolved at each deploy).
    SsmParameter(String),
    /// A `{{resolve:ssm:NAME}}` dynamic reference.
    ResolveSsm(String),
    /// A literal AMI id.
    Literal(String),
    /// The newest AMI matching filters, from the context ([`MachineImage::lookup`]).
    Lookup(LookupMachineImageProps),
}

/// An AMI and its root device name (the block device the encrypted root volume maps to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineImage {
    /// Where the AMI id comes from.
    pub source: ImageSource,
    /// The root device name of the AMI: `/dev/xvda` for Amazon Linux, `/dev/sda1` for
    /// Ubuntu and Windows. A wrong name adds a second volume instead of configuring the root.
    pub root_device_name: String,
}

impl MachineImage {
    /// The AMI named by an SSM parameter, through a template parameter (the CDK's
    /// `MachineImage.fromSsmParameter`).
    pub fn from_ssm_parameter(name: &str) -> Self {
        MachineImage {
            source: ImageSource::SsmParameter(name.to_string()),
            root_device_name: "/dev/xvda".into(),
        }
    }

    /// The AMI named by an SSM parameter, through `{{resolve:ssm:NAME}}`.
    pub fn resolve_ssm_parameter(name: &str) -> Self {
        MachineImage {
            source: ImageSource::ResolveSsm(name.to_string()),
            root_device_name: "/dev/xvda".into(),
        }
    }

    /// A literal AMI id (`ami-...`).
    pub fn literal(image_id: &str) -> Self {
        MachineImage {
            source: ImageSource::Literal(image_id.to_string()),
            root_device_name: "/dev/xvda".into(),
        }
    }

    /// The latest Amazon Linux 2023 (x86_64), from its public SSM parameter.
    pub fn latest_amazon_linux_2023() -> Self {
        Self::from_ssm_parameter("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")
    }

    /// The latest Amazon Linux 2 (kernel 5.10, x86_64, gp2), from its public SSM parameter
    /// (aws-cdk-lib's `MachineImage.latestAmazonLinux2()`).
    pub fn latest_amazon_linux_2() -> Self {
        Self::from_ssm_parameter("/aws/service/ami-amazon-linux-latest/amzn2-ami-kernel-5.10-hvm-x86_64-gp2")
    }

    /// Sets the root device name.
    pub fn with_root_device_name(mut self, name: &str) -> Self {
        self.root_device_name = name.to_string();
        self
    }

    fn image_id(&self, app: &mut App, node: NodeId) -> Result<Value> {
        Ok(match &self.source {
            ImageSource::Literal(id) => Value::from(id.as_str()),
            ImageSource::Lookup(props) => lookup::lookup_image(app, node, props)?,
            ImageSource::ResolveSsm(name) => Value::from(format!("{{{{resolve:ssm:{name}}}}}")),
            ImageSource::SsmParameter(name) => {
                let stack = app.stack_of(node).map(|s| s.node()).unwrap_or(node);
                // aws-cdk-lib's id for an imported SSM value (`SsmParameterValue:<name>:`
                // and a fixed UUID), alphanumerics only, then `Parameter`: the same template
                // parameter, so a ported instance keeps its `ImageId`.
                let pid: String = format!("SsmParameterValue:{name}:C96584B6-F00A-464E-AD19-53AFF4B05118")
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .chain("Parameter".chars())
                    .collect();
                match app.node(stack).child(&pid) {
                    Some(existing) => Value::reference(existing),
                    None => app
                        .parameter(
                            stack,
                            &pid,
                            Parameter::ssm_value("AWS::EC2::Image::Id").default_value(name.as_str()),
                        )?
                        .value(),
                }
            }
        })
    }
}

/// User data of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserData {
    /// Shell commands, run by `#!/bin/bash` in order.
    Commands(Vec<String>),
    /// A file read when the instance is created, used verbatim.
    File(PathBuf),
}

impl UserData {
    /// A bash script of these lines.
    pub fn commands<S: Into<String>>(lines: impl IntoIterator<Item = S>) -> Self {
        UserData::Commands(lines.into_iter().map(Into::into).collect())
    }

    /// The contents of a file (read at construction; a missing file is an error naming it).
    pub fn from_file(path: impl AsRef<Path>) -> Self {
        UserData::File(path.as_ref().to_path_buf())
    }

    fn render(&self, app: &App, node: NodeId) -> Result<String> {
        let text = match self {
            // aws-cdk-lib's `UserData.forLinux()`: the shebang, then the lines joined by
            // newlines (no trailing one: a different text stops and starts the instance).
            UserData::Commands(lines) => {
                let mut s = String::from("#!/bin/bash");
                for l in lines {
                    s.push('\n');
                    s.push_str(l);
                }
                s
            }
            UserData::File(file) => std::fs::read_to_string(file).map_err(|e| {
                app.invalid_props(
                    node,
                    format!(
                        "cannot read the user data file {}: {e}; check the path (relative paths are resolved from the current directory)",
                        file.display()
                    ),
                )
            })?,
        };
        if text.len() > 16384 {
            return Err(app.invalid_props(
                node,
                format!(
                    "user data is {} bytes, over EC2's limit of 16384 bytes; download a script from S3 in a short user data instead",
                    text.len()
                ),
            ));
        }
        Ok(text)
    }
}

/// Settings of an [`Instance`].
#[derive(Debug, Clone)]
pub struct InstanceProps {
    /// The VPC.
    pub vpc: Vpc,
    /// The instance type, e.g. `t3.micro`.
    pub instance_type: String,
    /// The AMI.
    pub machine_image: MachineImage,
    /// The subnet type to launch in (the first subnet of that type, or of `availability_zone`).
    pub subnet_type: SubnetType,
    /// Pick the subnet in this AZ index of the VPC.
    pub availability_zone: Option<usize>,
    /// The subnets to choose from, as aws-cdk-lib's `vpcSubnets` (by group name, zones
    /// ...); when set it replaces `subnet_type` (the instance goes to the first subnet it
    /// picks, or the one in `availability_zone`).
    pub vpc_subnets: Option<SubnetSelection>,
    /// Security groups; one allowing all outbound traffic and no inbound is created when empty.
    pub security_groups: Vec<SecurityGroup>,
    /// The instance role; one assumed by `ec2.amazonaws.com` is created when `None`.
    pub role: Option<Role>,
    /// Attach `AmazonSSMManagedInstanceCore` (Session Manager access) to the role.
    pub ssm_managed: bool,
    /// User data.
    pub user_data: Option<UserData>,
    /// Map the root volume (`BlockDeviceMappings`: encrypted, gp3, deleted on termination;
    /// default true). `false` keeps the AMI's root volume as aws-cdk-lib does when no
    /// `blockDevices` are given: `BlockDeviceMappings` replaces an instance, so a port of a
    /// deployed CDK instance sets it to `false`. `root_volume_size` and
    /// `root_volume_kms_key` need it.
    pub map_root_volume: bool,
    /// Size of the encrypted gp3 root volume in GiB; the AMI's size when `None`.
    pub root_volume_size: Option<i64>,
    /// KMS key for the root volume; the account's default EBS key when `None`.
    pub root_volume_kms_key: Option<Value>,
    /// Require IMDSv2 session tokens (default true).
    pub require_imdsv2: bool,
    /// An EC2 key pair name.
    pub key_name: Option<String>,
    /// Detailed (1-minute) CloudWatch monitoring.
    pub detailed_monitoring: bool,
}

impl InstanceProps {
    /// An instance in the first private-with-egress subnet, with the secure defaults.
    pub fn new(vpc: &Vpc, instance_type: &str, machine_image: MachineImage) -> Self {
        InstanceProps {
            vpc: vpc.clone(),
            instance_type: instance_type.to_string(),
            machine_image,
            subnet_type: SubnetType::PrivateWithEgress,
            availability_zone: None,
            vpc_subnets: None,
            security_groups: Vec::new(),
            role: None,
            ssm_managed: false,
            user_data: None,
            map_root_volume: true,
            root_volume_size: None,
            root_volume_kms_key: None,
            require_imdsv2: true,
            key_name: None,
            detailed_monitoring: false,
        }
    }
}

/// An EC2 instance (`AWS::EC2::Instance`) with its role and instance profile, an encrypted
/// root volume and IMDSv2 required by default.
#[derive(Debug, Clone, Copy)]
pub struct Instance {
    pub(super) node: NodeId,
    resource: Res<CfnInstance>,
    role: Role,
    profile: Res<CfnInstanceProfile>,
    security_group: SecurityGroup,
}

impl Instance {
    /// Creates the instance as construct `id` under `scope`.
    pub fn new(app: &mut App, scope: impl Into<NodeId>, id: &str, props: InstanceProps) -> Result<Instance> {
        let node = app.construct(scope, id)?;
        let subnets = match &props.vpc_subnets {
            Some(selection) => props.vpc.select(app, node, selection)?,
            None => props.vpc.require_subnets(app, node, props.subnet_type)?,
        };
        let subnet = match props.availability_zone {
            Some(az) => subnets
                .iter()
                .find(|s| s.az_index == az)
                .copied()
                .ok_or_else(|| {
                    app.invalid_props(
                        node,
                        format!(
                            "no {} subnet in AZ index {az}; the VPC has {} AZs",
                            props
                                .vpc_subnets
                                .as_ref()
                                .map_or(props.subnet_type.to_string(), |s| format!("{s:?}")),
                            props.vpc.azs.len()
                        ),
                    )
                })?,
            None => subnets[0],
        }
        .clone();
        if !props.map_root_volume && (props.root_volume_size.is_some() || props.root_volume_kms_key.is_some())
        {
            return Err(app.invalid_props(
                node,
                "root_volume_size and root_volume_kms_key configure the mapped root volume, but map_root_volume is false; drop them or map the root volume",
            ));
        }
        let user_data = match &props.user_data {
            Some(u) => Some(u.render(app, node)?),
            None => None,
        };
        let mut groups = props.security_groups.clone();
        if groups.is_empty() {
            let path = app.path(node);
            groups.push(SecurityGroup::new(
                app,
                node,
                "InstanceSecurityGroup",
                SecurityGroupProps::new(&props.vpc, &path),
            )?);
        }
        let role = match props.role {
            Some(r) => r,
            None => Role::new(
                app,
                node,
                "InstanceRole",
                RoleProps::new(Principal::service("ec2.amazonaws.com")),
            )?,
        };
        if props.ssm_managed {
            role.add_managed_policy(app, Role::aws_managed_policy("AmazonSSMManagedInstanceCore"))?;
        }
        let profile = app.add(
            node,
            "InstanceProfile",
            CfnInstanceProfile::new(vec![Val::from(role.name())]),
        )?;
        let image_id = props.machine_image.image_id(app, node)?;

        let mut ebs = instance::Ebs {
            encrypted: Some(true.into()),
            volume_type: Some(instance::VolumeType::Gp3.into()),
            delete_on_termination: Some(true.into()),
            ..Default::default()
        };
        ebs.volume_size = props.root_volume_size.map(Into::into);
        ebs.kms_key_id = props.root_volume_kms_key.clone().map(Into::into);
        let root = instance::BlockDeviceMapping {
            ebs: Some(ebs.into()),
            ..instance::BlockDeviceMapping::new(props.machine_image.root_device_name.as_str())
        };
        let path = app.path(node);
        let mut i = CfnInstance {
            instance_type: Some(props.instance_type.as_str().into()),
            image_id: Some(image_id.into()),
            subnet_id: Some(subnet.subnet_id().into()),
            availability_zone: Some(subnet.availability_zone.clone().into()),
            security_group_ids: Some(Val::Lit(
                groups.iter().map(|g| Val::from(g.security_group_id())).collect(),
            )),
            iam_instance_profile: Some(profile.ref_().into()),
            block_device_mappings: props.map_root_volume.then(|| Val::Lit(vec![root.into()])),
            key_name: props.key_name.as_deref().map(Into::into),
            monitoring: props.detailed_monitoring.then_some(true.into()),
            user_data: user_data.map(|u| Value::base64(Value::from(u)).into()),
            ..Default::default()
        };
        if props.require_imdsv2 {
            i.metadata_options = Some(
                instance::MetadataOptions {
                    http_tokens: Some(instance::HttpTokens::Required.into()),
                    http_endpoint: Some(instance::HttpEndpoint::Enabled.into()),
                    ..Default::default()
                }
                .into(),
            );
        }
        i.tags = tag_list(&[("Name", Value::from(path.as_str()))], instance::Tag::new);
        let resource = app.add(node, "Resource", i)?;
        // The role and its policies exist before the instance boots: a dependency on the
        // role construct, expanded at synthesis, so a grant added later is waited for too.
        app.resource_options_mut(resource)?.depends_on.push(role.node());
        Ok(Instance {
            node,
            resource,
            role,
            profile,
            security_group: groups[0],
        })
    }

    /// The construct node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The `AWS::EC2::Instance`.
    pub fn resource(&self) -> Res<CfnInstance> {
        self.resource
    }

    /// The instance id (`Ref`).
    pub fn instance_id(&self) -> Value {
        self.resource.ref_()
    }

    /// The private IP address.
    pub fn private_ip(&self) -> Value {
        self.resource.get_att("PrivateIp")
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The instance profile.
    pub fn instance_profile(&self) -> Res<CfnInstanceProfile> {
        self.profile
    }

    /// The first security group (the created one when none was given).
    pub fn security_group(&self) -> SecurityGroup {
        self.security_group
    }
}

grantable_by_role!(Instance);

impl From<Instance> for NodeId {
    fn from(i: Instance) -> NodeId {
        i.node
    }
}

impl From<Vpc> for NodeId {
    fn from(v: Vpc) -> NodeId {
        v.node
    }
}

impl From<SecurityGroup> for NodeId {
    fn from(s: SecurityGroup) -> NodeId {
        s.node()
    }
}
