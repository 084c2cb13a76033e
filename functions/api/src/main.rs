use lambda_http::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt().json().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).without_time().init();
    let (sdk, env) = siftgram_aws::function_environment().await?;
    let config = siftgram_fn_api::Config::from_lookup(env)?;
    let router = siftgram_fn_api::build(&config, &sdk).await?;
    let metrics = siftgram_metrics::install_emf("api")?;
    run(service_fn(|request| metrics.around(siftgram_fn_api::handle(&router, request)))).await
}
