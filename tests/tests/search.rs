//! Indexing and retrieval stories on the embedded store and on LocalStack's DynamoDB + SQS.

mod embedded {
    siftgram_tests::search_stories!(siftgram_tests::TestSystem::embedded);
    mod links {
        siftgram_tests::link_stories!(siftgram_tests::TestSystem::embedded);
    }
}

mod localstack {
    siftgram_tests::search_stories!(siftgram_tests::TestSystem::localstack);
    mod links {
        siftgram_tests::link_stories!(siftgram_tests::TestSystem::localstack);
    }
}

/// The real model's Russian and English readings of one sentence (none of them among the
/// reference sentences that define the direction) are closer once it is removed.
#[tokio::test]
async fn translations_move_closer_once_the_language_direction_is_removed() {
    use siftgram_core::ports::{EmbedKind, Embedder};
    use siftgram_core::retrieval::LanguageNeutral;
    use std::sync::Arc;
    let plain: Arc<dyn Embedder> = Arc::new(siftgram_tests::search::local_e5().await);
    let neutral = LanguageNeutral::new(plain.clone());
    let pairs = [
        ("Лыжную трассу в парке открыли после снегопада.", "The ski track in the park opened after the snowfall."),
        ("Цены на молоко выросли впервые за полгода.", "Milk prices rose for the first time in six months."),
        ("Клуб продал лучшего нападающего за рекордную сумму.", "The club sold its best striker for a record fee."),
        ("Учёные нашли в реке редкий вид рыбы.", "Scientists found a rare species of fish in the river."),
    ];
    let cosine = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    for (ru, en) in pairs {
        let texts = [ru.to_owned(), en.to_owned()];
        for kind in [EmbedKind::Passage, EmbedKind::Query] {
            let (p, n) = (plain.embed(&texts, kind).await.unwrap(), neutral.embed(&texts, kind).await.unwrap());
            let (before, after) = (cosine(&p[0], &p[1]), cosine(&n[0], &n[1]));
            assert!(after > before, "{ru} / {en} ({kind:?}): {before:.4} → {after:.4}");
        }
    }
}
