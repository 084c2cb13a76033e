//! A post's links are read: what the linked page says is found and quoted as the post's, and a
//! link into our own network is never fetched — through the posts queue, the real indexer with
//! the SSRF-safe link reader (a fake site stands in for the web) and the retriever.

use crate::TestSystem;
use crate::search::TestSearch;
use siftgram_core::Clock;
use siftgram_core::answer::{AnswerKind, extractive_answer};
use siftgram_core::messages::PostMessage;
use siftgram_core::ports::LinkReader;
use siftgram_fake_web::FakeSite;
use siftgram_web::{LinkFetcher, LinkFetcherSettings};
use std::sync::Arc;

#[macro_export]
macro_rules! link_stories {
    ($make:path) => {
        $crate::suite!($make; $crate::stories::links;
            a_post_whose_link_holds_the_answer_is_found_and_cited,
            links_into_our_own_network_are_never_fetched_and_the_post_is_indexed_anyway,
        );
    };
}

const ARTICLE: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>Отчёт «Аэрофлота» за октябрь</title></head>
<body><nav><a href="/">Главная</a> <a href="/travel">Путешествия</a></nav>
<article><h1>«Аэрофлот» перевёз в октябре 4,7 млн пассажиров</h1>
<p>Группа «Аэрофлот» в октябре перевезла 4,7 миллиона пассажиров, что на 3,2% больше, чем годом ранее. Занятость кресел
составила 89,5%, сообщила авиакомпания в операционном отчёте.</p>
<p>На международных линиях пассажиропоток вырос на 11%, на внутренних — снизился на 1%. Компания сохранила прогноз на год.</p>
</article><footer>Подписывайтесь на наш канал</footer></body></html>"#;

/// The story's indexer reads links through the fake site, which answers for `news.example`.
fn link_reader(site: &FakeSite) -> Arc<dyn LinkReader> {
    Arc::new(LinkFetcher::new(LinkFetcherSettings { pinned_hosts: vec![("news.example".into(), site.addr())], ..LinkFetcherSettings::default() }))
}

pub async fn a_post_whose_link_holds_the_answer_is_found_and_cited(sys: &mut TestSystem) {
    let site = FakeSite::start().await.unwrap();
    site.page("/business/aeroflot-october", "text/html; charset=utf-8", ARTICLE);
    let mut s = TestSearch::start(sys).await;
    s.indexer.links = Some(link_reader(&site));
    let now = sys.clock.now();
    let ch = s.channel(sys, 1101, Some("biz_brief"), "Бизнес").await;
    let anna = s.follow(sys, 31, ch).await;
    let link = format!("http://news.example:{}/business/aeroflot-october", site.port());
    let posts = [
        (1, format!("Авиакомпания опубликовала операционные результаты за месяц: {link}")),
        (2, "Банки снова подняли ставки по вкладам до 20% годовых.".to_owned()),
        (3, "Нефть Brent подешевела после заявления ОПЕК+.".to_owned()),
    ];
    for (id, text) in &posts {
        s.publish(&PostMessage::Publish { post: s.post(ch, *id, text, 1, now) }).await;
    }
    assert_eq!(s.index_all().await, 3);
    let stored = sys.repo.get_post(s.post(ch, 1, "x", 1, now).key).await.unwrap().expect("stored");
    assert_eq!(stored.links.len(), 1, "the page is stored with the post");
    assert!(stored.links[0].text.contains("4,7 миллиона пассажиров"), "{:?}", stored.links);
    assert!(!stored.links[0].text.contains("Подписывайтесь"), "page chrome is left out");

    // Nothing in the post itself says how many passengers flew: only its link does.
    let question = "сколько пассажиров перевёз Аэрофлот?";
    let found = s.ask(sys, anna, question).await;
    assert_eq!(found.posts[0].post.key.message_id, 1, "{:?}", found.posts.iter().map(|p| &p.snippet).collect::<Vec<_>>());
    assert!(found.posts[0].snippet.contains("пассажир"), "the snippet quotes the page: {}", found.posts[0].snippet);
    let answer = extractive_answer(question, &found.posts, &*s.retriever.keywords, 2);
    assert_eq!(answer.kind, AnswerKind::Extractive);
    assert!(answer.text.contains("4,7 миллиона пассажиров"), "{}", answer.text);
    assert_eq!(answer.sources[0].key.message_id, 1, "the post is cited for what its link said");
    assert_eq!(answer.sources[0].link, "https://t.me/biz_brief/1");

    // A redelivery (or the same link in another post) does not fetch the page again.
    let fetched = site.requested().iter().filter(|p| p.starts_with("/business/")).count();
    s.publish(&PostMessage::Publish { post: s.post(ch, 4, &format!("Ещё раз о том же: {link}"), 0, now) }).await;
    s.index_all().await;
    assert_eq!(site.requested().iter().filter(|p| p.starts_with("/business/")).count(), fetched, "read once, from the cache since");
    let again = sys.repo.get_post(s.post(ch, 4, "x", 0, now).key).await.unwrap().unwrap();
    assert_eq!(again.links, stored.links);
}

pub async fn links_into_our_own_network_are_never_fetched_and_the_post_is_indexed_anyway(sys: &mut TestSystem) {
    let site = FakeSite::start().await.unwrap();
    site.page("/secret", "text/plain", "ключ доступа к базе данных: hunter2");
    let port = site.port();
    site.redirect("/go", &format!("http://127.0.0.1:{port}/secret"));
    let mut s = TestSearch::start(sys).await;
    s.indexer.links = Some(link_reader(&site));
    let now = sys.clock.now();
    let ch = s.channel(sys, 1102, Some("leaky"), "Утечки").await;
    let anna = s.follow(sys, 32, ch).await;
    let text = format!(
        "Полезные ссылки про базу данных: http://127.0.0.1:{port}/secret http://169.254.169.254/latest/meta-data/ http://news.example:{port}/go"
    );
    s.publish(&PostMessage::Publish { post: s.post(ch, 1, &text, 0, now) }).await;
    s.publish(&PostMessage::Publish { post: s.post(ch, 2, &format!("И ещё одна: http://localhost:{port}/secret"), 0, now) }).await;
    assert_eq!(s.index_all().await, 2);
    assert!(!site.requested().iter().any(|p| p == "/secret"), "{:?}", site.requested());
    for id in [1, 2] {
        let post = sys.repo.get_post(s.post(ch, id, "x", 0, now).key).await.unwrap().expect("stored");
        assert!(post.links.is_empty(), "{:?}", post.links);
        assert!(post.indexed);
    }
    let found = s.ask(sys, anna, "ключ доступа к базе данных").await;
    assert!(found.posts.iter().all(|p| !p.snippet.contains("hunter2")));
    assert_eq!(s.found(sys, anna, "полезные ссылки про базу данных").await[0], 1, "the post itself is searchable");
    assert_eq!(sys.repo.cached_link("http://169.254.169.254/latest/meta-data/").await.unwrap(), Some(None), "the refusal is remembered");
}
