//! `siftgram eval`: index a corpus into a fresh embedded system and measure retrieval over a
//! question set — recall@1/5/10, MRR@10 and nDCG@10 — and, with `--answers`, the answers: the
//! share whose citations are all valid and the share citing at least one relevant post.

use siftgram_core::clock::ManualClock;
use siftgram_core::export::{RecordedChannel, parse_date, read_desktop_export, read_posts_jsonl};
use siftgram_core::indexing::CachedEmbedder;
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
}

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
    let hits = |k: usize| ranked.iter().take(k).filter(|p| relevant.contains(p)).count() as f64;
    let total = relevant.len().max(1) as f64;
    let first = ranked.iter().take(10).position(|p| relevant.contains(p));
    let dcg: f64 = ranked.iter().take(10).enumerate().filter(|(_, p)| relevant.contains(p)).map(|(i, _)| 1.0 / ((i + 2) as f64).log2()).sum();
    let idcg: f64 = (0..relevant.len().min(10)).map(|i| 1.0 / ((i + 2) as f64).log2()).sum();
    Metrics {
        questions: 1,
        recall_at_1: hits(1) / total,
        recall_at_5: hits(5) / total,
        recall_at_10: hits(10) / total,
        mrr_at_10: first.map_or(0.0, |i| 1.0 / (i + 1) as f64),
        ndcg_at_10: if idcg > 0.0 { dcg / idcg } else { 0.0 },
    }
}

fn average(all: &[Metrics]) -> Metrics {
    let n = all.len().max(1) as f64;
    let sum = |f: fn(&Metrics) -> f64| all.iter().map(f).sum::<f64>() / n;
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

/// JSONL questions: `{"q", "relevant": ["<channel>:<message>"], "as_of"?}`.
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
            Some(d) => Some(parse_date(d).ok_or_else(|| bad("bad as_of"))?),
            None => None,
        };
        out.push(EvalQuestion { q, relevant, as_of });
    }
    Ok(out)
}

/// A fresh embedded system holding the corpus, with one reader following every channel.
pub struct EvalSystem {
    pub repo: Repository,
    pub retriever: Arc<Retriever>,
    pub reader: UserId,
    clock: Arc<ManualClock>,
}

impl EvalSystem {
    /// Indexes `corpus` into a fresh embedded store and index under `work_dir`.
    pub async fn build(corpus: &[RecordedChannel], embedder: Arc<dyn Embedder>, work_dir: &Path) -> Result<EvalSystem, String> {
        let err = |e: &dyn std::fmt::Display| e.to_string();
        let crate::scratch::Scratch { repo, index, clock, .. } = crate::scratch::Scratch::open(work_dir)?;
        let embedder: Arc<dyn Embedder> = Arc::new(CachedEmbedder::new(embedder, repo.clone()));
        let indexer = siftgram_search::indexer(repo.clone(), Arc::new(index.clone()), embedder.clone(), None, None);
        let keywords = indexer.keywords.clone();
        index.open_collection(&indexer.collection()).await.map_err(|e| err(&e))?;
        let reader = UserId::new(1).expect("valid id");
        let mut user = User::new(reader, "eval", Default::default(), clock.now()).map_err(|e| err(&e))?;
        user.tier = siftgram_core::model::Tier::Enterprise; // follows every channel of the corpus
        repo.create_user(&user).await.map_err(|e| err(&e))?;
        let mut progress = crate::progress::Progress::new("eval: indexing", "posts", Some(corpus.iter().map(|c| c.posts.len() as u64).sum()));
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
        let retriever = Arc::new(Retriever { repo: repo.clone(), index: Arc::new(index), embedder, keywords });
        Ok(EvalSystem { repo, retriever, reader, clock })
    }

    fn now_for(&self, q: &EvalQuestion) -> Timestamp {
        q.as_of.unwrap_or_else(|| self.clock.now())
    }

    /// Retrieval metrics over `questions`.
    pub async fn retrieval_metrics(&self, questions: &[EvalQuestion]) -> Result<Metrics, String> {
        let mut all = Vec::with_capacity(questions.len());
        let mut progress = crate::progress::Progress::new("eval: retrieval", "questions", Some(questions.len() as u64));
        for q in questions {
            progress.add(1);
            let request = RetrievalRequest { user: self.reader, question: q.q.clone(), limit: 10, now: self.now_for(q), recency_half_life_days: None, tags: Vec::new() };
            let ranked: Vec<PostKey> = self.retriever.retrieve(&request).await.map_err(|e| e.to_string())?.posts.iter().map(|p| p.post.key).collect();
            all.push(score(&ranked, &q.relevant));
        }
        Ok(average(&all))
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

/// Indexes `corpus` into a fresh embedded system under `work_dir` and scores every question.
pub async fn run_eval(corpus: &[RecordedChannel], questions: &[EvalQuestion], embedder: Arc<dyn Embedder>, work_dir: &Path) -> Result<Metrics, String> {
    EvalSystem::build(corpus, embedder, work_dir).await?.retrieval_metrics(questions).await
}

pub fn print_answer_table(m: &AnswerMetrics, model: &str) {
    let share = |n: usize| if m.questions == 0 { 0.0 } else { n as f64 / m.questions as f64 };
    println!("{:<12} {:>9} {:>9} {:>16} {:>15}", "answers", "questions", "answered", "valid_citations", "cites_relevant");
    println!("{:<12} {:>9} {:>9.3} {:>16.3} {:>15.3}", model, m.questions, share(m.answered), share(m.valid_citations), share(m.cites_relevant));
}

pub fn print_table(rows: &[(&str, Metrics)]) {
    println!("{:<10} {:>9} {:>9} {:>9} {:>10} {:>7} {:>8}", "backend", "questions", "recall@1", "recall@5", "recall@10", "MRR@10", "nDCG@10");
    for (name, m) in rows {
        println!(
            "{:<10} {:>9} {:>9.3} {:>9.3} {:>10.3} {:>7.3} {:>8.3}",
            name, m.questions, m.recall_at_1, m.recall_at_5, m.recall_at_10, m.mrr_at_10, m.ndcg_at_10
        );
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
        assert_eq!(score(&[], &[k(1)]), Metrics { questions: 1, ..Metrics::default() });
    }
}
