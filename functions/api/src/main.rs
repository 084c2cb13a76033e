use lambda_http::{run, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    tracing_subscriber::fmt().json().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).without_time().init();
    let config = siftgram_fn_api::Config::from_lookup(|k| std::env::var(k).ok())?;
    let sdk = siftgram_aws::sdk_config(config.aws_endpoint.as_deref()).await;
    let router = siftgram_fn_api::build(&config, &sdk).await?;
    run(service_fn(|request| siftgram_fn_api::handle(&router, request))).await
}
