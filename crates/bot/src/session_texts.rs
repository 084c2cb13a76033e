//! What the session node tells users (through the bot), in Russian and English.

use crate::texts::Texts;
use siftgram_core::model::Language;
use teloxide::utils::html::escape;

impl Texts {
    fn ru_or_en(self, ru: String, en: String) -> String {
        match self.0 {
            Language::Ru => ru,
            Language::En => en,
        }
    }
    pub fn signed_in(self) -> String {
        self.ru_or_en("✅ Вход выполнен. Добавьте каналы: <code>/add_channel @канал</code>".into(), "✅ Signed in. Add channels: <code>/add_channel @channel</code>".into())
    }
    pub fn login_refused(self, reason: &str) -> String {
        self.ru_or_en(format!("❌ Вход не выполнен: {}", escape(reason)), format!("❌ Sign-in failed: {}", escape(reason)))
    }
    pub fn login_blocked(self) -> String {
        self.ru_or_en("⛔ Слишком много неверных паролей. Попробуйте через 15 минут.".into(), "⛔ Too many wrong passwords. Try again in 15 minutes.".into())
    }
    pub fn channel_added(self, title: &str) -> String {
        self.ru_or_en(
            format!("✅ Канал «{}» добавлен. Загружаю историю — посты появятся в ответах по мере загрузки.", escape(title)),
            format!("✅ Added “{}”. Loading its history — posts show up in answers as they arrive.", escape(title)),
        )
    }
    pub fn channel_not_found(self, username: &str) -> String {
        self.ru_or_en(format!("🤷 Канал @{} не найден.", escape(username)), format!("🤷 No channel @{} was found.", escape(username)))
    }
    pub fn channel_private(self, username: &str) -> String {
        self.ru_or_en(
            format!("🔒 Канал @{} закрыт: вступите в него со своего аккаунта и попробуйте снова.", escape(username)),
            format!("🔒 @{} is private: join it from your account and try again.", escape(username)),
        )
    }
    pub fn sign_in_first(self) -> String {
        self.ru_or_en("Сначала войдите: <code>/login КОД</code>".into(), "Sign in first: <code>/login CODE</code>".into())
    }
    pub fn signed_out_by_telegram(self) -> String {
        self.ru_or_en(
            "⚠️ Telegram завершил сеанс Siftgram (например, из настроек устройств). Войдите снова: <code>/login КОД</code>".into(),
            "⚠️ Telegram ended Siftgram's session (e.g. from device settings). Sign in again: <code>/login CODE</code>".into(),
        )
    }
}
