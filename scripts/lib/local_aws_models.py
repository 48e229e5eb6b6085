"""CloudFormation models the local environment (local-aws.py) adds to moto for resource
types moto's CloudFormation does not create, each in the service's moto backend so the
system's own calls (DescribeDBClusters, GetSecretValue ...) find it. moto skips a type it
has no model for, and an output reading an attribute of such a resource fails the whole
stack with an internal error.

Each model is made by `model()`: a `create(props, name, account, region)` that returns the
resource's state (a dict with its physical id under "id" and its attributes by their
CloudFormation names), and an optional `delete(state, account, region)`.
"""

import json


def model(cfn_type, name_type, create, delete=None):
    """A moto CloudFormation model of `cfn_type` (its name property `name_type`)."""
    from moto.core.common_models import CloudFormationModel

    class Model(CloudFormationModel):
        __module__ = "moto.cairn_local.models"  # moto files models by their module

        def __init__(self, state):
            self.state = state

        @property
        def physical_resource_id(self):
            return self.state["id"]

        @staticmethod
        def cloudformation_type():
            return cfn_type

        @staticmethod
        def cloudformation_name_type():
            return name_type

        @classmethod
        def has_cfn_attr(cls, attr):
            # Attributes are known once created; moto asks before (for outputs) too.
            return True

        def get_cfn_attribute(self, attr):
            if attr not in self.state and "*" in self.state:
                return self.state["*"]
            if attr not in self.state:
                from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

                raise UnformattedGetAttTemplateException()
            return self.state[attr]

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
            props = cloudformation_json.get("Properties") or {}
            state = create(props, resource_name, account_id, region_name)
            state["_policy"] = cloudformation_json.get("DeletionPolicy")
            return cls(state)

        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            pass

        def delete(self, account_id, region_name):
            if delete is not None:
                delete(self.state, account_id, region_name)

    Model.__name__ = cfn_type.replace("AWS::", "").replace("::", "")
    return Model


def tags_of(props, key="Tags"):
    return [{"Key": t["Key"], "Value": t["Value"]} for t in props.get(key) or []]


# --- SNS subscriptions and API Gateway HTTP APIs ---------------------------------------


def create_subscription(p, name, account, region):
    from moto.sns.models import sns_backends

    backend = sns_backends[account][region]
    sub = backend.subscribe(p["TopicArn"], p.get("Endpoint"), p["Protocol"])
    for key in ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy"):
        if key in p:
            value = p[key]
            if isinstance(value, (dict, list)):
                value = json.dumps(value)
            backend.set_subscription_attributes(sub.arn, key, str(value).lower() if isinstance(value, bool) else value)
    return {"id": sub.arn, "Arn": sub.arn}


def delete_subscription(state, account, region):
    from moto.sns.models import sns_backends

    sns_backends[account][region].unsubscribe(state["id"])


def apis(account, region):
    from moto.apigatewayv2.models import apigatewayv2_backends

    return apigatewayv2_backends[account][region]


def http_api(endpoint):
    """An HTTP API, served by local-aws.py's gateway at `endpoint`/_execute-api/ID."""

    def create(p, name, account, region):
        api = apis(account, region).create_api(
            api_key_selection_expression=p.get("ApiKeySelectionExpression"),
            cors_configuration=p.get("CorsConfiguration"),
            description=p.get("Description"),
            disable_schema_validation=p.get("DisableSchemaValidation"),
            disable_execute_api_endpoint=p.get("DisableExecuteApiEndpoint"),
            name=p.get("Name") or name,
            protocol_type=p.get("ProtocolType", "HTTP"),
            route_selection_expression=p.get("RouteSelectionExpression"),
            tags=p.get("Tags") or {},
            version=p.get("Version"),
        )
        api.api_endpoint = f"{endpoint}/_execute-api/{api.api_id}"
        return {"id": api.api_id, "ApiId": api.api_id, "ApiEndpoint": api.api_endpoint}

    return create


def delete_http_api(state, account, region):
    apis(account, region).delete_api(state["id"])


def create_integration(p, name, account, region):
    integration = apis(account, region).create_integration(
        api_id=p["ApiId"],
        connection_id=p.get("ConnectionId"),
        connection_type=p.get("ConnectionType"),
        content_handling_strategy=p.get("ContentHandlingStrategy"),
        credentials_arn=p.get("CredentialsArn"),
        description=p.get("Description"),
        integration_method=p.get("IntegrationMethod"),
        integration_subtype=p.get("IntegrationSubtype"),
        integration_type=p.get("IntegrationType"),
        integration_uri=p.get("IntegrationUri"),
        passthrough_behavior=p.get("PassthroughBehavior"),
        payload_format_version=p.get("PayloadFormatVersion"),
        request_parameters=p.get("RequestParameters"),
        request_templates=p.get("RequestTemplates"),
        response_parameters=p.get("ResponseParameters"),
        template_selection_expression=p.get("TemplateSelectionExpression"),
        timeout_in_millis=p.get("TimeoutInMillis"),
        tls_config=p.get("TlsConfig"),
    )
    return {"id": integration.id}


def create_route(p, name, account, region):
    route = apis(account, region).create_route(
        api_id=p["ApiId"],
        api_key_required=p.get("ApiKeyRequired", False),
        authorization_scopes=p.get("AuthorizationScopes"),
        authorization_type=p.get("AuthorizationType"),
        authorizer_id=p.get("AuthorizerId"),
        model_selection_expression=p.get("ModelSelectionExpression"),
        operation_name=p.get("OperationName"),
        request_models=p.get("RequestModels"),
        request_parameters=p.get("RequestParameters"),
        route_key=p["RouteKey"],
        route_response_selection_expression=p.get("RouteResponseSelectionExpression"),
        target=p.get("Target"),
    )
    return {"id": route.route_id}


def create_stage(p, name, account, region):
    config = {
        "stageName": p["StageName"],
        "autoDeploy": p.get("AutoDeploy"),
        "accessLogSettings": p.get("AccessLogSettings"),
        "description": p.get("Description"),
        "stageVariables": p.get("StageVariables") or {},
    }
    return {"id": apis(account, region).create_stage(p["ApiId"], config).name}


# --- RDS: Aurora clusters (DBInstances of a cluster are moto's own model) ----------------


def create_db_cluster(p, name, account, region):
    from moto.rds.models import rds_backends

    cluster_id = (p.get("DBClusterIdentifier") or name).lower()[:63]
    cluster = rds_backends[account][region].create_db_cluster(
        {
            "db_cluster_identifier": cluster_id,
            "engine": p["Engine"],
            "engine_version": p.get("EngineVersion"),
            # A dynamic reference ({{resolve:secretsmanager:...}}) stays as written: the
            # local environment resolves none.
            "master_username": p.get("MasterUsername"),
            "master_user_password": p.get("MasterUserPassword"),
            "database_name": p.get("DatabaseName"),
            "db_cluster_parameter_group_name": p.get("DBClusterParameterGroupName"),
            "db_subnet_group_name": p.get("DBSubnetGroupName"),
            "vpc_security_group_ids": p.get("VpcSecurityGroupIds") or [],
            "storage_encrypted": bool(p.get("StorageEncrypted")),
            "kms_key_id": p.get("KmsKeyId"),
            "deletion_protection": bool(p.get("DeletionProtection")),
            "backup_retention_period": int(p.get("BackupRetentionPeriod") or 1),
            "copy_tags_to_snapshot": bool(p.get("CopyTagsToSnapshot")),
            "port": int(p["Port"]) if p.get("Port") else None,
            "tags": tags_of(p),
        }
    )
    # CloudFormation's create completes once the cluster is available.
    cluster.status = "available"
    return {
        "id": cluster_id,
        "DBClusterArn": cluster.db_cluster_arn,
        "DBClusterResourceId": cluster.db_cluster_resource_id,
        "Endpoint.Address": cluster.endpoint,
        "Endpoint.Port": str(cluster.port),
        "ReadEndpoint.Address": cluster.reader_endpoint,
    }


def patch_cluster_instances():
    """A DB instance of a cluster (DBClusterIdentifier) joins it and takes its engine
    version, as RDS does; moto's model ignores the property (and knows no default version
    for the Aurora engines)."""
    from moto.rds.models import DBInstance, rds_backends

    create = DBInstance.create_from_cloudformation_json.__func__

    def in_cluster(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        p = cloudformation_json.get("Properties") or {}
        backend = rds_backends[account_id][region_name]
        cluster = backend.clusters.get(p.get("DBClusterIdentifier") or "")
        if cluster is None:
            return create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        return backend.create_db_instance(
            {
                "db_instance_identifier": (p.get("DBInstanceIdentifier") or resource_name).lower()[:63],
                "db_instance_class": p["DBInstanceClass"],
                "engine": p.get("Engine") or cluster.engine,
                "engine_version": p.get("EngineVersion") or cluster.engine_version,
                "db_cluster_identifier": cluster.db_cluster_identifier,
                "db_subnet_group_name": p.get("DBSubnetGroupName"),
                "publicly_accessible": bool(p.get("PubliclyAccessible")),
                "auto_minor_version_upgrade": p.get("AutoMinorVersionUpgrade", True),
                "promotion_tier": p.get("PromotionTier"),
                "tags": tags_of(p),
            }
        )

    DBInstance.create_from_cloudformation_json = classmethod(in_cluster)


def patch_bucket_notifications():
    """A bucket's NotificationConfiguration is put on the bucket, as CloudFormation does
    (moto's model ignores it, so no notification is ever sent)."""
    from moto.s3.models import FakeBucket, s3_backends

    create = FakeBucket.create_from_cloudformation_json.__func__
    kinds = [
        ("LambdaConfigurations", "CloudFunctionConfiguration", "Function", "CloudFunction"),
        ("QueueConfigurations", "QueueConfiguration", "Queue", "Queue"),
        ("TopicConfigurations", "TopicConfiguration", "Topic", "Topic"),
    ]

    def api_shape(cfn):
        config = {}
        for cfn_key, api_key, target, api_target in kinds:
            entries = []
            for c in cfn.get(cfn_key) or []:
                entry = {api_target: c[target], "Event": [c["Event"]]}
                rules = ((c.get("Filter") or {}).get("S3Key") or {}).get("Rules")
                if rules:
                    entry["Filter"] = {"S3Key": {"FilterRule": rules}}
                entries.append(entry)
            if entries:
                config[api_key] = entries
        if "EventBridgeConfiguration" in cfn:
            config["EventBridgeConfiguration"] = {}
        return config

    def with_notifications(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        bucket = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        cfn = (cloudformation_json.get("Properties") or {}).get("NotificationConfiguration")
        if cfn:
            s3_backends[account_id]["aws"].put_bucket_notification_configuration(bucket.name, api_shape(cfn))
        return bucket

    FakeBucket.create_from_cloudformation_json = classmethod(with_notifications)


def patch_bucket_public_access_block():
    """A bucket's PublicAccessBlockConfiguration is put on the bucket, as CloudFormation does
    (moto's model ignores it: GetPublicAccessBlock answers that there is none)."""
    from moto.s3.models import FakeBucket, s3_backends

    create = FakeBucket.create_from_cloudformation_json.__func__

    def with_block(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        bucket = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        block = (cloudformation_json.get("Properties") or {}).get("PublicAccessBlockConfiguration")
        if block:
            s3_backends[account_id]["aws"].put_public_access_block(bucket.name, block)
        return bucket

    FakeBucket.create_from_cloudformation_json = classmethod(with_block)


def patch_target_group_targets():
    """A target group's `Targets` are registered, as CloudFormation does (moto's model
    ignores them, so the group stays empty and nothing is ever healthy)."""
    from moto.elbv2.models import FakeTargetGroup

    create = FakeTargetGroup.create_from_cloudformation_json.__func__

    def with_targets(cls, resource_name, cloudformation_json, *args, **kwargs):
        group = create(cls, resource_name, cloudformation_json, *args, **kwargs)
        targets = (cloudformation_json.get("Properties") or {}).get("Targets") or []
        group.register([{k: v for k, v in t.items() if k in ("Id", "Port")} for t in targets])
        return group

    FakeTargetGroup.create_from_cloudformation_json = classmethod(with_targets)


def delete_db_cluster(state, account, region):
    """As CloudFormation: a final snapshot under DeletionPolicy Snapshot; a cluster with
    deletion protection is not deleted (the stack's deletion fails)."""
    from moto.rds.models import rds_backends

    backend = rds_backends[account][region]
    snapshot = f"{state['id']}-final" if state.get("_policy") == "Snapshot" else None
    backend.delete_db_cluster(cluster_identifier=state["id"], snapshot_name=snapshot)


def create_db_cluster_parameter_group(p, name, account, region):
    from moto.rds.models import rds_backends

    group_name = (p.get("DBClusterParameterGroupName") or name).lower()
    rds_backends[account][region].create_db_cluster_parameter_group(
        db_cluster_parameter_group_name=group_name,
        db_parameter_group_family=p["Family"],
        description=p.get("Description", ""),
        tags=tags_of(p),
    )
    return {"id": group_name}


def delete_db_cluster_parameter_group(state, account, region):
    from moto.rds.models import rds_backends

    rds_backends[account][region].delete_db_cluster_parameter_group(state["id"])


# --- Secrets Manager ----------------------------------------------------------------------


def generated_secret_string(backend, g):
    """The SecretString CloudFormation generates for GenerateSecretString."""
    password = backend.get_random_password(
        password_length=int(g.get("PasswordLength", 32)),
        exclude_characters=g.get("ExcludeCharacters", ""),
        exclude_numbers=bool(g.get("ExcludeNumbers")),
        exclude_punctuation=bool(g.get("ExcludePunctuation")),
        exclude_uppercase=bool(g.get("ExcludeUppercase")),
        exclude_lowercase=bool(g.get("ExcludeLowercase")),
        include_space=bool(g.get("IncludeSpace")),
        require_each_included_type=bool(g.get("RequireEachIncludedType", True)),
    )
    password = json.loads(password)["RandomPassword"] if password.startswith("{") else password
    if "SecretStringTemplate" in g:
        secret = json.loads(g["SecretStringTemplate"])
        secret[g["GenerateStringKey"]] = password
        return json.dumps(secret)
    return password


def create_secret(p, name, account, region):
    from moto.secretsmanager.models import secretsmanager_backends

    backend = secretsmanager_backends[account][region]
    secret_name = p.get("Name") or name
    if "GenerateSecretString" in p:
        value = generated_secret_string(backend, p["GenerateSecretString"])
    else:
        value = p.get("SecretString", "")
    created = json.loads(
        backend.create_secret(
            name=secret_name,
            secret_string=value,
            secret_binary=None,
            description=p.get("Description"),
            tags=tags_of(p),
            kms_key_id=p.get("KmsKeyId"),
            client_request_token=None,
            replica_regions=[],
            force_overwrite=False,
        )
    )
    # Ref is the ARN.
    return {"id": created["ARN"], "Id": created["ARN"]}


def delete_secret(state, account, region):
    from moto.secretsmanager.models import secretsmanager_backends

    secretsmanager_backends[account][region].delete_secret(
        secret_id=state["id"], recovery_window_in_days=None, force_delete_without_recovery=True
    )


def create_secret_target_attachment(p, name, account, region):
    """Adds the target's connection fields to the secret, as the attachment does."""
    from moto.rds.models import rds_backends
    from moto.secretsmanager.models import secretsmanager_backends

    backend = secretsmanager_backends[account][region]
    current = backend.secrets[p["SecretId"]] if backend._is_valid_identifier(p["SecretId"]) else None
    if current is not None and p.get("TargetType") == "AWS::RDS::DBCluster":
        cluster = rds_backends[account][region].clusters.get(p["TargetId"])
        value = json.loads(current.secret_string or "{}")
        if cluster is not None:
            value.update(
                {
                    "engine": cluster.engine.replace("aurora-", ""),
                    "host": cluster.endpoint,
                    "port": cluster.port,
                    "dbClusterIdentifier": cluster.db_cluster_identifier,
                }
            )
            backend.put_secret_value(p["SecretId"], json.dumps(value), None, None, ["AWSCURRENT"])
    return {"id": p["SecretId"]}


# --- EC2 -------------------------------------------------------------------------


def patch_vpc_teardown():
    """Deleting a stack deletes its route tables, NAT gateways, internet gateways and
    Elastic IPs, as CloudFormation does; moto's models drop them from the stack and leave
    them in the VPC, whose deletion then fails (DependencyViolation). A deletion refused
    for a dependency is retried after the stack's other resources, as moto retries."""
    from moto.ec2.models import ec2_backends
    from moto.ec2.models.elastic_ip_addresses import ElasticAddress
    from moto.ec2.models.internet_gateways import InternetGateway
    from moto.ec2.models.nat_gateways import NatGateway
    from moto.ec2.models.route_tables import RouteTable

    def route_table(self, account_id, region_name):
        backend = ec2_backends[account_id][region_name]
        for association in list(self._associations):
            backend.disassociate_route_table(association)
        backend.delete_route_table(self.id)

    def nat_gateway(self, account_id, region_name):
        ec2_backends[account_id][region_name].delete_nat_gateway(self.id)

    def internet_gateway(self, account_id, region_name):
        backend = ec2_backends[account_id][region_name]
        if self.vpc is not None:
            backend.detach_internet_gateway(self.id, self.vpc.id)
        backend.delete_internet_gateway(self.id)

    def elastic_address(self, account_id, region_name):
        ec2_backends[account_id][region_name].release_address(allocation_id=self.allocation_id)

    RouteTable.delete = route_table
    NatGateway.delete = nat_gateway
    InternetGateway.delete = internet_gateway
    ElasticAddress.delete = elastic_address


def create_security_group_egress(p, name, account, region):
    from moto.ec2.models import ec2_backends

    sources = [{"GroupId": p["DestinationSecurityGroupId"]}] if p.get("DestinationSecurityGroupId") else []
    ranges = [{"CidrIp": p["CidrIp"]}] if p.get("CidrIp") else []
    rules, _ = ec2_backends[account][region].authorize_security_group_egress(
        group_name_or_id=p["GroupId"],
        ip_protocol=str(p["IpProtocol"]),
        from_port=str(p.get("FromPort", -1)),
        to_port=str(p.get("ToPort", -1)),
        ip_ranges=ranges,
        source_groups=sources,
    )
    return {"id": rules[0].id if rules else name, "Id": rules[0].id if rules else name}


def record_bucket_policy(p, name, account, region):
    """A bucket policy is recorded, not put on the bucket: moto enforces bucket policies,
    and every request to the local endpoint is plain HTTP, so the usual
    `aws:SecureTransport` deny would refuse them all. (Unmodelled, the resource would break
    moto's DescribeStackResource for the whole stack.)"""
    return {"id": p["Bucket"], "PolicyDocument": p.get("PolicyDocument")}


# --- Glue ------------------------------------------------------------------------------


def create_glue_job(p, name, account, region):
    from moto.glue.models import glue_backends

    job_name = p.get("Name") or name
    glue_backends[account][region].create_job(
        name=job_name,
        role=p["Role"],
        command=p["Command"],
        description=p.get("Description", ""),
        log_uri=p.get("LogUri"),
        execution_property=p.get("ExecutionProperty"),
        default_arguments=p.get("DefaultArguments"),
        non_overridable_arguments=p.get("NonOverridableArguments"),
        connections=p.get("Connections"),
        max_retries=p.get("MaxRetries"),
        allocated_capacity=p.get("AllocatedCapacity"),
        timeout=p.get("Timeout"),
        max_capacity=p.get("MaxCapacity"),
        security_configuration=p.get("SecurityConfiguration"),
        tags=p.get("Tags") or {},
        notification_property=p.get("NotificationProperty"),
        glue_version=p.get("GlueVersion"),
        number_of_workers=p.get("NumberOfWorkers"),
        worker_type=p.get("WorkerType"),
        code_gen_configuration_nodes=None,
        execution_class=p.get("ExecutionClass"),
        source_control_details=None,
    )
    return {"id": job_name}


def delete_glue_job(state, account, region):
    from moto.glue.models import glue_backends

    glue_backends[account][region].delete_job(state["id"])


def create_glue_database(p, name, account, region):
    from moto.glue.models import glue_backends

    database_input = dict(p.get("DatabaseInput") or {})
    database_name = database_input.get("Name") or name.lower()
    database_input["Name"] = database_name
    glue_backends[account][region].create_database(database_name, database_input)
    return {"id": database_name}


def delete_glue_database(state, account, region):
    from moto.glue.models import glue_backends

    glue_backends[account][region].delete_database(state["id"])


# --- Types moto has no model for: recorded --------------------------------------------


def record_unmodelled(patched):
    """A resource of a type moto has no model for is recorded instead of skipped (a skipped
    one breaks DescribeStackResource for its whole stack, and any output reading it):
    its Ref is its name (the `Name` property, else a generated one), `Arn` a made-up ARN,
    any other attribute its name; each type met is logged once. Nothing is created."""
    import sys

    import moto.cloudformation.parsing as parsing

    find = parsing.resource_class_from_type
    records = {}

    def record(cfn_type):
        service = cfn_type.split("::")[1].lower()
        kind = cfn_type.split("::")[2].lower()

        def create(p, name, account, region):
            given = p.get("Name")
            rid = given if isinstance(given, str) and given else name
            return {"id": rid, "Arn": f"arn:aws:{service}:{region}:{account}:{kind}/{rid}", "*": rid}

        return model(cfn_type, "", create)

    def with_records(resource_type):
        found = find(resource_type)
        if found is not None or resource_type in parsing.NULL_MODELS:
            return found
        if resource_type not in records:
            records[resource_type] = record(resource_type)
            print(f"local-aws: cloudformation: {resource_type} recorded, not created", file=sys.stderr)
        return records[resource_type]

    parsing.resource_class_from_type = with_records
    patched.append("cloudformation: resources of types moto has no model for are recorded, not created")


# --- AWS Backup (jobs: local-aws.py's patch_backup_jobs) and Image Builder ------------


def create_backup_vault(p, name, account, region):
    from moto.backup.models import backup_backends

    vault = backup_backends[account][region].create_backup_vault(
        backup_vault_name=p.get("BackupVaultName") or name,
        backup_vault_tags=p.get("BackupVaultTags") or {},
        encryption_key_arn=p.get("EncryptionKeyArn"),
        creator_request_id=None,
    )
    return {
        "id": vault.backup_vault_name,
        "BackupVaultArn": vault.backup_vault_arn,
        "BackupVaultName": vault.backup_vault_name,
    }


def delete_backup_vault(state, account, region):
    from moto.backup.models import backup_backends

    backup_backends[account][region].delete_backup_vault(state["id"])


def image_builder(arn_kind, versioned):
    """Image Builder does not exist in moto: the resource is an ARN, nothing runs."""

    def create(p, name, account, region):
        name = (p.get("Name") or name).lower()
        arn = f"arn:aws:imagebuilder:{region}:{account}:{arn_kind}/{name}"
        if versioned:
            arn += "/" + str(p.get("Version", "1.0.0"))
        return {"id": arn, "Arn": arn, "Name": name}

    return create


MODELS = [
    ("AWS::RDS::DBCluster", "DBClusterIdentifier", create_db_cluster, delete_db_cluster),
    (
        "AWS::RDS::DBClusterParameterGroup",
        "DBClusterParameterGroupName",
        create_db_cluster_parameter_group,
        delete_db_cluster_parameter_group,
    ),
    ("AWS::SecretsManager::Secret", "Name", create_secret, delete_secret),
    ("AWS::SecretsManager::SecretTargetAttachment", "", create_secret_target_attachment, None),
    ("AWS::EC2::SecurityGroupEgress", "", create_security_group_egress, None),
    ("AWS::S3::BucketPolicy", "", record_bucket_policy, None),
    ("AWS::Backup::BackupVault", "BackupVaultName", create_backup_vault, delete_backup_vault),
    ("AWS::Glue::Job", "Name", create_glue_job, delete_glue_job),
    ("AWS::Glue::Database", "", create_glue_database, delete_glue_database),
    ("AWS::ImageBuilder::ImageRecipe", "Name", image_builder("image-recipe", True), None),
    (
        "AWS::ImageBuilder::InfrastructureConfiguration",
        "Name",
        image_builder("infrastructure-configuration", False),
        None,
    ),
    (
        "AWS::ImageBuilder::DistributionConfiguration",
        "Name",
        image_builder("distribution-configuration", False),
        None,
    ),
    ("AWS::ImageBuilder::ImagePipeline", "Name", image_builder("image-pipeline", False), None),
    ("AWS::ImageBuilder::Component", "Name", image_builder("component", True), None),
]


# --- What the examples' `deploy --all` meets (scripts/deploy-examples) ------------------


def create_eks_cluster(p, name, account, region):
    """An EKS cluster in moto's EKS backend (no control plane runs); its attributes are
    the backend's endpoint, certificate and OIDC issuer."""
    from moto.eks.models import eks_backends

    vpc = p.get("ResourcesVpcConfig") or {}
    logging = (p.get("Logging") or {}).get("ClusterLogging") or {}
    enabled = [t["Type"] for t in logging.get("EnabledTypes") or []]
    cluster = eks_backends[account][region].create_cluster(
        name=p.get("Name") or name,
        role_arn=p["RoleArn"],
        resources_vpc_config={
            "subnetIds": vpc.get("SubnetIds") or [],
            "securityGroupIds": vpc.get("SecurityGroupIds") or [],
            "endpointPublicAccess": vpc.get("EndpointPublicAccess", True),
            "endpointPrivateAccess": vpc.get("EndpointPrivateAccess", False),
            "publicAccessCidrs": vpc.get("PublicAccessCidrs") or ["0.0.0.0/0"],
        },
        version=p.get("Version"),
        kubernetes_network_config={
            k[0].lower() + k[1:]: v for k, v in (p.get("KubernetesNetworkConfig") or {}).items()
        }
        or None,
        logging={"clusterLogging": [{"types": enabled, "enabled": True}]} if enabled else None,
        tags={t["Key"]: t["Value"] for t in p.get("Tags") or []},
        encryption_config=[
            {"resources": e.get("Resources") or [], "provider": {"keyArn": (e.get("Provider") or {}).get("KeyArn")}}
            for e in p.get("EncryptionConfig") or []
        ],
    )
    return {
        "id": cluster.name,
        "Arn": cluster.arn,
        "Endpoint": cluster.endpoint,
        "CertificateAuthorityData": cluster.certificate_authority["data"],
        "OpenIdConnectIssuerUrl": cluster.identity["oidc"]["issuer"],
        "ClusterSecurityGroupId": (vpc.get("SecurityGroupIds") or [""])[0],
        "EncryptionConfigKeyArn": ((p.get("EncryptionConfig") or [{}])[0].get("Provider") or {}).get("KeyArn", ""),
        "KubernetesNetworkConfig.ServiceIpv4Cidr": "172.20.0.0/16",
    }


def delete_eks_cluster(state, account, region):
    from moto.eks.models import eks_backends

    eks_backends[account][region].delete_cluster(state["id"])


def create_oidc_provider(p, name, account, region):
    """An IAM OIDC provider; Ref is its ARN (`arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH`)."""
    from moto.utilities.utils import get_partition
    from moto.iam.models import iam_backends

    provider = iam_backends[account][get_partition(region)].create_open_id_connect_provider(
        url=p["Url"],
        thumbprint_list=p.get("ThumbprintList") or [],
        client_id_list=p.get("ClientIdList") or [],
        tags=p.get("Tags") or [],
    )
    return {"id": provider.arn, "Arn": provider.arn}


def delete_oidc_provider(state, account, region):
    from moto.utilities.utils import get_partition
    from moto.iam.models import iam_backends

    iam_backends[account][get_partition(region)].delete_open_id_connect_provider(state["id"])


def patch_target_group_attributes():
    """A target group's attributes (`Fn::GetAtt`): moto's model has none, and a template
    reading one (an ALB request-count scaling policy reads `TargetGroupFullName`) fails."""
    from moto.elbv2.models import FakeTargetGroup

    def attribute(self, attr):
        if attr == "TargetGroupFullName":
            return self.arn.split(":")[-1]
        if attr == "TargetGroupName":
            return self.name
        if attr == "TargetGroupArn":
            return self.arn
        if attr == "LoadBalancerArns":
            return list(getattr(self, "load_balancer_arns", []))
        from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

        raise UnformattedGetAttTemplateException()

    FakeTargetGroup.has_cfn_attr = classmethod(
        lambda cls, attr: attr in ("TargetGroupFullName", "TargetGroupName", "TargetGroupArn", "LoadBalancerArns")
    )
    FakeTargetGroup.get_cfn_attribute = attribute


def patch_db_instance_deletion_protection():
    """A DB instance's `DeletionProtection` holds, as in RDS: deleting its stack fails until
    it is turned off (moto's model ignores the property)."""
    from moto.rds.models import DBInstance

    create = DBInstance.create_from_cloudformation_json.__func__

    def protected(cls, resource_name, cloudformation_json, *args, **kwargs):
        instance = create(cls, resource_name, cloudformation_json, *args, **kwargs)
        value = (cloudformation_json.get("Properties") or {}).get("DeletionProtection")
        instance.deletion_protection = value in (True, "true")
        return instance

    DBInstance.create_from_cloudformation_json = classmethod(protected)


def add_example_patches(patched):
    """The changes to moto's own models the examples' deploys need (after the others: they
    wrap what the others made)."""
    patch_target_group_attributes()
    patch_db_instance_deletion_protection()
    patched.append(
        "elbv2: a target group has its attributes (TargetGroupFullName, TargetGroupName, LoadBalancerArns); "
        "rds: a DB instance's DeletionProtection holds"
    )


EXAMPLE_MODELS = [
    ("AWS::EKS::Cluster", "Name", create_eks_cluster, delete_eks_cluster),
    ("AWS::IAM::OIDCProvider", "", create_oidc_provider, delete_oidc_provider),
]


def add(patched, endpoint):
    """Adds the models (HTTP APIs served at `endpoint`) and returns them, for the caller to
    keep referenced (moto finds them through __subclasses__, weak references)."""
    served = [
        ("AWS::SNS::Subscription", "", create_subscription, delete_subscription),
        ("AWS::ApiGatewayV2::Api", "Name", http_api(endpoint), delete_http_api),
        ("AWS::ApiGatewayV2::Integration", "", create_integration, None),
        ("AWS::ApiGatewayV2::Route", "", create_route, None),
        ("AWS::ApiGatewayV2::Stage", "", create_stage, None),
    ]
    models = [model(t, n, c, d) for t, n, c, d in served + MODELS + EXAMPLE_MODELS]
    patch_cluster_instances()
    patch_target_group_targets()
    patch_bucket_notifications()
    patch_bucket_public_access_block()
    patch_vpc_teardown()
    add_example_patches(patched)
    record_unmodelled(patched)
    patched.append(
        "cloudformation: models for "
        + ", ".join(m.cloudformation_type() for m in models)
        + " (in the services' backends; Image Builder's are placeholders); a cluster's DB instances join it; a target group's Targets are registered; a bucket's NotificationConfiguration and PublicAccessBlockConfiguration are put; deleting a stack deletes its route tables, NAT and internet gateways and Elastic IPs"
    )
    return models

