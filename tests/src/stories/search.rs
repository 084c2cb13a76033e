//! Posts become searchable: through the posts queue, the real indexer (store, tags, chunks, the
//! local embedding model, the embedded index) and the retriever, on both storage backends.

use crate::TestSystem;
use crate::search::TestSearch;
use siftgram_core::Clock;
use siftgram_core::messages::PostMessage;
use siftgram_core::retention::apply_retention;

#[macro_export]
macro_rules! search_stories {
    ($make:path) => {
        $crate::suite!($make; $crate::stories::search;
            a_published_post_becomes_searchable_with_a_link_and_snippet,
            a_redelivered_post_changes_nothing,
            a_batch_of_one_channels_posts_is_indexed_side_by_side_each_once,
            one_channels_posts_stored_side_by_side_share_a_transaction_and_each_gets_its_answer,
            an_edit_changes_what_is_found_and_a_delete_removes_it,
            versions_arriving_out_of_order_end_on_telegrams_latest,
            nobody_sees_posts_of_channels_they_do_not_follow,
            a_time_phrase_filters_before_ranking,
            yesterday_is_the_askers_yesterday_in_their_time_zone,
            a_months_figures_reported_in_the_next_half_month_are_found,
            retention_removes_old_posts_from_the_store_and_the_index,
            a_tagging_model_tags_posts_and_its_garbage_falls_back_to_keywords,
        );
    };
}

pub async fn a_published_post_becomes_searchable_with_a_link_and_snippet(sys: &mut TestSystem) {
    let s = TestSearch::start(sys).await;
    let now = sys.clock.now();
    let news = s.channel(sys, 1001, Some("market_news"), "Рынки").await;
    let anna = s.follow(sys, 11, news).await;
    let posts = [
        (1, "После сообщения ЦБ доллар подорожал на бирже. Аналитики ждут продолжения роста."),
        (2, "Рецепт борща: свёкла, капуста, картофель и говядина."),
        (3, "В Москве прошёл футбольный матч, победил «Спартак»."),
    ];
    for (id, text) in posts {
        s.publish(&PostMessage::Publish { post: s.post(news, id, text, 1, now) }).await;
    }
    assert_eq!(s.index_all().await, 3);
    let answer = s.ask(sys, anna, "почему вырос курс доллара?").await;
    let top = &answer.posts[0];
    assert_eq!(top.post.key.message_id, 1, "{:?}", answer.posts.iter().map(|p| &p.post.text).collect::<Vec<_>>());
    assert_eq!(top.post.link, "https://t.me/market_news/1");
    assert_eq!(top.channel_title, "Рынки");
    assert!(top.snippet.contains("доллар подорожал"), "{}", top.snippet);
    assert!(!top.post.tags.is_empty(), "tagged (keyword tags without a model)");
    assert_eq!(sys.repo.channel_stats(news).await.unwrap().post_count, 3);
}

pub async fn a_redelivered_post_changes_nothing(sys: &mut TestSystem) {
    let s = TestSearch::start(sys).await;
    let now = sys.clock.now();
    let ch = s.channel(sys, 1002, Some("tech_daily"), "Tech").await;
    let anna = s.follow(sys, 12, ch).await;
    let message = PostMessage::Publish { post: s.post(ch, 7, "Rust 1.90 speeds up compilation of large workspaces.", 0, now) };
    s.publish(&message).await;
    s.index_all().await;
    let writes = sys.store.writes();
    s.publish(&message).await;
    assert_eq!(s.index_all().await, 1, "the redelivery is acknowledged");
    assert_eq!(sys.store.writes(), writes, "and writes nothing");
    assert_eq!(s.indexed_chunks().await, 1);
    assert_eq!(sys.repo.channel_stats(ch).await.unwrap().post_count, 1);
    assert_eq!(s.found(sys, anna, "how fast does Rust compile now?").await, [7]);
}

/// The indexer takes a batch's posts at once (so the embedder's workers all have work); posts
/// of one channel then write its stats at the same moment, and none may fail or count twice.
pub async fn a_batch_of_one_channels_posts_is_indexed_side_by_side_each_once(sys: &mut TestSystem) {
    let s = TestSearch::start(sys).await;
    let now = sys.clock.now();
    let ch = s.channel(sys, 1010, Some("busy_channel"), "Оживлённый канал").await;
    let anna = s.follow(sys, 20, ch).await;
    let topics = ["метро", "погода", "футбол", "театр", "бюджет", "школа", "рынок", "космос"];
    for (id, topic) in (1..).zip(topics) {
        s.publish(&PostMessage::Publish { post: s.post(ch, id, &format!("Новости города: тема дня — {topic}."), 1, now) }).await;
    }
    // Two copies redelivered into the same batch.
    s.publish(&PostMessage::Publish { post: s.post(ch, 1, "Новости города: тема дня — метро.", 1, now) }).await;
    s.publish(&PostMessage::Publish { post: s.post(ch, 2, "Новости города: тема дня — погода.", 1, now) }).await;
    assert_eq!(s.index_all().await, 10, "every message acknowledged at the first try");
    let stats = sys.repo.channel_stats(ch).await.unwrap();
    assert_eq!(stats.post_count, 8, "each post counted once");
    assert_eq!(stats.newest_message_id, Some(8));
    assert_eq!(s.indexed_chunks().await, 8);
    for id in 1..=8 {
        assert!(sys.repo.get_post(siftgram_core::model::PostKey::new(ch, id).unwrap()).await.unwrap().expect("stored").indexed, "post {id} indexed");
    }
    assert_eq!(s.found(sys, anna, "что с погодой").await[0], 2);
}

/// Posts of one channel stored at the same moment wait for the channel's turn, and the turn
/// writes them all in one transaction with one stats update; a write whose own condition fails
/// (a copy already stored, a post deleted in Telegram, a stale version) gets its own answer and
/// the others still land.
pub async fn one_channels_posts_stored_side_by_side_share_a_transaction_and_each_gets_its_answer(sys: &mut TestSystem) {
    use siftgram_core::model::{MediaKind, Post, PostKey};
    use siftgram_core::repo::PostInsert;
    let s = TestSearch::start(sys).await;
    let now = sys.clock.now();
    let ch = s.channel(sys, 1011, Some("side_by_side"), "Рядом").await;
    let post = |id: i64| Post::new(PostKey::new(ch, id).unwrap(), None, &format!("Пост номер {id}"), now, MediaKind::None).unwrap();
    assert_eq!(sys.repo.insert_post(&post(1)).await.unwrap(), PostInsert::Inserted);
    assert!(!sys.repo.remove_deleted_post(PostKey::new(ch, 5).unwrap()).await.unwrap(), "5 was deleted in Telegram before it arrived");
    let (_, version) = sys.repo.get_post_versioned(PostKey::new(ch, 1).unwrap()).await.unwrap().unwrap();
    let mut edited = post(1);
    edited.set_tags(vec!["правка".into()]).unwrap();
    let writes = sys.store.writes();

    let (posts, edits) = (([1, 2, 3, 4, 5]).map(post), [(edited.clone(), version), (edited, version + 7)]);
    let (inserted, replaced) = futures_util::join!(
        futures_util::future::join_all(posts.iter().map(|p| sys.repo.insert_post(p))),
        futures_util::future::join_all(edits.iter().map(|(p, v)| sys.repo.replace_post(p, *v))),
    );
    let inserted: Vec<PostInsert> = inserted.into_iter().map(Result::unwrap).collect();
    use PostInsert::*;
    assert_eq!(inserted, [AlreadyStored, Inserted, Inserted, Inserted, Deleted]);
    let replaced: Vec<bool> = replaced.into_iter().map(Result::unwrap).collect();
    assert_eq!(replaced, [true, false], "the edit at the stored version lands, the stale one does not");
    let transactions = sys.store.writes() - writes;
    assert!(transactions < 7, "7 writes took {transactions} transactions");

    let stats = sys.repo.channel_stats(ch).await.unwrap();
    assert_eq!((stats.post_count, stats.newest_message_id), (4, Some(4)), "each post counted once, the deleted one not at all");
    assert_eq!(sys.repo.get_post(PostKey::new(ch, 1).unwrap()).await.unwrap().unwrap().tags, ["правка"]);
    assert!(sys.repo.get_post(PostKey::new(ch, 5).unwrap()).await.unwrap().is_none());
}

pub async fn an_edit_changes_what_is_found_and_a_delete_removes_it(sys: &mut TestSystem) {
    let s = TestSearch::start(sys).await;
    let now = sys.clock.now();
    let ch = s.channel(sys, 1003, Some("city_life"), "Город").await;
    let anna = s.follow(sys, 13, ch).await;
    s.publish(&PostMessage::Publish { post: s.post(ch, 1, "Открылась новая станция метро «Рижская».", 2, now) }).await;
    s.publish(&PostMessage::Publish { post: s.post(ch, 2, "В парке Горького прошёл фестиваль уличной еды.", 2, now) }).await;
    s.index_all().await;
    assert_eq!(s.found(sys, anna, "станция метро").await[0], 1);

    let mut edited = s.post(ch, 1, "Концерт симфонического оркестра перенесли на субботу.", 2, now);
    edited.edited_at = Some(now);
    s.publish(&PostMessage::Publish { post: edited }).await;
    s.index_all().await;
    let found = s.ask(sys, anna, "когда концерт оркестра?").await;
    assert_eq!(found.posts[0].post.key.message_id, 1);
    assert!(found.posts[0].post.text.contains("оркестра"), "the stored post is the new version");
    let metro = s.ask(sys, anna, "станция метро Рижская").await;
    assert!(metro.posts.iter().all(|p| !p.snippet.contains("метро")), "the old text is not found any more");

    s.publish(&PostMessage::Delete { key: found.posts[0].post.key }).await;
    s.publish(&PostMessage::Delete { key: found.posts[0].post.key }).await;
    s.index_all().await;
    assert!(!s.found(sys, anna, "концерт оркестра").await.contains(&1));
    assert!(sys.repo.get_post(found.posts[0].post.key).await.unwrap().is_none());
    assert_eq!(sys.repo.channel_stats(ch).await.unwrap().post_count, 1, "deleted twice, counted once");
}

/// Queues reorder and redeliver, and a restarted session replays updates: an edit that overtakes
/// its original is not undone by it, and a deleted post's late copy does not bring it back.
pub async fn versions_arriving_out_of_order_end_on_telegrams_latest(sys: &mut TestSystem) {
    let s = TestSearch::start(sys).await;
    let now = sys.clock.now();
    let ch = s.channel(sys, 1006, Some("late_news"), "Поздние новости").await;
    let anna = s.follow(sys, 16, ch).await;
    let original = s.post(ch, 1, "Открылась новая станция метро «Рижская».", 2, now);
    let mut edited = s.post(ch, 1, "Концерт симфонического оркестра перенесли на субботу.", 2, now);
    edited.edited_at = Some(now);
    s.publish(&PostMessage::Publish { post: edited.clone() }).await;
    s.publish(&PostMessage::Publish { post: original.clone() }).await;
    s.index_all().await;
    let stored = sys.repo.get_post(edited.key).await.unwrap().expect("stored");
    assert_eq!(stored.text, edited.text, "the older version arriving later changes nothing");
    assert!(stored.indexed);
    assert_eq!(s.found(sys, anna, "концерт оркестра").await, [1]);
    // The only post is always found by meaning; what matters is which text the index holds.
    let metro = s.ask(sys, anna, "станция метро Рижская").await;
    assert!(metro.posts.iter().all(|p| !p.snippet.contains("метро")), "the old text is not in the index");

    s.publish(&PostMessage::Delete { key: edited.key }).await;
    s.publish(&PostMessage::Publish { post: edited.clone() }).await;
    s.publish(&PostMessage::Publish { post: original }).await;
    s.index_all().await;
    assert!(sys.repo.get_post(edited.key).await.unwrap().is_none(), "a deleted post stays deleted");
    assert!(!s.found(sys, anna, "концерт оркестра").await.contains(&1));
    assert_eq!(sys.repo.channel_stats(ch).await.unwrap().post_count, 0);
    // A post deleted before its first copy arrived is never stored either.
    s.publish(&PostMessage::Delete { key: s.post(ch, 2, "x", 0, now).key }).await;
    s.publish(&PostMessage::Publish { post: s.post(ch, 2, "Выпал первый снег.", 0, now) }).await;
    s.index_all().await;
    assert!(sys.repo.get_post(s.post(ch, 2, "x", 0, now).key).await.unwrap().is_none());
    assert!(!s.found(sys, anna, "первый снег").await.contains(&2));
}

pub async fn nobody_sees_posts_of_channels_they_do_not_follow(sys: &mut TestSystem) {
    let s = TestSearch::start(sys).await;
    let now = sys.clock.now();
    let secret = s.channel(sys, 1004, None, "Закрытый клуб").await;
    let public = s.channel(sys, 1005, Some("open_news"), "Открытые новости").await;
    let boris = s.follow(sys, 14, secret).await;
    let anna = s.follow(sys, 15, public).await;
    s.publish(&PostMessage::Publish { post: s.post(secret, 1, "Пароль от сейфа клуба сменили на новый.", 0, now) }).await;
    s.publish(&PostMessage::Publish { post: s.post(public, 1, "Погода в выходные будет солнечной.", 0, now) }).await;
    s.index_all().await;
    let boris_sees = s.ask(sys, boris, "пароль от сейфа").await;
    assert_eq!(boris_sees.posts[0].post.link, "https://t.me/c/1004/1", "private posts link by channel id");
    let anna_sees = s.ask(sys, anna, "пароль от сейфа клуба").await;
    assert!(anna_sees.posts.iter().all(|p| p.post.key.channel_id == public), "{:?}", anna_sees.posts);
    let stranger = s.follow(sys, 16, public).await;
    s.retriever.repo.unsubscribe(stranger, public).await.unwrap();
    assert!(s.ask(sys, stranger, "погода").await.posts.is_empty(), "no channels, no results");
}

pub async fn a_time_phrase_filters_before_ranking(sys: &mut TestSystem) {
    let s = TestSearch::start(sys).await;
    let now = sys.clock.now();
    let ch = s.channel(sys, 1006, Some("econ_feed"), "Экономика").await;
    let anna = s.follow(sys, 17, ch).await;
    // The best match is old; the recent one is weaker but inside the window.
    s.publish(&PostMessage::Publish { post: s.post(ch, 1, "Курс доллара резко вырос после решения ЦБ по ключевой ставке.", 10, now) }).await;
    s.publish(&PostMessage::Publish { post: s.post(ch, 2, "Рубль немного ослаб к доллару на торгах.", 1, now) }).await;
    s.publish(&PostMessage::Publish { post: s.post(ch, 3, "Выпал первый снег.", 2, now) }).await;
    s.index_all().await;
    assert!(s.found(sys, anna, "курс доллара").await.contains(&1), "without a time phrase the old post is found");
    let recent = s.ask(sys, anna, "что с курсом доллара за последние три дня?").await;
    assert!(recent.window.is_some());
    let ids: Vec<i64> = recent.posts.iter().map(|p| p.post.key.message_id).collect();
    assert_eq!(ids[0], 2, "{ids:?}");
    assert!(!ids.contains(&1), "the ten-day-old post is outside the window: {ids:?}");
    let yesterday = s.found(sys, anna, "что писали вчера?").await;
    assert_eq!(yesterday, [2]);
}

pub async fn yesterday_is_the_askers_yesterday_in_their_time_zone(sys: &mut TestSystem) {
    use siftgram_core::Timestamp;
    use siftgram_core::model::{MediaKind, Post, PostKey};
    let s = TestSearch::start(sys).await;
    let hour = 3600;
    let moscow = |day: u32, h: i64, m: i64| Timestamp(Timestamp::from_utc_date(2026, 11, day).0 + (h - 3) * hour + m * 60);
    // Sunday 00:30 in Moscow, still Saturday evening in UTC.
    sys.clock.set(moscow(22, 0, 30));
    let ch = s.channel(sys, 1008, Some("night_desk"), "Ночная редакция").await;
    let anna = s.follow(sys, 19, ch).await; // Moscow, as every user until they choose a zone
    let boris = s.follow(sys, 20, ch).await;
    let mut settings = sys.repo.digest_settings(boris).await.unwrap();
    settings.timezone = "Asia/Vladivostok".into();
    sys.repo.save_digest_settings(&settings).await.unwrap();
    let posts = [(1, moscow(21, 22, 0)), (2, moscow(22, 0, 10)), (3, moscow(20, 23, 0))];
    for (id, at) in posts {
        let post = Post::new(PostKey::new(ch, id).unwrap(), None, &format!("Сводка ночных новостей номер {id}."), at, MediaKind::None).unwrap();
        s.publish(&PostMessage::Publish { post }).await;
    }
    s.index_all().await;
    // Saturday 22:00 is Anna's yesterday; in UTC it would be today, and Friday 23:00 yesterday.
    assert_eq!(s.found(sys, anna, "что писали вчера?").await, [1]);
    assert_eq!(s.found(sys, anna, "новости сегодня").await, [2]);
    // In Vladivostok it is Sunday 07:30: yesterday ran from Friday 17:00 to Saturday 17:00 Moscow time.
    assert_eq!(s.found(sys, boris, "что писали вчера?").await, [3]);
    let mut today = s.found(sys, boris, "новости сегодня").await;
    today.sort();
    assert_eq!(today, [1, 2]);
}

pub async fn a_months_figures_reported_in_the_next_half_month_are_found(sys: &mut TestSystem) {
    use siftgram_core::Timestamp;
    use siftgram_core::model::{MediaKind, Post, PostKey};
    let s = TestSearch::start(sys).await;
    let noon = |month: u32, day: u32| Timestamp(Timestamp::from_utc_date(2026, month, day).0 + 9 * 3600);
    sys.clock.set(noon(11, 25));
    let ch = s.channel(sys, 1009, Some("stat_feed"), "Статистика").await;
    let anna = s.follow(sys, 21, ch).await;
    let posts = [
        (1, noon(11, 12), "Росстат: инфляция в октябре составила 0,7%."),
        (2, noon(10, 20), "Цены на овощи в октябре снижались третью неделю."),
        (3, noon(9, 18), "Инфляция в сентябре замедлилась до 0,3%."),
        (4, noon(11, 22), "Инфляция за три недели ноября составила 0,4%."),
    ];
    for (id, at, text) in posts {
        s.publish(&PostMessage::Publish { post: Post::new(PostKey::new(ch, id).unwrap(), None, text, at, MediaKind::None).unwrap() }).await;
    }
    s.index_all().await;
    let october = s.ask(sys, anna, "какая была инфляция в октябре?").await;
    let window = october.window.expect("a month is a window");
    assert_eq!((window.since, window.until), (Timestamp(Timestamp::from_utc_date(2026, 10, 1).0 - 3 * 3600), Some(Timestamp(Timestamp::from_utc_date(2026, 11, 1).0 - 3 * 3600))), "October on Anna's (Moscow) calendar is what she is told was searched");
    let mut ids: Vec<i64> = october.posts.iter().map(|p| p.post.key.message_id).collect();
    assert_eq!(ids[0], 1, "the figures lead: a report clearly on the question outranks the month's other posts");
    ids.sort();
    assert_eq!(ids, [1, 2], "October's posts and its figures published in mid-November, not September's nor late November's");
}

pub async fn retention_removes_old_posts_from_the_store_and_the_index(sys: &mut TestSystem) {
    let s = TestSearch::start(sys).await;
    let now = sys.clock.now();
    let ch = s.channel(sys, 1007, Some("short_memory"), "Короткая память").await;
    let anna = s.follow(sys, 18, ch).await;
    for (id, days) in [(1, 40), (2, 35), (3, 5)] {
        s.publish(&PostMessage::Publish { post: s.post(ch, id, &format!("Новости о погоде номер {id}: дожди и ветер."), days, now) }).await;
    }
    s.index_all().await;
    let mut channel = sys.repo.get_channel(ch).await.unwrap().unwrap();
    channel.retention_days = Some(30);
    sys.repo.save_channel(&channel).await.unwrap();
    assert_eq!(apply_retention(&sys.repo, &s.index, now).await.unwrap(), 2);
    assert_eq!(apply_retention(&sys.repo, &s.index, now).await.unwrap(), 0, "running again finds nothing");
    assert_eq!(s.indexed_chunks().await, 1, "nothing orphaned in the index");
    assert_eq!(s.found(sys, anna, "погода дожди ветер").await, [3]);
    assert!(sys.repo.get_post(siftgram_core::model::PostKey::new(ch, 1).unwrap()).await.unwrap().is_none());
    assert_eq!(sys.repo.channel_stats(ch).await.unwrap().post_count, 1);
}

pub async fn a_tagging_model_tags_posts_and_its_garbage_falls_back_to_keywords(sys: &mut TestSystem) {
    let mut s = TestSearch::start(sys).await;
    let fake = siftgram_fake_openai::FakeOpenAi::start(8).await.unwrap();
    let endpoint = siftgram_models::OpenAiEndpoint {
        base_url: fake.url().to_owned(),
        api_key: Some(siftgram_fake_openai::API_KEY.into()),
        model: "gpt-4o-mini".into(),
        timeout: std::time::Duration::from_secs(5),
    };
    s.indexer.tagger = Some(std::sync::Arc::new(siftgram_models::OpenAiTagger::new(endpoint)));
    let now = sys.clock.now();
    let ch = s.channel(sys, 1008, Some("tagged_news"), "Теги").await;
    fake.answer_next(r#"["экономика", "ключевая ставка", "цб"]"#);
    s.publish(&PostMessage::Publish { post: s.post(ch, 1, "ЦБ повысил ключевую ставку.", 0, now) }).await;
    // One at a time: the fake model answers in order, and a batch's posts are tagged side by side.
    s.index_all().await;
    fake.answer_next("не знаю");
    fake.answer_next("тоже не знаю");
    s.publish(&PostMessage::Publish { post: s.post(ch, 2, "Выборы в Молдове: выборы прошли спокойно.", 0, now) }).await;
    s.index_all().await;
    let key = |m| siftgram_core::model::PostKey::new(ch, m).unwrap();
    assert_eq!(sys.repo.get_post(key(1)).await.unwrap().unwrap().tags, ["экономика", "ключевая ставка", "цб"]);
    let fallback = sys.repo.get_post(key(2)).await.unwrap().unwrap().tags;
    assert_eq!(fallback.first().map(String::as_str), Some("выборы"), "keyword tags when the model talks nonsense: {fallback:?}");
}
