//! `siftgram-dev cold-start`: each packaged function's cold init measured locally, the way the
//! Lambda service starts it — the zip's `bootstrap` started with a Runtime API endpoint
//! (`AWS_LAMBDA_RUNTIME_API`) and the variables Terraform sets, timed from the process start to
//! its first `GET /runtime/invocation/next` (the moment Lambda counts init as done). What init
//! reaches is real where it can be: LocalStack's SQS and DynamoDB, the dev loop's Qdrant
//! stand-in; the fake Bot API and, for the indexer, a fake OpenAI-compatible embedder (a remote
//! embedder, as the functions are deployed without the local model).
//!
//! Figures are this machine's: Lambda gives a function CPU in proportion to its memory, so the
//! cloud's numbers differ; the ratios between functions and between builds are what this shows.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What the Runtime API stand-in saw from one start.
#[derive(Debug)]
enum InitSignal {
    /// The function asked for its first event: init is done.
    Ready,
    /// The function reported an init error (`POST /runtime/init/error`).
    Failed(String),
}

#[derive(Clone)]
struct RuntimeApi {
    signals: mpsc::UnboundedSender<InitSignal>,
}

async fn next_invocation(State(api): State<RuntimeApi>) -> &'static str {
    let _ = api.signals.send(InitSignal::Ready);
    // Lambda holds this request until an event arrives; the measurement ends here, and the
    // process is stopped before an event would be due.
    std::future::pending::<()>().await;
    ""
}

async fn init_error(State(api): State<RuntimeApi>, body: String) -> &'static str {
    let _ = api.signals.send(InitSignal::Failed(body));
    "{}"
}

/// One start's figures.
#[derive(Clone, Copy, Debug)]
pub struct InitFigure {
    pub init: Duration,
    /// Peak resident memory by the end of init (VmHWM), in KiB.
    pub peak_rss_kib: u64,
}

/// Starts `bootstrap` once with `env` and times its init.
pub async fn measure_once(bootstrap: &Path, env: &HashMap<String, String>) -> Result<InitFigure, String> {
    let (signals, mut seen) = mpsc::unbounded_channel();
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(RuntimeApi { signals });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let runtime_api = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let started = Instant::now();
    let mut child = tokio::process::Command::new(bootstrap)
        .env_clear()
        .envs(env)
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting {}: {e}", bootstrap.display()))?;
    let pid = child.id();
    let outcome = tokio::select! {
        signal = seen.recv() => signal,
        status = child.wait() => {
            let stderr = match child.stderr.take() {
                Some(mut s) => {
                    let mut text = String::new();
                    let _ = tokio::io::AsyncReadExt::read_to_string(&mut s, &mut text).await;
                    text
                }
                None => String::new(),
            };
            return Err(format!("exited during init ({}): {}", status.map_or("?".into(), |s| s.to_string()), tail(&stderr)));
        }
        _ = tokio::time::sleep(Duration::from_secs(120)) => return Err("no request for an event within 120 s".into()),
    };
    let init = started.elapsed();
    let peak_rss_kib = pid.and_then(peak_rss_kib).unwrap_or(0);
    let _ = child.kill().await;
    server.abort();
    match outcome {
        Some(InitSignal::Ready) => Ok(InitFigure { init, peak_rss_kib }),
        Some(InitSignal::Failed(body)) => Err(format!("init error: {}", tail(&body))),
        None => Err("the Runtime API stand-in stopped".into()),
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A function's figures over several starts.
pub struct FunctionReport {
    pub function: String,
    pub zip_bytes: u64,
    pub starts: Vec<InitFigure>,
}

impl FunctionReport {
    fn sorted_ms(&self) -> Vec<f64> {
        let mut ms: Vec<f64> = self.starts.iter().map(|s| s.init.as_secs_f64() * 1000.0).collect();
        ms.sort_by(f64::total_cmp);
        ms
    }
    pub fn median_ms(&self) -> f64 {
        let ms = self.sorted_ms();
        ms.get(ms.len() / 2).copied().unwrap_or(f64::NAN)
    }
    pub fn max_ms(&self) -> f64 {
        self.sorted_ms().last().copied().unwrap_or(f64::NAN)
    }
}

/// Unpacks `zip`'s `bootstrap` into `into` (with the `unzip` tool Debian and al2023 ship).
pub fn unpack_bootstrap(zip: &Path, into: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(into).map_err(|e| e.to_string())?;
    let status = std::process::Command::new("unzip").args(["-o", "-q"]).arg(zip).arg("bootstrap").arg("-d").arg(into).status().map_err(|e| format!("unzip: {e}"))?;
    if !status.success() {
        return Err(format!("{} holds no bootstrap", zip.display()));
    }
    Ok(into.join("bootstrap"))
}

/// Measures `<function>.zip` in `zips` for each of `functions` (empty: all five), `runs` starts
/// each, with `env_for(function)`.
pub async fn measure_all(
    zips: &Path,
    functions: &[String],
    runs: usize,
    work: &Path,
    env_for: impl Fn(&str) -> HashMap<String, String>,
    progress: impl Fn(&str),
) -> Result<Vec<FunctionReport>, String> {
    let mut reports = Vec::new();
    for function in ["bot", "api", "indexer", "worker", "scheduler"].into_iter().filter(|f| functions.is_empty() || functions.iter().any(|g| g == f)) {
        let zip = zips.join(format!("{function}.zip"));
        let Ok(meta) = std::fs::metadata(&zip) else {
            progress(&format!("{function}: no {} (run scripts/package-lambdas.sh {function})", zip.display()));
            continue;
        };
        let bootstrap = unpack_bootstrap(&zip, &work.join(function))?;
        let env = env_for(function);
        let mut starts = Vec::new();
        for run in 1..=runs {
            let figure = measure_once(&bootstrap, &env).await.map_err(|e| format!("{function}: {e}"))?;
            progress(&format!("{function}: start {run}/{runs}: {:.1} ms", figure.init.as_secs_f64() * 1000.0));
            starts.push(figure);
        }
        reports.push(FunctionReport { function: function.to_owned(), zip_bytes: meta.len(), starts });
    }
    Ok(reports)
}

/// The table `siftgram-dev cold-start` prints.
pub fn table(reports: &[FunctionReport], target_ms: f64) -> String {
    let mut out = format!("{:<10} {:>9} {:>12} {:>10} {:>10} {:>6}\n", "function", "zip MB", "init median", "init max", "peak RSS", "≤ target");
    for r in reports {
        let rss = r.starts.iter().map(|s| s.peak_rss_kib).max().unwrap_or(0);
        out.push_str(&format!(
            "{:<10} {:>9.1} {:>9.1} ms {:>7.1} ms {:>6.1} MiB {:>6}\n",
            r.function,
            r.zip_bytes as f64 / 1_048_576.0,
            r.median_ms(),
            r.max_ms(),
            rss as f64 / 1024.0,
            if r.median_ms() <= target_ms { "yes" } else { "NO" }
        ));
    }
    out
}

/// Collects the stand-ins' addresses the functions are pointed at.
#[derive(Clone, Default)]
pub struct Endpoints {
    pub aws: String,
    pub table: String,
    pub resource_prefix: String,
    pub telegram_api: String,
    pub qdrant: String,
    pub embedder: String,
}

/// The variables each function gets (as Terraform sets them; secrets given directly, as a
/// resolved `_SECRET_ARN` would leave them).
pub fn function_env(function: &str, at: &Endpoints) -> HashMap<String, String> {
    let mut env: HashMap<String, String> = [
        ("AWS_ENDPOINT_URL", at.aws.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_LAMBDA_FUNCTION_NAME", function),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/siftgram-cold-start"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local"),
        ("SIFTGRAM_TABLE", at.table.as_str()),
        ("SIFTGRAM_RESOURCE_PREFIX", at.resource_prefix.as_str()),
        ("TELEGRAM_BOT_TOKEN", siftgram_fake_telegram::FakeTelegram::TOKEN),
        ("TELEGRAM_API_URL", at.telegram_api.as_str()),
        ("SIFTGRAM_WEBHOOK_SECRET", "cold-start-webhook-secret"),
        ("SIFTGRAM_QDRANT_URL", at.qdrant.as_str()),
        ("RUST_LOG", "warn"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if matches!(function, "indexer" | "worker") {
        for (k, v) in [("SIFTGRAM_EMBEDDER", "openai"), ("SIFTGRAM_EMBED_URL", at.embedder.as_str()), ("SIFTGRAM_EMBED_MODEL", "text-embedding-3-small"), ("SIFTGRAM_EMBED_DIMENSION", "384")] {
            env.insert(k.to_owned(), v.to_owned());
        }
    }
    env
}

/// Progress lines go to stderr, each once.
pub fn printer() -> impl Fn(&str) {
    let last = Mutex::new(String::new());
    move |line: &str| {
        if let Ok(mut last) = last.lock()
            && *last != line
        {
            eprintln!("[cold-start] {line}");
            *last = line.to_owned();
        }
    }
}

/// Kept alive while the measurement runs: the stand-ins the functions reach.
pub struct StandIns {
    pub endpoints: Endpoints,
    _telegram: siftgram_fake_telegram::FakeTelegram,
    _embedder: siftgram_fake_openai::FakeOpenAi,
    _qdrant: tokio::task::JoinHandle<()>,
    _index_dir: Arc<tempfile::TempDir>,
}

/// The table and queues on LocalStack (as `siftgram migrate` makes them), the fake Bot API, a
/// fake embedder and the Qdrant stand-in.
pub async fn stand_ins(aws_endpoint: &str) -> Result<StandIns, String> {
    let sdk = siftgram_aws::local_sdk_config(aws_endpoint).await;
    let table = "siftgram-cold-start".to_owned();
    let resource_prefix = "siftgram-cold-start-".to_owned();
    siftgram_aws::ensure_table(&aws_sdk_dynamodb::Client::new(&sdk), &table).await.map_err(|e| format!("the table on {aws_endpoint} (is LocalStack up?): {e}"))?;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    for spec in siftgram_core::schema::queue_specs().map_err(|e| e.to_string())? {
        siftgram_aws::SqsQueue::ensure(&sqs, &resource_prefix, spec).await.map_err(|e| format!("the queues: {e}"))?;
    }
    let telegram = siftgram_fake_telegram::FakeTelegram::start().await.map_err(|e| e.to_string())?;
    let embedder = siftgram_fake_openai::FakeOpenAi::start(384).await.map_err(|e| e.to_string())?;
    let index_dir = Arc::new(tempfile::tempdir().map_err(|e| e.to_string())?);
    let index = siftgram_search::EmbeddedIndex::open_dir(index_dir.path()).map_err(|e| e.to_string())?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let (qdrant, task) = crate::qdrant::spawn(index, "siftgram_posts", listener, std::future::pending()).map_err(|e| e.to_string())?;
    let endpoints = Endpoints { aws: aws_endpoint.to_owned(), table, resource_prefix, telegram_api: telegram.api_url(), qdrant, embedder: embedder.url().to_owned() };
    Ok(StandIns { endpoints, _telegram: telegram, _embedder: embedder, _qdrant: task, _index_dir: index_dir })
}
