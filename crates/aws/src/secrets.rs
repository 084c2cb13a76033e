//! Secrets by reference: a deployed function gets `<NAME>_SECRET_ARN` (Terraform never holds the
//! value) and reads the value from Secrets Manager at cold start, before its configuration is
//! read. A variable set directly wins (local runs, tests).

use std::collections::HashMap;

/// The settings that may arrive as secrets.
pub const SECRET_SETTINGS: &[&str] = &["TELEGRAM_BOT_TOKEN", "SIFTGRAM_WEBHOOK_SECRET", "SIFTGRAM_SESSION_KEYS", "SIFTGRAM_CHAT_1_API_KEY", "SIFTGRAM_EMBED_API_KEY", "SIFTGRAM_QDRANT_API_KEY"];

#[derive(Debug, thiserror::Error)]
#[error("{setting}: the secret {arn} could not be read: {why}")]
pub struct SecretError {
    pub setting: String,
    pub arn: String,
    pub why: String,
}

/// The values of every `<NAME>_SECRET_ARN` that `lookup` gives for a setting it does not give
/// itself, read from Secrets Manager; the configuration then reads `NAME` from here first.
pub async fn resolve_secrets(sdk: &aws_config::SdkConfig, lookup: impl Fn(&str) -> Option<String>) -> Result<HashMap<String, String>, SecretError> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let mut out = HashMap::new();
    for setting in SECRET_SETTINGS {
        if lookup(setting).is_some_and(|v| !v.trim().is_empty()) {
            continue;
        }
        let Some(arn) = lookup(&format!("{setting}_SECRET_ARN")).filter(|v| !v.trim().is_empty()) else { continue };
        let error = |why: String| SecretError { setting: (*setting).to_owned(), arn: arn.clone(), why };
        let value = client.get_secret_value().secret_id(&arn).send().await.map_err(|e| error(crate::describe(&e)))?;
        let text = value.secret_string().ok_or_else(|| error("it holds no text".into()))?;
        out.insert((*setting).to_owned(), text.trim().to_owned());
    }
    Ok(out)
}

/// `lookup` with the resolved secrets in front.
pub fn with_secrets<L: Fn(&str) -> Option<String> + Clone>(secrets: HashMap<String, String>, lookup: L) -> impl Fn(&str) -> Option<String> + Clone {
    move |name| secrets.get(name).cloned().or_else(|| lookup(name))
}

/// What a Lambda `main` starts from: the SDK configuration (`AWS_ENDPOINT_URL` for LocalStack)
/// and the process environment with its secrets resolved.
pub async fn function_environment() -> Result<(aws_config::SdkConfig, impl Fn(&str) -> Option<String> + Clone), SecretError> {
    let env = |name: &str| std::env::var(name).ok();
    let sdk = crate::sdk_config(env("AWS_ENDPOINT_URL").as_deref()).await;
    let secrets = resolve_secrets(&sdk, env).await?;
    Ok((sdk, with_secrets(secrets, env)))
}
