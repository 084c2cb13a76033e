//! The OpenAI-compatible embedder and tagger against a fake provider: batching, retries that
//! honour Retry-After, refusals, shape checks, the embedding cache, tag validation.

use siftgram_core::indexing::CachedEmbedder;
use siftgram_core::ports::{EmbedError, EmbedKind, Embedder, TagError, Tagger};
use siftgram_fake_openai::{API_KEY, FakeOpenAi, vector_for};
use siftgram_models::{OpenAiEmbedder, OpenAiEndpoint, OpenAiTagger};
use siftgram_tests::TestSystem;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn endpoint(fake: &FakeOpenAi, model: &str) -> OpenAiEndpoint {
    OpenAiEndpoint { base_url: fake.url().to_owned(), api_key: Some(API_KEY.into()), model: model.into(), timeout: Duration::from_secs(5) }
}

fn texts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("пост номер {i}")).collect()
}

#[tokio::test]
async fn texts_are_sent_in_batches_and_come_back_in_order() {
    let fake = FakeOpenAi::start(8).await.unwrap();
    let mut embedder = OpenAiEmbedder::new(endpoint(&fake, "text-embedding-3-small"), 8);
    embedder.batch_size = 2;
    let vectors = embedder.embed(&texts(5), EmbedKind::Passage).await.unwrap();
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(vectors[4], vector_for("пост номер 4", 8), "no prefix for a non-E5 model, order kept");
    let e5 = OpenAiEmbedder::new(endpoint(&fake, "multilingual-e5-small"), 8);
    assert_eq!(e5.embed(&texts(1), EmbedKind::Query).await.unwrap()[0], vector_for("query: пост номер 0", 8));
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_honouring_retry_after() {
    let fake = FakeOpenAi::start(8).await.unwrap();
    let embedder = OpenAiEmbedder::new(endpoint(&fake, "m"), 8);
    fake.fail_next(429, Some(1));
    fake.fail_next(503, None);
    let started = Instant::now();
    embedder.embed(&texts(1), EmbedKind::Query).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(1500), "waited Retry-After (1 s) then the backoff");
    assert_eq!(fake.requests().len(), 3);

    let mut impatient = OpenAiEmbedder::new(endpoint(&fake, "m"), 8);
    impatient.max_attempts = 2;
    fake.fail_next(500, None);
    fake.fail_next(500, None);
    assert!(matches!(impatient.embed(&texts(1), EmbedKind::Query).await, Err(EmbedError::Unavailable(_))));
}

#[tokio::test]
async fn refusals_are_not_retried_and_wrong_shapes_are_caught() {
    let fake = FakeOpenAi::start(8).await.unwrap();
    let mut wrong_key = endpoint(&fake, "m");
    wrong_key.api_key = Some("sk-wrong".into());
    let refused = OpenAiEmbedder::new(wrong_key, 8).embed(&texts(1), EmbedKind::Query).await;
    assert!(matches!(&refused, Err(EmbedError::Refused(m)) if m.contains("401")), "{refused:?}");
    assert_eq!(fake.requests().len(), 1, "a refusal is final");
    let shape = OpenAiEmbedder::new(endpoint(&fake, "m"), 16).embed(&texts(2), EmbedKind::Query).await;
    assert!(matches!(shape, Err(EmbedError::Shape { dim: 8, want: 16, .. })), "{shape:?}");
}

#[tokio::test]
async fn the_cache_spares_texts_already_embedded() {
    let sys = TestSystem::embedded().await;
    let fake = FakeOpenAi::start(8).await.unwrap();
    let cached = CachedEmbedder::new(Arc::new(OpenAiEmbedder::new(endpoint(&fake, "m"), 8)), sys.repo.clone());
    let first = cached.embed(&["a".into(), "b".into()], EmbedKind::Passage).await.unwrap();
    let second = cached.embed(&["a".into(), "c".into()], EmbedKind::Passage).await.unwrap();
    assert_eq!(first[0], second[0]);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1].body["input"], serde_json::json!(["c"]), "only the new text is sent");
    cached.embed(&["a".into()], EmbedKind::Query).await.unwrap();
    assert_eq!(fake.requests().len(), 3, "queries and passages are cached apart");
}

#[tokio::test]
async fn tags_must_be_a_json_array_garbage_is_asked_again_then_given_up() {
    let fake = FakeOpenAi::start(8).await.unwrap();
    let tagger = OpenAiTagger::new(endpoint(&fake, "gpt-4o-mini"));
    fake.answer_next("Конечно! Вот теги: экономика, ставка");
    fake.answer_next(r#"["экономика", "ставка цб", "инфляция"]"#);
    assert_eq!(tagger.tags("ЦБ повысил ставку").await.unwrap(), ["экономика", "ставка цб", "инфляция"]);
    let sent = &fake.requests()[0].body;
    assert_eq!(sent["messages"][1]["content"], "ЦБ повысил ставку");
    fake.answer_next("no");
    fake.answer_next(r#"["only one"]"#);
    assert!(matches!(tagger.tags("текст").await, Err(TagError::Garbage(_))));
}

mod chat {
    use super::*;
    use siftgram_core::ports::{ChatError, ChatMessage, ChatModel};
    use siftgram_models::{OpenAiChat, ProviderChain};

    fn provider(fake: &FakeOpenAi, model: &str) -> Box<dyn ChatModel> {
        let mut chat = OpenAiChat::new(endpoint(fake, model));
        chat.attempts = 1;
        Box::new(chat)
    }

    #[tokio::test]
    async fn a_failing_provider_falls_through_to_the_next_and_its_breaker_opens() {
        let (first, second) = (FakeOpenAi::start(8).await.unwrap(), FakeOpenAi::start(8).await.unwrap());
        let mut chain = ProviderChain::new(vec![provider(&first, "gigachat"), provider(&second, "openrouter/model")]);
        chain.threshold = 2;
        let ask = [ChatMessage::user("Что нового?")];
        first.fail_next(500, None);
        second.answer_next("Ответ [1].");
        let answer = chain.complete(&ask).await.unwrap();
        assert_eq!((answer.content.as_str(), answer.provider.as_str()), ("Ответ [1].", "openrouter/model"));
        first.fail_next(503, None);
        second.answer_next("Снова [2].");
        chain.complete(&ask).await.unwrap();
        assert_eq!(first.requests().len(), 2);
        second.answer_next("Третий.");
        chain.complete(&ask).await.unwrap();
        assert_eq!(first.requests().len(), 2, "two failures in a row: the first provider is skipped while it cools down");
        first.fail_next(500, None);
        second.fail_next(500, None);
        let mut cold = ProviderChain::new(vec![provider(&first, "a"), provider(&second, "b")]);
        cold.threshold = 5;
        assert!(matches!(cold.complete(&ask).await, Err(ChatError::Unavailable(_))), "all down: no answer, the caller goes extractive");
        assert!(matches!(ProviderChain::new(vec![]).complete(&ask).await, Err(ChatError::Unavailable(m)) if m.contains("no provider")));
    }
}
