//! What the session node tells users (through the bot), in Russian and English.

use crate::texts::{Texts, pick};
use teloxide::utils::html::escape;

impl Texts {
    pub fn signed_in(self) -> String {
        pick(self.0, "✅ Вход выполнен. Добавьте каналы: <code>/add_channel @канал</code>", "✅ Signed in. Add channels: <code>/add_channel @channel</code>")
    }
    pub fn login_refused(self, reason: &str) -> String {
        pick(self.0, &format!("❌ Вход не выполнен: {}", escape(reason)), &format!("❌ Sign-in failed: {}", escape(reason)))
    }
    pub fn login_blocked(self) -> String {
        pick(self.0, "⛔ Слишком много неверных паролей. Попробуйте через 15 минут.", "⛔ Too many wrong passwords. Try again in 15 minutes.")
    }
    /// `kept`: the channel's allowance, of its history and of new posts a day.
    pub fn channel_added(self, title: &str, kept: u32) -> String {
        pick(
            self.0,
            &format!("✅ Канал «{}» добавлен. Загружаю последние {kept} постов истории — они появятся в ответах по мере загрузки; новых постов сохраняется до {kept} в день.", escape(title)),
            &format!("✅ Added “{}”. Loading its newest {kept} posts — they show up in answers as they arrive; up to {kept} new posts a day are kept.", escape(title)),
        )
    }
    /// A new channel's history while it loads; `share` in percent.
    pub fn history_progress(self, stored: u64, share: u64) -> String {
        pick(self.0, &format!("⏳ Загружено постов: {stored} (≈{share}%)…"), &format!("⏳ Posts loaded: {stored} (≈{share}%)…"))
    }
    pub fn history_stored(self, stored: u64) -> String {
        pick(
            self.0,
            &format!("📚 История загружена, постов: {stored}. Спрашивайте: <code>/ask что нового?</code>"),
            &format!("📚 History loaded: {stored} posts. Ask away: <code>/ask what is new?</code>"),
        )
    }
    pub fn channel_not_found(self, username: &str) -> String {
        pick(self.0, &format!("🤷 Канал @{} не найден.", escape(username)), &format!("🤷 No channel @{} was found.", escape(username)))
    }
    pub fn channel_private(self, username: &str) -> String {
        pick(self.0, &format!("🔒 Канал @{} закрыт: вступите в него со своего аккаунта и попробуйте снова.", escape(username)), &format!("🔒 @{} is private: join it from your account and try again.", escape(username)),
        )
    }
    pub fn channel_checked(self, title: &str, new_posts: usize) -> String {
        pick(self.0, &format!("🔄 Канал «{}» проверен, новых постов: {new_posts}.", escape(title)), &format!("🔄 Checked “{}”: {new_posts} new posts.", escape(title)))
    }
    pub fn channel_synced_elsewhere(self, title: &str) -> String {
        pick(self.0, &format!("🔄 Канал «{}» уже синхронизируется: новые посты появляются по мере публикации.", escape(title)), &format!("🔄 “{}” is being synced: new posts arrive as they are published.", escape(title)))
    }
    pub fn sign_in_first(self) -> String {
        pick(self.0, "Сначала войдите: <code>/login КОД</code>", "Sign in first: <code>/login CODE</code>")
    }
    pub fn signed_out_by_telegram(self) -> String {
        pick(self.0, "⚠️ Telegram завершил сеанс Siftgram (например, из настроек устройств). Войдите снова: /login", "⚠️ Telegram ended Siftgram's session (e.g. from device settings). Sign in again: /login")
    }
}

#[cfg(test)]
mod properties {
    use crate::texts::Texts;
    use proptest::prelude::*;
    use siftgram_core::model::Language;
    use siftgram_fake_telegram::html::visible_text;

    /// Names and reasons from Telegram or from users: markup characters, entities, emoji.
    fn outside_text() -> impl Strategy<Value = String> {
        prop_oneof!["\\PC{1,60}", "[<>&\"' a-zа-я🚀]{1,40}", Just("<b>bold</b> &amp; <a href=\"x\">".to_owned())]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        /// Every text that carries a name or reason from outside parses as Telegram HTML and
        /// shows that name verbatim, in both languages.
        #[test]
        fn outside_text_is_shown_verbatim_and_never_breaks_the_markup(name in outside_text(), english in any::<bool>(), posts in 0u64..100_000) {
            let t = Texts(if english { Language::En } else { Language::Ru });
            let sent = [
                t.bad_channel(&name),
                t.already_following(&name),
                t.resolving_channel(&name),
                t.channel_line(&name, Some(&name), posts, None),
                t.channel_line(&name, None, posts, None),
                t.confirm_remove(&name),
                t.removed(&name),
                t.login_refused(&name),
                t.channel_added(&name, posts as u32),
                t.channel_not_found(&name),
                t.channel_private(&name),
                t.channel_checked(&name, posts as usize),
                t.channel_synced_elsewhere(&name),
            ];
            for text in sent {
                let shown = visible_text(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text:?}")))?;
                prop_assert!(shown.contains(&name), "{name:?} not shown verbatim in {shown:?}");
            }
        }
    }
}
