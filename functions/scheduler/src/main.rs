use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt().json().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).without_time().init();
    let (sdk, env) = siftgram_aws::function_environment().await?;
    let scheduler = siftgram_fn_scheduler::build(&sdk, env).await?;
    let metrics = siftgram_metrics::install_emf("scheduler")?;
    run(service_fn(|event: LambdaEvent<serde_json::Value>| async {
        metrics.around(siftgram_fn_scheduler::handle(&scheduler, event.payload)).await.map_err(lambda_runtime::Error::from)
    }))
    .await
}
