//! Secrets by reference on LocalStack's Secrets Manager: a function given `<NAME>_SECRET_ARN`
//! (what Terraform sets) reads the value at start; a value set directly wins; an ARN that does
//! not resolve stops the start with the setting's name, never the value.

use siftgram_tests::localstack_endpoint;
use std::collections::HashMap;

mod localstack {
    use super::*;

    #[tokio::test]
    async fn a_function_reads_its_secrets_by_reference() {
        let sdk = siftgram_aws::local_sdk_config(&localstack_endpoint()).await;
        let client = aws_sdk_secretsmanager::Client::new(&sdk);
        let name = format!("siftgram/test-bot-token-{}", std::process::id());
        let created = client.create_secret().name(&name).secret_string("7000000001:secret-from-the-manager\n").send().await.unwrap();
        let arn = created.arn().unwrap().to_owned();

        let env = HashMap::from([("TELEGRAM_BOT_TOKEN_SECRET_ARN", arn.clone()), ("SIFTGRAM_TABLE", "t".to_owned())]);
        let secrets = siftgram_aws::resolve_secrets(&sdk, |k| env.get(k).cloned()).await.unwrap();
        let lookup = siftgram_aws::with_secrets(secrets, |k| env.get(k).cloned());
        assert_eq!(lookup("TELEGRAM_BOT_TOKEN").as_deref(), Some("7000000001:secret-from-the-manager"), "read and trimmed");
        assert_eq!(lookup("SIFTGRAM_TABLE").as_deref(), Some("t"), "other settings as they were");
        let config = siftgram_fn_bot::Config::from_lookup(|k| match k {
            "SIFTGRAM_WEBHOOK_SECRET" => Some("a-webhook-secret-of-length".to_owned()),
            other => lookup(other),
        });
        assert!(config.is_ok(), "the function's configuration takes it: {:?}", config.err());

        // Set directly (a local run): the manager is not asked.
        let direct = HashMap::from([("TELEGRAM_BOT_TOKEN", "1:direct".to_owned()), ("TELEGRAM_BOT_TOKEN_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:000000000000:secret:nope".to_owned())]);
        assert!(siftgram_aws::resolve_secrets(&sdk, |k| direct.get(k).cloned()).await.unwrap().is_empty());

        let missing = HashMap::from([("SIFTGRAM_WEBHOOK_SECRET_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:000000000000:secret:nope".to_owned())]);
        let err = siftgram_aws::resolve_secrets(&sdk, |k| missing.get(k).cloned()).await.unwrap_err().to_string();
        assert!(err.starts_with("SIFTGRAM_WEBHOOK_SECRET:") && err.contains("nope"), "{err}");
        let _ = client.delete_secret().secret_id(&arn).force_delete_without_recovery(true).send().await;
    }
}
