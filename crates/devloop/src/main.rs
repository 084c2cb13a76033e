//! `siftgram-dev`: every function of the cloud shape served locally over LocalStack (see
//! `runner`), for `localstack/dev.sh up`. Without `TELEGRAM_BOT_TOKEN` it also serves the fake
//! Bot API, so the loop runs with no credentials.
//!
//! `siftgram-dev cold-start [ZIP_DIR] [RUNS] [FUNCTION…]` times each packaged function's cold
//! init instead (`cold_start`; ZIP_DIR defaults to target/lambda/zips, RUNS to 5, all five).

use anyhow::Context;
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("cold-start") {
        return cold_start(&args[1..]).await;
    }
    tracing_subscriber::fmt().json().with_current_span(true).with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into())).init();
    let get = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let endpoint = get("AWS_ENDPOINT_URL").unwrap_or_else(|| "http://127.0.0.1:4566".into());
    let gateway: std::net::SocketAddr = get("SIFTGRAM_DEV_GATEWAY_ADDR").unwrap_or_else(|| "127.0.0.1:9080".into()).parse().context("SIFTGRAM_DEV_GATEWAY_ADDR")?;
    let qdrant: std::net::SocketAddr = get("SIFTGRAM_DEV_QDRANT_ADDR").unwrap_or_else(|| "127.0.0.1:9083".into()).parse().context("SIFTGRAM_DEV_QDRANT_ADDR")?;
    let index_dir = get("SIFTGRAM_DEV_INDEX_DIR").unwrap_or_else(|| "data/dev-index".into());
    // No bot token: the fake Bot API stands in for Telegram (its URL goes to the session node too).
    let fake = match get("TELEGRAM_BOT_TOKEN") {
        Some(_) => None,
        None => {
            let addr = get("SIFTGRAM_DEV_FAKE_TELEGRAM_ADDR").unwrap_or_else(|| "127.0.0.1:9081".into()).parse().context("SIFTGRAM_DEV_FAKE_TELEGRAM_ADDR")?;
            Some(siftgram_fake_telegram::FakeTelegram::start_on(addr, siftgram_fake_telegram::FakeTelegram::TOKEN).await.context("the fake Bot API")?)
        }
    };
    let fake_url = fake.as_ref().map(|f| f.api_url());
    let env = move |name: &str| match (name, &fake_url) {
        ("TELEGRAM_BOT_TOKEN", Some(_)) => Some(siftgram_fake_telegram::FakeTelegram::TOKEN.to_owned()),
        ("TELEGRAM_API_URL", Some(url)) => Some(url.clone()),
        ("SIFTGRAM_WEBHOOK_SECRET", Some(_)) => get(name).or_else(|| Some("siftgram-dev-webhook-secret".into())),
        _ => get(name),
    };
    let sdk = siftgram_aws::sdk_config(Some(&endpoint)).await;
    let running = siftgram_devloop::runner::start(&sdk, env, gateway, qdrant, std::path::Path::new(&index_dir)).await.map_err(anyhow::Error::msg)?;
    println!("functions served: {}/telegram (bot), {}/api/… (api); SQS mappings and the schedule from infra/functions.json", running.gateway_url, running.gateway_url);
    println!("Qdrant stand-in (gRPC, over the embedded index in {index_dir}): {}", running.qdrant_url);
    if let Some(f) = &fake {
        println!("fake Bot API: {} (token {})", f.api_url(), siftgram_fake_telegram::FakeTelegram::TOKEN);
    }
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    let _ = tokio::time::timeout(Duration::from_secs(10), running.shutdown()).await;
    Ok(())
}

/// Each zip's cold init, `runs` starts each, against LocalStack and the stand-ins.
async fn cold_start(args: &[String]) -> anyhow::Result<()> {
    use siftgram_devloop::cold_start;
    let zips = std::path::PathBuf::from(args.first().map_or("target/lambda/zips", String::as_str));
    let runs: usize = args.get(1).map_or(Ok(5), |r| r.parse()).context("RUNS must be a number")?;
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let stand_ins = cold_start::stand_ins(&endpoint).await.map_err(anyhow::Error::msg)?;
    let work = tempfile::tempdir().context("a scratch directory")?;
    let at = stand_ins.endpoints.clone();
    let functions = args.get(2..).unwrap_or_default();
    let reports = cold_start::measure_all(&zips, functions, runs.max(1), work.path(), |f| cold_start::function_env(f, &at), cold_start::printer()).await.map_err(anyhow::Error::msg)?;
    anyhow::ensure!(!reports.is_empty(), "no packages in {} (run scripts/package-lambdas.sh)", zips.display());
    println!("cold init, {runs} starts each, on this machine (process start → first request for an event; target 100 ms):");
    print!("{}", cold_start::table(&reports, 100.0));
    Ok(())
}
