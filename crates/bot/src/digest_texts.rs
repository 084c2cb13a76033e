//! What the digest settings panel says, in Russian and English.

use crate::texts::Texts;
use siftgram_core::model::{DigestFrequency, DigestSettings, DigestStyle, Language};
use teloxide::utils::html::escape;

const WEEKDAYS_RU: [&str; 7] = ["пн", "вт", "ср", "чт", "пт", "сб", "вс"];
const WEEKDAYS_EN: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

impl Texts {
    fn is_ru(self) -> bool {
        self.0 == Language::Ru
    }

    pub fn digest_panel(self, s: &DigestSettings, channel_titles: &[String], more_channels: usize) -> String {
        let ru = self.is_ru();
        let time = format!("{:02}:{:02}", s.minute_of_day / 60, s.minute_of_day % 60);
        let names = if ru { WEEKDAYS_RU } else { WEEKDAYS_EN };
        let days: Vec<&str> = s.weekdays.iter().filter_map(|d| names.get(usize::from(*d).wrapping_sub(1)).copied()).collect();
        let when = match (s.frequency, ru) {
            (DigestFrequency::Daily, true) => format!("ежедневно в {time}"),
            (DigestFrequency::Daily, false) => format!("daily at {time}"),
            (DigestFrequency::Weekly, true) => format!("еженедельно ({}) в {time}", days.join(", ")),
            (DigestFrequency::Weekly, false) => format!("weekly ({}) at {time}", days.join(", ")),
        };
        let all = if ru { "все" } else { "all" };
        let mut channels = if channel_titles.is_empty() { all.to_owned() } else { escape(&channel_titles.join(", ")) };
        if more_channels > 0 {
            channels.push_str(&if ru { format!(" и ещё {more_channels}") } else { format!(" and {more_channels} more") });
        }
        let tags = if s.tags.is_empty() { all.to_owned() } else { escape(&s.tags.join(", ")) };
        let style = match (s.style, ru) {
            (DigestStyle::Brief, true) => "кратко",
            (DigestStyle::Detailed, true) => "подробно",
            (DigestStyle::Brief, false) => "brief",
            (DigestStyle::Detailed, false) => "detailed",
        };
        let yes_no = |b: bool| match (b, ru) {
            (true, true) => "да",
            (false, true) => "нет",
            (true, false) => "yes",
            (false, false) => "no",
        };
        let next = s.next_due.map(|t| t.to_string()).unwrap_or_else(|| "—".into());
        if ru {
            format!(
                "📰 <b>Дайджест</b>: {}\nКогда: {when} ({tz})\nКаналы: {channels}\nТеги: {tags}\nПостов: до {max} · ИИ-сводка: {ai} · Стиль: {style}\nСледующий: {next}\n\n<i>Текстом: /digest time 09:30 · tz Europe/Moscow · days 1,3,5 · max 10 · tags тег1, тег2 · channels @a @b · style brief|detailed · now</i>",
                if s.enabled { "включён" } else { "выключен" },
                tz = escape(&s.timezone),
                max = s.max_posts,
                ai = yes_no(s.ai_summary),
            )
        } else {
            format!(
                "📰 <b>Digest</b>: {}\nWhen: {when} ({tz})\nChannels: {channels}\nTags: {tags}\nPosts: up to {max} · AI summary: {ai} · Style: {style}\nNext: {next}\n\n<i>As text: /digest time 09:30 · tz Europe/Moscow · days 1,3,5 · max 10 · tags tag1, tag2 · channels @a @b · style brief|detailed · now</i>",
                if s.enabled { "on" } else { "off" },
                tz = escape(&s.timezone),
                max = s.max_posts,
                ai = yes_no(s.ai_summary),
            )
        }
    }

    pub fn digest_button_toggle(self, enabled: bool) -> String {
        match (enabled, self.is_ru()) {
            (true, true) => "⏸ Выключить",
            (false, true) => "▶️ Включить",
            (true, false) => "⏸ Turn off",
            (false, false) => "▶️ Turn on",
        }
        .into()
    }
    pub fn digest_button_frequency(self, frequency: DigestFrequency) -> String {
        match (frequency, self.is_ru()) {
            (DigestFrequency::Daily, true) => "📅 Сделать еженедельным",
            (DigestFrequency::Weekly, true) => "📅 Сделать ежедневным",
            (DigestFrequency::Daily, false) => "📅 Make it weekly",
            (DigestFrequency::Weekly, false) => "📅 Make it daily",
        }
        .into()
    }
    pub fn digest_button_ai(self, on: bool) -> String {
        match (on, self.is_ru()) {
            (true, true) => "🤖 ИИ-сводка: выкл",
            (false, true) => "🤖 ИИ-сводка: вкл",
            (true, false) => "🤖 AI summary: off",
            (false, false) => "🤖 AI summary: on",
        }
        .into()
    }
    pub fn digest_button_style(self) -> String {
        if self.is_ru() { "✍️ Стиль" } else { "✍️ Style" }.into()
    }
    pub fn digest_button_now(self) -> String {
        if self.is_ru() { "📨 Прислать сейчас" } else { "📨 Send one now" }.into()
    }
    pub fn digest_usage_error(self, why: &str) -> String {
        if self.is_ru() {
            format!("Не понял настройку: {}\nПример: <code>/digest time 09:30</code>, <code>/digest tz Europe/Moscow</code>, <code>/digest days 1,5</code>", escape(why))
        } else {
            format!("Could not read that setting: {}\nFor example: <code>/digest time 09:30</code>, <code>/digest tz Europe/Moscow</code>, <code>/digest days 1,5</code>", escape(why))
        }
    }
}
