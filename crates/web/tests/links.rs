//! The link reader against a fake site: an article's readable text is read (navigation left
//! out), robots.txt is obeyed, and nothing that is not a public address is ever connected to —
//! literal or resolved, first hop or redirect — with content types, size and hops bounded.

use siftgram_core::ports::{LinkError, LinkReader};
use siftgram_fake_web::FakeSite;
use siftgram_web::{LinkFetcher, LinkFetcherSettings};

const ARTICLE: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>Ставка ЦБ — Новости</title></head>
<body><nav><a href="/">Главная</a> <a href="/sport">Спорт</a> <a href="/weather">Погода</a></nav>
<article><h1>Банк России повысил ключевую ставку до 21%</h1>
<p>Совет директоров Банка России повысил ключевую ставку на 200 базисных пунктов, до 21% годовых. Регулятор объяснил решение
ускорением инфляции и ростом кредитования, которые опережают прогнозы, сделанные летом.</p>
<p>Следующее заседание по ставке запланировано на декабрь. Аналитики ожидают, что ставка останется высокой до конца
следующего года, а ипотека без господдержки продолжит дорожать.</p></article>
<footer>© Новости, все права защищены. Подписывайтесь на рассылку.</footer></body></html>"#;

/// A fetcher that sends `news.example` to the fake site (and nothing else anywhere special).
fn fetcher(site: &FakeSite, settings: LinkFetcherSettings) -> LinkFetcher {
    LinkFetcher::new(LinkFetcherSettings { pinned_hosts: vec![("news.example".into(), site.addr())], ..settings })
}

#[tokio::test]
async fn an_article_is_read_without_its_navigation_and_robots_txt_is_obeyed() {
    let site = FakeSite::start().await.unwrap();
    site.robots("User-agent: *\nDisallow: /private\n\nUser-agent: SiftgramBot\nDisallow: /members\n");
    site.page("/economy/rate?utm=tg", "text/html; charset=utf-8", ARTICLE);
    site.page("/members/only", "text/html", ARTICLE);
    site.page("/private/x", "text/html", ARTICLE);
    site.redirect("/short/1", "/economy/rate?utm=tg");
    let reader = fetcher(&site, LinkFetcherSettings::default());
    let port = site.port();

    let page = reader.read(&format!("http://news.example:{port}/short/1")).await.unwrap();
    assert_eq!(page.url, format!("http://news.example:{port}/economy/rate?utm=tg"), "the address after the redirect");
    assert!(page.title.contains("ключевую ставку") || page.title.contains("Ставка ЦБ"), "{page:?}");
    assert!(page.text.contains("до 21% годовых"), "{page:?}");
    assert!(page.text.contains("заседание по ставке запланировано на декабрь"), "{page:?}");
    assert!(!page.text.contains("Погода") && !page.text.contains("рассылку"), "navigation and footer are left out: {page:?}");

    let refused = reader.read(&format!("http://news.example:{port}/members/only")).await;
    assert!(matches!(&refused, Err(LinkError::Refused(why)) if why.contains("robots.txt")), "{refused:?}");
    // Our own group replaces the `*` group, so /private is allowed for us.
    assert!(reader.read(&format!("http://news.example:{port}/private/x")).await.is_ok());
    let asked = site.requested();
    assert!(!asked.iter().any(|p| p.starts_with("/members")), "{asked:?}");
    assert_eq!(asked.iter().filter(|p| *p == "/robots.txt").count(), 1, "robots.txt is read once per site: {asked:?}");
}

#[tokio::test]
async fn private_loopback_and_metadata_addresses_are_never_connected_to() {
    let site = FakeSite::start().await.unwrap();
    site.page("/secret", "text/plain", "the admin password is hunter2");
    let port = site.port();
    // A public page that redirects inward.
    site.redirect("/innocent", &format!("http://127.0.0.1:{port}/secret"));
    let reader = fetcher(&site, LinkFetcherSettings::default());
    for address in [
        format!("http://127.0.0.1:{port}/secret"),
        format!("http://localhost:{port}/secret"),
        format!("http://[::1]:{port}/secret"),
        format!("http://[::ffff:127.0.0.1]:{port}/secret"),
        format!("http://2130706433:{port}/secret"),
        format!("http://0x7f.1:{port}/secret"),
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://192.168.0.1/admin".to_owned(),
        format!("http://news.example:{port}/innocent"),
        format!("ftp://news.example:{port}/secret"),
        format!("http://user:pw@news.example:{port}/secret"),
        "file:///etc/passwd".to_owned(),
    ] {
        let read = reader.read(&address).await;
        assert!(matches!(&read, Err(LinkError::Refused(why)) if !why.contains("robots")), "{address}: {read:?}");
    }
    assert!(!site.requested().iter().any(|p| p == "/secret"), "{:?}", site.requested());

    // A site whose robots.txt fails (5xx) is not read at all.
    site.respond("/robots.txt", 503, "text/plain", "busy");
    site.page("/article", "text/html", ARTICLE);
    let fresh = fetcher(&site, LinkFetcherSettings::default());
    let read = fresh.read(&format!("http://news.example:{port}/article")).await;
    assert!(matches!(&read, Err(LinkError::Refused(why)) if why.contains("robots.txt")), "{read:?}");
    assert!(!site.requested().iter().any(|p| p == "/article"));
}

#[tokio::test]
async fn content_types_size_status_and_redirect_loops_are_bounded() {
    let site = FakeSite::start().await.unwrap();
    site.page("/image.png", "image/png", vec![0x89, b'P', b'N', b'G']);
    site.respond("/gone", 410, "text/html", "gone");
    site.redirect("/loop/a", "/loop/b");
    site.redirect("/loop/b", "/loop/a");
    let mut huge = "Первая строка большого файла.\n".repeat(20_000);
    huge.push_str("КОНЕЦ ФАЙЛА");
    site.page("/big.txt", "text/plain; charset=utf-8", huge);
    let reader = fetcher(&site, LinkFetcherSettings { max_bytes: 64 * 1024, ..LinkFetcherSettings::default() });
    let port = site.port();
    let at = |path: &str| format!("http://news.example:{port}{path}");

    assert!(matches!(reader.read(&at("/image.png")).await, Err(LinkError::Unreadable(why)) if why.contains("image/png")));
    assert!(matches!(reader.read(&at("/gone")).await, Err(LinkError::Unreadable(why)) if why.contains("410")));
    assert!(matches!(reader.read(&at("/loop/a")).await, Err(LinkError::Unreadable(why)) if why.contains("redirects")));
    assert_eq!(site.requested().iter().filter(|p| p.starts_with("/loop/")).count(), 4, "the first request and three redirects");
    let big = reader.read(&at("/big.txt")).await.unwrap();
    assert!(big.text.starts_with("Первая строка большого файла."));
    assert!(!big.text.contains("КОНЕЦ ФАЙЛА"), "only the first 64 KiB are read");
    assert!(big.text.chars().count() <= siftgram_core::model::MAX_LINK_TEXT_CHARS);
}
