//! What the worker says, in Russian and English. Values from posts, channels, models and the web
//! are HTML-escaped here (every message goes out in HTML parse mode).

use siftgram_bot::teloxide::utils::html::escape;
use siftgram_core::Timestamp;
use siftgram_core::answer::{Answer, AnswerKind, Citation};
use siftgram_core::digest::DigestContent;
use siftgram_core::discover::{Found, FoundSource, WebStatus};
use siftgram_core::model::Language;
use siftgram_core::retrieval::{RetrievedPost, TimeWindow};

#[derive(Clone, Copy, Debug)]
pub struct WorkerTexts(pub Language);

fn date(t: Timestamp) -> String {
    let (y, m, d, ..) = t.utc_parts();
    format!("{d:02}.{m:02}.{y}")
}

/// A link Telegram accepts: the URL parsed and written back (so a `"` or `<` in it is
/// percent-encoded), only http(s), and the attribute escaped besides. Anything else is shown
/// as plain text: one bad web result must not make Telegram refuse the whole reply.
fn link(url: &str, text: &str) -> String {
    match url::Url::parse(url.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
            format!("<a href=\"{}\">{}</a>", escape(u.as_str()).replace('"', "&quot;"), escape(text))
        }
        _ => escape(text),
    }
}

/// `text` escaped, cut (with an ellipsis) so the escaped form is at most `max` characters:
/// markup wrapped around it then fits one message and is never cut in half.
fn escape_capped(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let piece = escape(c.encode_utf8(&mut [0u8; 4]));
        let n = piece.chars().count();
        if used + n > max.saturating_sub(1) {
            out.push('…');
            return out;
        }
        out.push_str(&piece);
        used += n;
    }
    out
}

/// The longest a digest's AI overview may be shown (a part is at most 4,096 characters, and
/// the overview is one block in its own tags).
pub const MAX_OVERVIEW_CHARS: usize = 3_000;

impl WorkerTexts {
    fn pick(self, ru: &str, en: &str) -> String {
        match self.0 {
            Language::Ru => ru.to_owned(),
            Language::En => en.to_owned(),
        }
    }

    pub fn thinking(self) -> String {
        self.pick("⏳ Ищу в ваших каналах и пишу ответ…", "⏳ Searching your channels and writing the answer…")
    }

    pub fn failed(self) -> String {
        self.pick("😔 Не получилось ответить — попробуйте чуть позже.", "😔 That did not work — please try again a little later.")
    }

    fn sources(self, sources: &[Citation]) -> String {
        let mut out = format!("<b>{}</b>", self.pick("Источники", "Sources"));
        for c in sources {
            out.push_str(&format!("\n{}. {}, {}", c.number, link(&c.link, &c.channel_title), date(c.date)));
        }
        out
    }

    /// Nothing found: what was searched — the channels (the first few by name) and the time
    /// window the question named, in dates of the asker's zone (`utc_offset` seconds east of
    /// UTC) — so the user knows whether to add a channel or widen the window.
    pub fn nothing_found(self, channels: &[String], window: Option<TimeWindow>, utc_offset: i64) -> String {
        if channels.is_empty() {
            return self.pick(
                "🤷 У вас пока нет каналов, искать негде. Добавьте: <code>/add_channel @канал</code>",
                "🤷 You follow no channels yet, so there is nothing to search. Add one: <code>/add_channel @channel</code>",
            );
        }
        const NAMED: usize = 5;
        let mut names = channels.iter().take(NAMED).map(|c| escape(c)).collect::<Vec<_>>().join(", ");
        if channels.len() > NAMED {
            names.push_str(&match self.0 {
                Language::Ru => format!(" и ещё {}", channels.len() - NAMED),
                Language::En => format!(" and {} more", channels.len() - NAMED),
            });
        }
        let span = window.map(|w| {
            let date = |t: Timestamp| date(Timestamp(t.0 + utc_offset));
            let until = w.until.map(|u| date(Timestamp(u.0 - 1)));
            match (self.0, until) {
                (Language::Ru, Some(u)) if u == date(w.since) => format!(" за {u}"),
                (Language::En, Some(u)) if u == date(w.since) => format!(" on {u}"),
                (Language::Ru, Some(u)) => format!(" за {} – {u}", date(w.since)),
                (Language::Ru, None) => format!(" с {}", date(w.since)),
                (Language::En, Some(u)) => format!(" from {} to {u}", date(w.since)),
                (Language::En, None) => format!(" since {}", date(w.since)),
            }
        });
        let span = span.unwrap_or_default();
        match self.0 {
            Language::Ru => format!("🤷 Ничего об этом не нашлось{span}. Искал в каналах ({}): {names}.", channels.len()),
            Language::En => format!("🤷 I found nothing about that{span}. Searched {} channel{}: {names}.", channels.len(), if channels.len() == 1 { "" } else { "s" }),
        }
    }

    /// The answer as blocks: text, then the numbered sources.
    pub fn answer(self, answer: &Answer) -> Vec<String> {
        match answer.kind {
            AnswerKind::Nothing => vec![self.pick("🤷 В ваших каналах ничего об этом не нашлось.", "🤷 I found nothing about that in your channels.")],
            AnswerKind::Extractive => vec![
                self.pick("<i>Модель сейчас недоступна — вот что говорят посты:</i>", "<i>No model is available right now — here is what the posts say:</i>"),
                escape(&answer.text),
                self.sources(&answer.sources),
            ],
            AnswerKind::Model(_) => vec![escape(&answer.text), self.sources(&answer.sources)],
        }
    }

    pub fn search(self, query: &str, results: &[Found], web: WebStatus) -> Vec<String> {
        if results.is_empty() {
            return vec![self.pick("🤷 Ничего не нашлось.", "🤷 Nothing found.")];
        }
        let mut blocks = vec![format!("🔎 <b>{}</b>", escape(query))];
        for (i, f) in results.iter().enumerate() {
            let label = match &f.source {
                FoundSource::Post { channel_title, date: d, .. } => format!("📢 {} · {}", escape(channel_title), date(*d)),
                FoundSource::Web { site } => format!("🌐 {}", escape(site)),
            };
            let mut block = format!("{}. {}\n{label}", i + 1, link(&f.url, &f.title));
            if !f.snippet.is_empty() {
                block.push_str(&format!("\n{}", escape(&f.snippet)));
            }
            blocks.push(block);
        }
        match web {
            WebStatus::Included => {}
            WebStatus::NotConfigured => blocks.push(self.pick("<i>Веб-поиск не настроен — только посты.</i>", "<i>Web search is not set up — posts only.</i>")),
            WebStatus::Failed => blocks.push(self.pick("<i>Веб-поиск сейчас недоступен — только посты.</i>", "<i>Web search is unavailable right now — posts only.</i>")),
        }
        blocks
    }

    pub fn recommendations(self, posts: &[RetrievedPost]) -> Vec<String> {
        if posts.is_empty() {
            return vec![self.pick(
                "🤷 Пока нечего посоветовать: задайте пару вопросов через /ask или добавьте каналы.",
                "🤷 Nothing to suggest yet: ask a few questions with /ask or add channels.",
            )];
        }
        let mut blocks = vec![self.pick("✨ <b>Может быть интересно</b>", "✨ <b>You may like</b>")];
        for (i, p) in posts.iter().enumerate() {
            blocks.push(format!("{}. {} · {}\n{}", i + 1, link(&p.post.link, &p.channel_title), date(p.post.date), escape(&p.snippet)));
        }
        blocks
    }

    pub fn nothing_new(self) -> String {
        self.pick("📭 С прошлого дайджеста новых постов нет.", "📭 No new posts since your last digest.")
    }

    pub fn digest(self, content: &DigestContent, overview: Option<&str>) -> Vec<String> {
        let n = content.post_count();
        let mut blocks = vec![match self.0 {
            Language::Ru => format!("📰 <b>Дайджест</b> · {} — {} · постов: {n}", date(content.since), date(content.until)),
            Language::En => format!("📰 <b>Digest</b> · {} — {} · {n} posts", date(content.since), date(content.until)),
        }];
        if let Some(o) = overview {
            blocks.push(format!("<i>{}</i>", escape_capped(o, MAX_OVERVIEW_CHARS)));
        }
        for group in &content.groups {
            let topic = if group.topic.is_empty() { self.pick("Разное", "Other") } else { format!("#{}", group.topic) };
            // One block per topic; a topic longer than a message is cut between its lines.
            let mut block = format!("<b>{}</b>", escape(&topic));
            for item in &group.items {
                block.push_str(&format!("\n• {}: {}", link(&item.post.link, &item.channel_title), escape(&item.extract)));
            }
            blocks.push(block);
        }
        blocks
    }
}

#[cfg(test)]
mod nothing_found {
    use super::*;
    use siftgram_fake_telegram::html::visible_text;

    const DAY: i64 = 86_400;

    #[test]
    fn nothing_found_names_the_channels_and_the_window_searched() {
        let ru = WorkerTexts(Language::Ru);
        let en = WorkerTexts(Language::En);
        let two = ["Рынки".to_owned(), "<b>Погода</b> & Co".to_owned()];
        let day = TimeWindow { since: Timestamp(20_000 * DAY), until: Some(Timestamp(20_001 * DAY)) };
        let week = TimeWindow { since: Timestamp(20_000 * DAY), until: Some(Timestamp(20_007 * DAY)) };
        assert_eq!(visible_text(&ru.nothing_found(&two, Some(day), 0)).unwrap(), "🤷 Ничего об этом не нашлось за 04.10.2024. Искал в каналах (2): Рынки, <b>Погода</b> & Co.");
        assert_eq!(visible_text(&en.nothing_found(&two, Some(week), 0)).unwrap(), "🤷 I found nothing about that from 04.10.2024 to 10.10.2024. Searched 2 channels: Рынки, <b>Погода</b> & Co.");
        assert_eq!(visible_text(&en.nothing_found(&two[..1], None, 0)).unwrap(), "🤷 I found nothing about that. Searched 1 channel: Рынки.");
        let since = TimeWindow { since: Timestamp(20_000 * DAY), until: None };
        assert!(visible_text(&ru.nothing_found(&two, Some(since), 0)).unwrap().contains("нашлось с 04.10.2024."));
        let many: Vec<String> = (1..=8).map(|i| format!("Канал {i}")).collect();
        let shown = visible_text(&ru.nothing_found(&many, None, 0)).unwrap();
        assert!(shown.ends_with("Искал в каналах (8): Канал 1, Канал 2, Канал 3, Канал 4, Канал 5 и ещё 3."), "{shown}");
        assert!(visible_text(&en.nothing_found(&[], None, 0)).unwrap().contains("You follow no channels yet"));
        // A Moscow day runs 21:00–21:00 UTC: its dates are Moscow's.
        let moscow_day = TimeWindow { since: Timestamp(20_000 * DAY - 3 * 3600), until: Some(Timestamp(20_001 * DAY - 3 * 3600)) };
        assert!(visible_text(&ru.nothing_found(&two, Some(moscow_day), 3 * 3600)).unwrap().contains("нашлось за 04.10.2024."));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_or_bracket_in_a_url_cannot_end_the_attribute() {
        let a = link("https://example.com/a\"onclick=\"x<b>?q=\"1\"#\"", "Site \"<b>\"");
        let href = a.split("href=\"").nth(1).unwrap().split('"').next().unwrap();
        assert!(!href.contains('<') && !href.contains('>'), "{a}");
        assert!(a.ends_with(">Site \"&lt;b&gt;\"</a>"), "{a}");
        let tag = a.split('>').next().unwrap();
        assert_eq!(tag.matches('"').count(), 2, "only the attribute's own quotes: {a}");
        assert_eq!(link("javascript:alert(1)", "x"), "x", "only http(s) becomes a link");
        assert_eq!(link("not a url", "x&y"), "x&amp;y");
    }

    #[test]
    fn an_overview_is_capped_whole_entities_and_all() {
        let capped = escape_capped(&"&".repeat(5_000), MAX_OVERVIEW_CHARS);
        assert!(capped.chars().count() <= MAX_OVERVIEW_CHARS);
        assert!(capped.trim_end_matches('…').split("&amp;").all(str::is_empty), "no entity cut in half");
        assert_eq!(escape_capped("short <x>", 100), "short &lt;x&gt;");
    }
}
