use lambda_runtime::{LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt().json().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).without_time().init();
    let (sdk, env) = siftgram_aws::function_environment().await?;
    let config = siftgram_fn_indexer::Config::from_lookup(env.clone())?;
    let indexer = siftgram_fn_indexer::build(&config, &sdk, env).await?;
    let metrics = siftgram_metrics::install_emf("indexer")?;
    run(service_fn(|event: LambdaEvent<_>| async { Ok::<_, lambda_runtime::Error>(metrics.around(siftgram_fn_indexer::handle(&indexer, event.payload)).await) })).await
}
