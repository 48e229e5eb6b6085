"""CodeBuild projects and CodePipeline pipelines made by CloudFormation, in moto's
backends (moto has APIs for both but no CloudFormation model, so the local environment
would only record them), and CodeBuild's StartBuild keeping what a caller overrides.

- `AWS::CodeBuild::Project` is created in moto's CodeBuild backend with its source,
  environment (variables included), artifacts, service role and timeout, so a system's
  `StartBuild` finds it.
- `AWS::CodePipeline::Pipeline` is created in moto's CodePipeline backend with its stages,
  actions (configuration as CloudFormation gives it), artifact store, role and variables,
  so `GetPipeline` reads it and `StartPipelineExecution` starts it.
- `StartBuild`: the build keeps the project's environment with the caller's
  `environmentVariablesOverride` merged in (moto drops the overrides), as
  `BatchGetBuilds` shows it in AWS.

Nothing runs: a build runs no commands and moto reports it SUCCEEDED on the first
`BatchGetBuilds`; a pipeline execution runs no action and is Succeeded at once (GAP).
"""

import copy
import json

GAP = (
    "CodeBuild projects and CodePipeline pipelines exist (local_aws_pipelines.py); a build runs no "
    "commands (it keeps its environment, overrides included, and is SUCCEEDED on the first "
    "BatchGetBuilds), and a pipeline execution runs no action (Succeeded at once)"
)


def camel(value, keep_keys_under=("configuration",)):
    """CloudFormation's property names as the API's (`ActionTypeId` -> `actionTypeId`),
    recursively, except the keys of an action's configuration, which are the provider's
    own; their values are strings in the API."""
    if isinstance(value, list):
        return [camel(v, keep_keys_under) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, v in value.items():
        name = key[:1].lower() + key[1:]
        if name in keep_keys_under and isinstance(v, dict):
            out[name] = {k: as_text(x) for k, x in v.items()}
        else:
            out[name] = camel(v, keep_keys_under)
    return out


def as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


# --- CodeBuild --------------------------------------------------------------------------


def project_environment(env):
    """A project's `Environment` as the API has it."""
    env = env or {}
    out = {
        "type": env.get("Type", "LINUX_CONTAINER"),
        "image": env.get("Image", ""),
        "computeType": env.get("ComputeType", "BUILD_GENERAL1_SMALL"),
        "environmentVariables": [
            {"name": v["Name"], "value": as_text(v.get("Value", "")), "type": v.get("Type", "PLAINTEXT")}
            for v in env.get("EnvironmentVariables") or []
        ],
        "privilegedMode": bool(env.get("PrivilegedMode", False)),
    }
    if env.get("ImagePullCredentialsType"):
        out["imagePullCredentialsType"] = env["ImagePullCredentialsType"]
    return out


def create_project(p, name, account, region):
    from moto.codebuild.models import codebuild_backends

    given = p.get("Name")
    project = given if isinstance(given, str) and given else name
    backend = codebuild_backends[account][region]
    source = camel(p.get("Source") or {"Type": "NO_SOURCE"})
    if "buildSpec" in source:
        source["buildspec"] = as_text(source.pop("buildSpec"))
    backend.create_project(
        project_name=project,
        description=p.get("Description"),
        project_source=source,
        artifacts=camel(p.get("Artifacts") or {"Type": "NO_ARTIFACTS"}),
        environment=project_environment(p.get("Environment")),
        service_role=p.get("ServiceRole", ""),
        tags=[{"key": t["Key"], "value": t["Value"]} for t in p.get("Tags") or []],
        cache=camel(p["Cache"]) if p.get("Cache") else None,
        timeout=p.get("TimeoutInMinutes"),
        queued_timeout=p.get("QueuedTimeoutInMinutes"),
        source_version=p.get("SourceVersion"),
        logs_config=camel(p["LogsConfig"]) if p.get("LogsConfig") else None,
        vpc_config=camel(p["VpcConfig"]) if p.get("VpcConfig") else None,
    )
    arn = backend.codebuild_projects[project].arn
    return {"id": project, "Arn": arn}


def delete_project(state, account, region):
    from moto.codebuild.models import codebuild_backends

    backend = codebuild_backends[account][region]
    if state["id"] in backend.codebuild_projects:
        backend.delete_project(state["id"])


def patch_start_build():
    """StartBuild keeps the project's environment with the caller's variable overrides
    merged in, on the build `BatchGetBuilds` returns."""
    from moto.codebuild.responses import CodeBuildResponse

    start = CodeBuildResponse.start_build

    def start_build(self):
        result = start(self)
        name = self._get_param("projectName")
        backend = self.codebuild_backend
        build = backend.build_metadata_history[name][-1]
        environment = copy.deepcopy(backend.codebuild_projects[name].project_metadata.get("environment") or {})
        variables = {v["name"]: v for v in environment.get("environmentVariables") or []}
        for v in self._get_param("environmentVariablesOverride") or []:
            variables[v["name"]] = {"name": v["name"], "value": v.get("value", ""), "type": v.get("type", "PLAINTEXT")}
        environment["environmentVariables"] = list(variables.values())
        build["environment"] = environment
        return result

    CodeBuildResponse.start_build = start_build


# --- CodePipeline -----------------------------------------------------------------------


def create_pipeline(p, name, account, region):
    from moto.codepipeline.models import codepipeline_backends

    given = p.get("Name")
    pipeline_name = given if isinstance(given, str) and given else name
    pipeline = {"name": pipeline_name, "roleArn": p["RoleArn"], "stages": camel(p.get("Stages") or [])}
    for key in ("ArtifactStore", "ArtifactStores", "PipelineType", "Variables", "Triggers", "ExecutionMode"):
        if key in p:
            pipeline[key[:1].lower() + key[1:]] = camel(p[key])
    tags = [{"key": t["Key"], "value": t["Value"]} for t in p.get("Tags") or []]
    codepipeline_backends[account][region].create_pipeline(pipeline, tags)
    return {"id": pipeline_name, "Version": "1"}


def delete_pipeline(state, account, region):
    from moto.codepipeline.models import codepipeline_backends

    backend = codepipeline_backends[account][region]
    if state["id"] in backend.pipelines:
        backend.delete_pipeline(state["id"])


MODELS = [
    ("AWS::CodeBuild::Project", "Name", create_project, delete_project),
    ("AWS::CodePipeline::Pipeline", "Name", create_pipeline, delete_pipeline),
]


def add(patched, model):
    """Adds the models (made by `model`, local_aws_models.model) and the StartBuild change;
    returns the models, for the caller to keep referenced."""
    models = [model(t, n, c, d) for t, n, c, d in MODELS]
    patch_start_build()
    patched.append("codebuild, codepipeline: " + GAP)
    return models
