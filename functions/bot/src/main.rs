use lambda_http::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt().json().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).without_time().init();
    let (sdk, env) = siftgram_aws::function_environment().await?;
    let config = siftgram_fn_bot::Config::from_lookup(env)?;
    let service = siftgram_fn_bot::build(&config, &sdk).await?;
    let metrics = siftgram_metrics::install_emf("bot")?;
    run(service_fn(|request| metrics.around(siftgram_fn_bot::handle(&service, request)))).await
}
