//! Twin pair `secrets_config` (cairn side of `secrets_config.js`): a KMS key, a secret
//! encrypted with it, an SSM parameter, and a role allowed to read both.

use cairn::iam::{Principal, Role, RoleProps};
use cairn::kms::{Key, KeyProps};
use cairn::secretsmanager::{Secret, SecretProps};
use cairn::ssm::{StringParameter, StringParameterProps};
use cairn::App;

pub fn build() -> cairn::Result<App> {
    let mut app = App::new();
    let stack = app.stack("SecretsConfig")?;

    let key = Key::new(
        &mut app,
        stack,
        "ConfigKey",
        KeyProps {
            enable_key_rotation: true,
            description: Some("Application configuration".into()),
            ..KeyProps::default()
        },
    )?;
    let api_key = Secret::new(
        &mut app,
        stack,
        "ApiKey",
        SecretProps {
            encryption_key: Some(key),
            description: Some("Third-party API key".into()),
            ..SecretProps::default()
        },
    )?;
    let endpoint = StringParameter::new(
        &mut app,
        stack,
        "Endpoint",
        StringParameterProps {
            parameter_name: Some("/app/endpoint".into()),
            description: Some("The API endpoint".into()),
            ..StringParameterProps::new("https://api.example.com")
        },
    )?;
    let reader = Role::new(
        &mut app,
        stack,
        "Reader",
        RoleProps::new(Principal::service("ecs-tasks.amazonaws.com")),
    )?;
    api_key.grant_read(&mut app, &reader)?;
    endpoint.grant_read(&mut app, &reader)?;
    Ok(app)
}
