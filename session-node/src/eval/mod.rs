//! `siftgram eval`: index a corpus into an embedded system (fresh, or one kept from an earlier
//! run of the same corpus and model) and measure retrieval over a question set — recall@1/5/10,
//! MRR@10 and nDCG@10, overall and per question `kind`, ours beside a plain BM25 baseline, with
//! every ranking written to a run file if asked — and, with `--answers`, the answers: the share
//! whose citations are all valid and the share citing at least one relevant post.

mod bm25;
pub use bm25::Bm25;

use siftgram_core::clock::ManualClock;
use siftgram_core::export::{RecordedChannel, parse_date, read_desktop_export, read_posts_jsonl};
use siftgram_core::indexing::retrieval_embedder;
use siftgram_core::messages::PostMessage;
use siftgram_core::answer::{Answer, AnswerKind, AskSettings, Asker};
use siftgram_core::model::{Channel, Language, PostKey, User, UserId};
use siftgram_core::ports::{ChatModel, Embedder, SearchIndex};
use siftgram_core::repo::Repository;
use siftgram_core::retrieval::{RetrievalRequest, Retriever};
use siftgram_core::{Clock, Timestamp};
use std::path::Path;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct EvalQuestion {
    pub q: String,
    pub relevant: Vec<PostKey>,
    pub as_of: Option<Timestamp>,
    /// What the question tests (`keyword`, `paraphrase`, `time`, `cross-lingual`, …), for the
    /// per-kind rows.
    pub kind: Option<String>,
}

/// One system's answer to one question: posts best first, with the system's scores.
pub type Ranking = Vec<(PostKey, f64)>;

/// How many posts each system ranks per question (the deepest metric is @10).
pub const RANKED: usize = 10;

/// Averages over a question set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub questions: usize,
    pub recall_at_1: f64,
    pub recall_at_5: f64,
    pub recall_at_10: f64,
    pub mrr_at_10: f64,
    pub ndcg_at_10: f64,
}

/// The metrics of one ranked list against its relevant set (binary relevance).
pub fn score(ranked: &[PostKey], relevant: &[PostKey]) -> Metrics {
    // recall@k = hits / min(k, relevant): a question with three relevant posts scores 1 at k = 1
    // when its first hit is relevant.
    let recall = |k: usize| ranked.iter().take(k).filter(|p| relevant.contains(p)).count() as f64 / k.min(relevant.len()).max(1) as f64;
    let first = ranked.iter().take(10).position(|p| relevant.contains(p));
    // Folded from +0.0: an empty f64 sum is −0.0, which printed as "-0.000".
    let dcg = ranked.iter().take(10).enumerate().filter(|(_, p)| relevant.contains(p)).fold(0.0, |d, (i, _)| d + 1.0 / ((i + 2) as f64).log2());
    let idcg: f64 = (0..relevant.len().min(10)).map(|i| 1.0 / ((i + 2) as f64).log2()).sum();
    Metrics {
        questions: 1,
        recall_at_1: recall(1),
        recall_at_5: recall(5),
        recall_at_10: recall(10),
        mrr_at_10: first.map_or(0.0, |i| 1.0 / (i + 1) as f64),
        ndcg_at_10: if idcg > 0.0 { dcg / idcg } else { 0.0 },
    }
}

fn average(all: &[Metrics]) -> Metrics {
    let n = all.len().max(1) as f64;
    let sum = |f: fn(&Metrics) -> f64| all.iter().map(f).fold(0.0, |a, x| a + x) / n;
    Metrics {
        questions: all.len(),
        recall_at_1: sum(|m| m.recall_at_1),
        recall_at_5: sum(|m| m.recall_at_5),
        recall_at_10: sum(|m| m.recall_at_10),
        mrr_at_10: sum(|m| m.mrr_at_10),
        ndcg_at_10: sum(|m| m.ndcg_at_10),
    }
}

/// A corpus file: a Telegram Desktop export (`.json`) or JSONL posts.
pub fn read_corpus(path: &Path) -> Result<Vec<RecordedChannel>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let parsed = if path.extension().is_some_and(|e| e == "jsonl") { read_posts_jsonl(&text) } else { read_desktop_export(&text) };
    parsed.map_err(|e| format!("{}: {e}", path.display()))
}

/// The asker's "now": a date and time as written, or a date alone for the end of that day on
/// the asker's calendar (the default zone, every eval user's), so that "сегодня" asked "on" a day
/// means the whole day.
fn as_of(value: &serde_json::Value) -> Option<Timestamp> {
    let at = parse_date(value)?;
    let date_only = value.as_str().is_some_and(|s| !s.trim().contains(['T', ' ', ':']) && s.trim().contains('-'));
    if !date_only {
        return Some(at);
    }
    let offset = siftgram_core::retrieval::utc_offset_of(siftgram_core::model::DEFAULT_TIMEZONE, at);
    Some(Timestamp(at.0 + Timestamp::DAY - 1 - offset))
}

/// JSONL questions: `{"q", "relevant": ["<channel>:<message>"], "as_of"?, "kind"?}`.
pub fn read_questions(path: &Path) -> Result<Vec<EvalQuestion>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = |why: &str| format!("{} line {}: {why}", path.display(), n + 1);
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(&e.to_string()))?;
        let q = v["q"].as_str().ok_or_else(|| bad("no \"q\""))?.to_owned();
        let mut relevant = Vec::new();
        for key in v["relevant"].as_array().ok_or_else(|| bad("no \"relevant\" list"))? {
            let (c, m) = key.as_str().and_then(|k| k.split_once(':')).ok_or_else(|| bad("post keys look like \"<channel>:<message>\""))?;
            let channel = c.trim().parse().ok().and_then(|c| siftgram_core::model::ChannelId::new(c).ok()).ok_or_else(|| bad("bad channel id"))?;
            relevant.push(PostKey::new(channel, m.trim().parse().map_err(|_| bad("bad message id"))?).map_err(|e| bad(&e.to_string()))?);
        }
        let as_of = match v.get("as_of") {
            Some(d) => Some(as_of(d).ok_or_else(|| bad("bad as_of"))?),
            None => None,
        };
        let kind = match v.get("kind") {
            Some(k) => Some(k.as_str().filter(|k| !k.trim().is_empty() && k.len() <= 40).ok_or_else(|| bad("\"kind\" is a short name"))?.trim().to_owned()),
            None => None,
        };
        out.push(EvalQuestion { q, relevant, as_of, kind });
    }
    Ok(out)
}

/// Metrics per kind of question: `all` first, then each kind the questions name, by name.
pub fn by_kind(questions: &[EvalQuestion], rankings: &[Ranking]) -> Vec<(String, Metrics)> {
    let scored: Vec<(Option<&str>, Metrics)> = questions
        .iter()
        .zip(rankings)
        .map(|(q, r)| (q.kind.as_deref(), score(&r.iter().map(|(k, _)| *k).collect::<Vec<_>>(), &q.relevant)))
        .collect();
    let mut rows = vec![("all".to_owned(), average(&scored.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>()))];
    let kinds: std::collections::BTreeSet<&str> = scored.iter().filter_map(|(k, _)| *k).collect();
    for kind in kinds {
        let of_kind: Vec<Metrics> = scored.iter().filter(|(k, _)| *k == Some(kind)).map(|(_, m)| m.clone()).collect();
        rows.push((kind.to_owned(), average(&of_kind)));
    }
    rows
}

/// The BM25 baseline's rankings of every question over the same posts.
pub fn bm25_rankings(corpus: &[RecordedChannel], questions: &[EvalQuestion]) -> Vec<Ranking> {
    let bm25 = Bm25::new(corpus);
    questions.iter().map(|q| bm25.rank(&q.q, RANKED)).collect()
}

/// Writes a run file: one JSON line per question and system, `{"qid", "system", "q", "kind",
/// "ranked": ["<channel>:<message>", …], "scores": […], "relevant": […]}` — the ranked lists IR
/// people compare runs by (qid is the question's line number among the questions, from 1).
pub fn write_run(path: &Path, questions: &[EvalQuestion], systems: &[(&str, &[Ranking])]) -> Result<(), String> {
    use std::io::Write;
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for (system, rankings) in systems {
        for (n, (q, ranking)) in questions.iter().zip(rankings.iter()).enumerate() {
            let line = serde_json::json!({
                "qid": n + 1,
                "system": system,
                "q": q.q,
                "kind": q.kind,
                "ranked": ranking.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>(),
                "scores": ranking.iter().map(|(_, s)| (s * 1e4).round() / 1e4).collect::<Vec<_>>(),
                "relevant": q.relevant.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
            });
            writeln!(out, "{line}").map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    out.flush().map_err(|e| format!("{}: {e}", path.display()))
}

/// What an eval index was built from; a directory is reused only for the same.
const MANIFEST: &str = "eval-index.json";

/// Names the corpus and the embedding model an index holds: a digest of the model id and of
/// every post's key, date and text.
pub fn fingerprint(corpus: &[RecordedChannel], model: &str) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    hash.update(b"siftgram eval index 1\0");
    hash.update(model.as_bytes());
    for post in corpus.iter().flat_map(|c| &c.posts) {
        hash.update(format!("\0{}\0{}\0", post.key, post.date.0).as_bytes());
        hash.update(post.text.as_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// An embedded system holding the corpus, with one reader following every channel.
pub struct EvalSystem {
    pub repo: Repository,
    pub retriever: Arc<Retriever>,
    pub reader: UserId,
    clock: Arc<ManualClock>,
}

impl EvalSystem {
    /// Indexes `corpus` into a fresh embedded store and index under `work_dir` — or, when
    /// `work_dir` already holds a complete index of the same corpus and model, opens that one.
    /// A directory holding anything else (another corpus, another model, an interrupted build)
    /// is refused rather than mixed into.
    pub async fn open(corpus: &[RecordedChannel], embedder: Arc<dyn Embedder>, work_dir: &Path) -> Result<EvalSystem, String> {
        let err = |e: &dyn std::fmt::Display| e.to_string();
        let fingerprint = fingerprint(corpus, embedder.model());
        let manifest_path = work_dir.join(MANIFEST);
        let reused = match std::fs::read_to_string(&manifest_path) {
            Ok(text) => {
                let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", manifest_path.display()))?;
                if manifest["fingerprint"].as_str() != Some(fingerprint.as_str()) {
                    return Err(format!(
                        "{} holds the index of another corpus or embedding model (built from {} posts with {}); give another directory",
                        work_dir.display(),
                        manifest["posts"],
                        manifest["model"]
                    ));
                }
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if ["store", "index"].iter().any(|d| work_dir.join(d).exists()) {
                    return Err(format!("{} holds an unfinished index (an interrupted run?); remove it or give another directory", work_dir.display()));
                }
                false
            }
            Err(e) => return Err(format!("{}: {e}", manifest_path.display())),
        };
        let crate::scratch::Scratch { repo, index, clock, .. } = crate::scratch::Scratch::open(work_dir)?;
        let embedder = retrieval_embedder(embedder, repo.clone());
        let indexer = siftgram_search::indexer(repo.clone(), Arc::new(index.clone()), embedder.clone(), None, None);
        let keywords = indexer.keywords.clone();
        index.open_collection(&indexer.collection()).await.map_err(|e| err(&e))?;
        let reader = UserId::new(1).expect("valid id");
        let posts: u64 = corpus.iter().map(|c| c.posts.len() as u64).sum();
        if reused {
            eprintln!("[eval] reusing the index in {} ({posts} posts, nothing to index)", work_dir.display());
        } else {
            let mut user = User::new(reader, "eval", Default::default(), clock.now()).map_err(|e| err(&e))?;
            user.tier = siftgram_core::model::Tier::Enterprise; // follows every channel of the corpus
            repo.create_user(&user).await.map_err(|e| err(&e))?;
            let mut progress = crate::progress::Progress::new("eval: indexing", "posts", Some(posts));
            for channel in corpus {
                let title = if channel.title.trim().is_empty() { format!("Channel {}", channel.id) } else { channel.title.clone() };
                repo.save_channel(&Channel::new(channel.id, None, &title).map_err(|e| err(&e))?).await.map_err(|e| err(&e))?;
                repo.subscribe(reader, channel.id).await.map_err(|e| err(&e))?;
                for post in &channel.posts {
                    indexer.apply(PostMessage::Publish { post: post.clone() }).await.map_err(|e| err(&e))?;
                    progress.add(1);
                }
            }
            progress.finish();
            // Written last: only a complete index is ever reused.
            let manifest = serde_json::json!({"fingerprint": fingerprint, "posts": posts, "model": embedder.model()});
            std::fs::write(&manifest_path, manifest.to_string()).map_err(|e| format!("{}: {e}", manifest_path.display()))?;
        }
        let retriever = Arc::new(Retriever { repo: repo.clone(), index: Arc::new(index), embedder, keywords });
        Ok(EvalSystem { repo, retriever, reader, clock })
    }

    fn now_for(&self, q: &EvalQuestion) -> Timestamp {
        q.as_of.unwrap_or_else(|| self.clock.now())
    }

    /// Our ranking of every question.
    pub async fn rank(&self, questions: &[EvalQuestion]) -> Result<Vec<Ranking>, String> {
        let mut all = Vec::with_capacity(questions.len());
        let mut progress = crate::progress::Progress::new("eval: retrieval", "questions", Some(questions.len() as u64));
        for q in questions {
            progress.add(1);
            let request = RetrievalRequest { user: self.reader, question: q.q.clone(), limit: RANKED, now: self.now_for(q), recency_half_life_days: None, tags: Vec::new() };
            let retrieved = self.retriever.retrieve(&request).await.map_err(|e| e.to_string())?;
            all.push(retrieved.posts.iter().map(|p| (p.post.key, f64::from(p.score))).collect());
        }
        Ok(all)
    }

    /// Answers every question (with `chat`, or extractively) and checks their citations.
    pub async fn answer_metrics(&self, questions: &[EvalQuestion], chat: Option<Arc<dyn ChatModel>>) -> Result<AnswerMetrics, String> {
        let settings = AskSettings { cache_secs: 1, ..AskSettings::default() };
        let asker = Asker { repo: self.repo.clone(), retriever: self.retriever.clone(), keywords: self.retriever.keywords.clone(), chat, settings };
        let mut m = AnswerMetrics { questions: questions.len(), ..Default::default() };
        let mut progress = crate::progress::Progress::new("eval: answers", "questions", Some(questions.len() as u64));
        for q in questions {
            progress.add(1);
            let now = self.now_for(q);
            let request = RetrievalRequest { user: self.reader, question: q.q.clone(), limit: settings.posts, now, recency_half_life_days: None, tags: Vec::new() };
            let context: Vec<PostKey> = self.retriever.retrieve(&request).await.map_err(|e| e.to_string())?.posts.iter().map(|p| p.post.key).collect();
            let answer = asker.ask(self.reader, &q.q, Language::Ru, now).await.map_err(|e| e.to_string())?.answer;
            if answer.kind == AnswerKind::Nothing {
                continue;
            }
            m.answered += 1;
            if citations_valid(&answer, &context) {
                m.valid_citations += 1;
            }
            if answer.sources.iter().any(|c| q.relevant.contains(&c.key)) {
                m.cites_relevant += 1;
            }
        }
        Ok(m)
    }
}

/// Counts over a question set (shares are of all questions).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnswerMetrics {
    pub questions: usize,
    pub answered: usize,
    pub valid_citations: usize,
    pub cites_relevant: usize,
}

/// Every `[n]` in the text names a listed source, every source is cited, and every source is a
/// post the answer was given.
pub fn citations_valid(answer: &Answer, context: &[PostKey]) -> bool {
    let mut cited = std::collections::BTreeSet::new();
    let text = &answer.text;
    let mut rest = text.as_str();
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        match after.find(']') {
            Some(close) => {
                if let Ok(n) = after[..close].trim().parse::<usize>() {
                    cited.insert(n);
                }
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    let numbers: std::collections::BTreeSet<usize> = answer.sources.iter().map(|c| c.number).collect();
    !cited.is_empty() && cited == numbers && answer.sources.iter().all(|c| context.contains(&c.key))
}

pub fn print_answer_table(m: &AnswerMetrics, model: &str) {
    let share = |n: usize| if m.questions == 0 { 0.0 } else { n as f64 / m.questions as f64 };
    println!("{:<12} {:>9} {:>9} {:>16} {:>15}", "answers", "questions", "answered", "valid_citations", "cites_relevant");
    println!("{:<12} {:>9} {:>9.3} {:>16.3} {:>15.3}", model, m.questions, share(m.answered), share(m.valid_citations), share(m.cites_relevant));
}

/// One row per system and kind of question.
pub fn print_table(systems: &[(&str, Vec<(String, Metrics)>)]) {
    println!("{:<10} {:<14} {:>9} {:>9} {:>9} {:>10} {:>7} {:>8}", "system", "kind", "questions", "recall@1", "recall@5", "recall@10", "MRR@10", "nDCG@10");
    for (system, rows) in systems {
        for (kind, m) in rows {
            println!(
                "{:<10} {:<14} {:>9} {:>9.3} {:>9.3} {:>10.3} {:>7.3} {:>8.3}",
                system, kind, m.questions, m.recall_at_1, m.recall_at_5, m.recall_at_10, m.mrr_at_10, m.ndcg_at_10
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use siftgram_core::model::ChannelId;

    fn k(m: i64) -> PostKey {
        PostKey::new(ChannelId::new(1).unwrap(), m).unwrap()
    }

    #[test]
    fn citations_are_valid_only_when_every_marker_and_source_match_the_context() {
        use siftgram_core::answer::Citation;
        let source = |number, m| Citation { number, key: k(m), channel_title: "C".into(), link: String::new(), date: Timestamp(0) };
        let answer = |text: &str, sources| Answer { kind: AnswerKind::Extractive, text: text.into(), sources };
        assert!(citations_valid(&answer("a [1]. b [2].", vec![source(1, 1), source(2, 2)]), &[k(1), k(2), k(3)]));
        assert!(!citations_valid(&answer("a [1]. b [3].", vec![source(1, 1), source(2, 2)]), &[k(1), k(2)]), "a marker without a source");
        assert!(!citations_valid(&answer("a [1].", vec![source(1, 9)]), &[k(1)]), "a source outside the context");
        assert!(!citations_valid(&answer("no markers", vec![source(1, 1)]), &[k(1)]));
    }

    #[test]
    fn metrics_match_hand_computed_values() {
        let m = score(&[k(5), k(1), k(9), k(2)], &[k(1), k(2)]);
        assert_eq!((m.recall_at_1, m.recall_at_5, m.mrr_at_10), (0.0, 1.0, 0.5));
        let dcg = 1.0 / 3f64.log2() + 1.0 / 5f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2();
        assert!((m.ndcg_at_10 - dcg / idcg).abs() < 1e-9);
        let three = score(&[k(1), k(5), k(9), k(2)], &[k(1), k(2), k(3)]);
        assert_eq!((three.recall_at_1, three.recall_at_5), (1.0, 2.0 / 3.0), "recall@k is out of min(k, relevant)");
        assert!(score(&[k(5)], &[k(1)]).ndcg_at_10.is_sign_positive(), "no −0.0 to print");
        assert_eq!(score(&[], &[k(1)]), Metrics { questions: 1, ..Metrics::default() });
    }

    #[test]
    fn a_date_alone_is_the_end_of_that_day_on_the_askers_calendar() {
        let moscow_midnight = Timestamp::from_utc_date(2026, 11, 22).0 - 3 * 3600;
        assert_eq!(as_of(&serde_json::json!("2026-11-21")), Some(Timestamp(moscow_midnight - 1)));
        assert_eq!(as_of(&serde_json::json!("2026-11-21T10:00:00")), Some(Timestamp(Timestamp::from_utc_date(2026, 11, 21).0 + 10 * 3600)));
        assert_eq!(as_of(&serde_json::json!("someday")), None);
    }

    #[test]
    fn kinds_get_their_own_rows_after_the_overall_one() {
        let question = |kind: Option<&str>, relevant| EvalQuestion { q: "?".into(), relevant: vec![k(relevant)], as_of: None, kind: kind.map(str::to_owned) };
        let questions = [question(Some("time"), 1), question(Some("keyword"), 2), question(None, 3), question(Some("time"), 4)];
        let rankings: Vec<Ranking> = vec![vec![(k(1), 1.0)], vec![(k(9), 1.0), (k(2), 0.5)], vec![], vec![(k(4), 1.0)]];
        let rows = by_kind(&questions, &rankings);
        let names: Vec<&str> = rows.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["all", "keyword", "time"]);
        assert_eq!((rows[0].1.questions, rows[0].1.mrr_at_10), (4, 0.625));
        assert_eq!((rows[1].1.questions, rows[1].1.mrr_at_10), (1, 0.5));
        assert_eq!((rows[2].1.questions, rows[2].1.recall_at_1), (2, 1.0));
    }
}
