//! Everything the bot says, in Russian (the default) and English. Values that come from users or
//! channels are HTML-escaped here, because every message is sent in HTML parse mode.

use siftgram_core::Timestamp;
use siftgram_core::model::{Language, Tier, TierLimits};
use teloxide::utils::html::escape;

pub(crate) fn pick(lang: Language, ru: &str, en: &str) -> String {
    match lang {
        Language::Ru => ru.to_owned(),
        Language::En => en.to_owned(),
    }
}

/// One text per situation; `Texts(lang).welcome()` and so on.
#[derive(Clone, Copy, Debug)]
pub struct Texts(pub Language);

impl Texts {
    fn ru_en(self, ru: &str, en: &str) -> String {
        pick(self.0, ru, en)
    }

    pub fn welcome_new(self) -> String {
        self.ru_en(
            "👋 Привет! Siftgram читает ваши Telegram-каналы и отвечает на вопросы по ним со ссылками на посты.\n\nДоступ — по приглашению: отправьте <code>/login КОД</code>.",
            "👋 Hi! Siftgram reads your Telegram channels and answers questions about them with links to the posts.\n\nAccess is by invitation: send <code>/login CODE</code>.",
        )
    }

    pub fn status(self, tier: Tier, expires: Option<Timestamp>, channels: u32, limits: &TierLimits, asked_today: u32) -> String {
        let until = match (expires, self.0) {
            (Some(at), Language::Ru) => format!(" (до {at})"),
            (Some(at), Language::En) => format!(" (until {at})"),
            (None, _) => String::new(),
        };
        match self.0 {
            Language::Ru => format!(
                "Тариф: <b>{tier}</b>{until}\nКаналы: {channels} из {}\nВопросов сегодня: {asked_today} из {}\n\n/help — что я умею",
                limits.max_channels, limits.rag_queries_per_day
            ),
            Language::En => format!(
                "Plan: <b>{tier}</b>{until}\nChannels: {channels} of {}\nQuestions today: {asked_today} of {}\n\n/help — what I can do",
                limits.max_channels, limits.rag_queries_per_day
            ),
        }
    }

    pub fn help(self, admin: bool) -> String {
        let mut text = self.ru_en(
            "<b>Команды</b>\n/login КОД — войти по приглашению\n/add_channel @канал — добавить канал\n/my_channels — мои каналы\n/remove_channel — убрать канал\n/ask вопрос — ответ по вашим каналам со ссылками\n/search запрос — поиск по постам и в вебе\n/recommend — что почитать\n/digest — дайджест\n/subscription — тариф и лимиты",
            "<b>Commands</b>\n/login CODE — sign in with an invite\n/add_channel @channel — add a channel\n/my_channels — my channels\n/remove_channel — remove a channel\n/ask question — an answer from your channels, with links\n/search query — search posts and the web\n/recommend — what to read\n/digest — a digest\n/subscription — plan and limits",
        );
        if admin {
            text += &self.ru_en(
                "\n\n<b>Админ</b>\n/admin — панель\n/admin_invite [тариф] [дней] [использований]\n/admin_users [стр.]\n/admin_user ID\n/admin_grant ID ТАРИФ ДНЕЙ\n/admin_stats",
                "\n\n<b>Admin</b>\n/admin — panel\n/admin_invite [tier] [days] [uses]\n/admin_users [page]\n/admin_user ID\n/admin_grant ID TIER DAYS\n/admin_stats",
            );
        }
        text
    }

    pub fn need_login(self) -> String {
        self.ru_en("Сначала войдите: <code>/login КОД</code> с кодом приглашения.", "Sign in first: <code>/login CODE</code> with your invite code.")
    }
    pub fn login_usage(self) -> String {
        self.ru_en("Отправьте код приглашения: <code>/login КОД</code>", "Send your invite code: <code>/login CODE</code>")
    }
    pub fn bad_invite_format(self) -> String {
        self.ru_en("Код приглашения — 12 латинских букв и цифр.", "An invite code is 12 letters and digits.")
    }
    pub fn invite_unknown(self) -> String {
        self.ru_en("Такого кода приглашения нет.", "There is no such invite code.")
    }
    pub fn invite_expired(self) -> String {
        self.ru_en("Срок действия этого кода истёк.", "This invite code has expired.")
    }
    pub fn invite_used_up(self) -> String {
        self.ru_en("Этот код уже использован.", "This invite code has been used up.")
    }
    pub fn already_signed_in(self) -> String {
        self.ru_en("Вы уже вошли. /help — что я умею.", "You are already signed in. /help — what I can do.")
    }
    pub fn account_blocked(self) -> String {
        self.ru_en("Доступ для этого аккаунта закрыт.", "This account is blocked.")
    }
    pub fn login_started(self) -> String {
        self.ru_en(
            "⏳ Готовлю вход. Откройте страницу входа и отсканируйте QR-код: Telegram → Настройки → Устройства → Подключить устройство.",
            "⏳ Preparing your sign-in. Open the sign-in page and scan the QR code: Telegram → Settings → Devices → Link Desktop Device.",
        )
    }
    pub fn login_button(self) -> String {
        self.ru_en("🔐 Войти по QR-коду", "🔐 Sign in with a QR code")
    }

    pub fn add_channel_usage(self) -> String {
        self.ru_en("Укажите канал: <code>/add_channel @канал</code> или ссылку t.me/…", "Name a channel: <code>/add_channel @channel</code> or a t.me/… link")
    }
    pub fn bad_channel(self, why: &str) -> String {
        match self.0 {
            Language::Ru => format!("Не похоже на канал: {}", escape(why)),
            Language::En => format!("That does not look like a channel: {}", escape(why)),
        }
    }
    pub fn channel_limit(self, tier: Tier, limit: u32) -> String {
        match self.0 {
            Language::Ru => format!("На тарифе <b>{tier}</b> можно следить не более чем за {limit} каналами. Уберите канал (/remove_channel) или смените тариф."),
            Language::En => format!("The <b>{tier}</b> plan allows up to {limit} channels. Remove one (/remove_channel) or upgrade."),
        }
    }
    pub fn already_following(self, name: &str) -> String {
        match self.0 {
            Language::Ru => format!("Вы уже следите за {}.", escape(name)),
            Language::En => format!("You already follow {}.", escape(name)),
        }
    }
    pub fn checking_for_posts(self) -> String {
        self.ru_en("⏳ Проверяю, нет ли новых постов…", "⏳ Checking for new posts…")
    }
    pub fn resolving_channel(self, username: &str) -> String {
        match self.0 {
            Language::Ru => format!("⏳ Ищу канал @{}…", escape(username)),
            Language::En => format!("⏳ Looking up @{}…", escape(username)),
        }
    }
    pub fn no_channels(self) -> String {
        self.ru_en("У вас пока нет каналов. Добавьте: <code>/add_channel @канал</code>", "You have no channels yet. Add one: <code>/add_channel @channel</code>")
    }
    pub fn channels_header(self, count: usize, limit: u32) -> String {
        match self.0 {
            Language::Ru => format!("<b>Ваши каналы</b> ({count} из {limit}):"),
            Language::En => format!("<b>Your channels</b> ({count} of {limit}):"),
        }
    }
    pub fn channel_line(self, title: &str, username: Option<&str>, posts: u64, synced: Option<Timestamp>) -> String {
        let name = match username {
            Some(u) => format!("{} (@{})", escape(title), escape(u)),
            None => format!("{} 🔒", escape(title)),
        };
        let synced = match (synced, self.0) {
            (Some(at), Language::Ru) => format!("обновлён {at}"),
            (Some(at), Language::En) => format!("synced {at}"),
            (None, Language::Ru) => "ещё не синхронизирован".into(),
            (None, Language::En) => "not synced yet".into(),
        };
        match self.0 {
            Language::Ru => format!("• {name} — постов: {posts}, {synced}"),
            Language::En => format!("• {name} — {posts} posts, {synced}"),
        }
    }
    pub fn history_loading(self, percent: u64) -> String {
        match self.0 {
            Language::Ru => format!(" — история загружается: ≈{percent}%"),
            Language::En => format!(" — loading history: ≈{percent}%"),
        }
    }
    pub fn history_limited(self, kept: u64) -> String {
        match self.0 {
            Language::Ru => format!(" — из истории сохранены последние {kept} (лимит тарифа)"),
            Language::En => format!(" — the newest {kept} of its history kept (plan limit)"),
        }
    }
    pub fn not_kept_today(self, not_kept: u32) -> String {
        match self.0 {
            Language::Ru => format!(" — сегодня не сохранено сверх лимита: {not_kept}"),
            Language::En => format!(" — {not_kept} over today's limit not kept"),
        }
    }
    pub fn pending_channel(self) -> String {
        self.ru_en("(канал ещё загружается)", "(channel still loading)")
    }
    pub fn choose_channel_to_remove(self) -> String {
        self.ru_en("Какой канал убрать?", "Which channel should I remove?")
    }
    pub fn confirm_remove(self, title: &str) -> String {
        match self.0 {
            Language::Ru => format!("Убрать «{}» из ваших каналов? Его посты пропадут из ваших ответов и дайджестов.", escape(title)),
            Language::En => format!("Remove “{}” from your channels? Its posts will no longer appear in your answers and digests.", escape(title)),
        }
    }
    pub fn yes_remove(self) -> String {
        self.ru_en("Да, убрать", "Yes, remove")
    }
    pub fn cancel(self) -> String {
        self.ru_en("Отмена", "Cancel")
    }
    pub fn removed(self, title: &str) -> String {
        match self.0 {
            Language::Ru => format!("Канал «{}» убран.", escape(title)),
            Language::En => format!("Removed “{}”.", escape(title)),
        }
    }
    pub fn cancelled(self) -> String {
        self.ru_en("Отменено.", "Cancelled.")
    }
    pub fn not_following(self) -> String {
        self.ru_en("Вы не следите за этим каналом.", "You do not follow that channel.")
    }
    pub fn no_access_button(self) -> String {
        self.ru_en("Нет доступа: войдите снова командой /login.", "No access: sign in again with /login.")
    }
    pub fn stale_button(self) -> String {
        self.ru_en("Эта кнопка устарела.", "This button is out of date.")
    }

    pub fn subscription(self, tier: Tier, expires: Option<Timestamp>, limits: &TierLimits, channels: u32, asked_today: u32) -> String {
        let digests = match (limits.digests, self.0) {
            (true, Language::Ru) => "есть",
            (false, Language::Ru) => "нет",
            (true, Language::En) => "yes",
            (false, Language::En) => "no",
        };
        let until = match (expires, self.0) {
            (Some(at), Language::Ru) => format!("\nДействует до: {at}"),
            (Some(at), Language::En) => format!("\nValid until: {at}"),
            (None, _) => String::new(),
        };
        match self.0 {
            Language::Ru => format!(
                "Тариф: <b>{tier}</b>{until}\nКаналы: {channels} из {}\nВопросов в день: {asked_today} из {}\nНовых постов в день на канал: {}\nДайджесты: {digests}",
                limits.max_channels, limits.rag_queries_per_day, limits.posts_per_day
            ),
            Language::En => format!(
                "Plan: <b>{tier}</b>{until}\nChannels: {channels} of {}\nQuestions per day: {asked_today} of {}\nNew posts per day per channel: {}\nDigests: {digests}",
                limits.max_channels, limits.rag_queries_per_day, limits.posts_per_day
            ),
        }
    }

    pub fn ask_usage(self) -> String {
        self.ru_en("Напишите вопрос после команды: <code>/ask что нового в AI за неделю?</code>", "Write your question after the command: <code>/ask what happened in AI this week?</code>")
    }
    pub fn search_usage(self) -> String {
        self.ru_en("Что искать? <code>/search запрос</code>", "What should I look for? <code>/search query</code>")
    }
    pub fn too_long(self, max: usize) -> String {
        match self.0 {
            Language::Ru => format!("Слишком длинно: не больше {max} символов."),
            Language::En => format!("Too long: at most {max} characters."),
        }
    }
    pub fn daily_limit(self, tier: Tier, limit: u32) -> String {
        match self.0 {
            Language::Ru => format!("Лимит на сегодня исчерпан: {limit} запросов в день на тарифе <b>{tier}</b>. Завтра лимит обновится."),
            Language::En => format!("Today's limit is used up: {limit} requests a day on the <b>{tier}</b> plan. It resets tomorrow (UTC)."),
        }
    }
    pub fn no_digests(self, tier: Tier) -> String {
        match self.0 {
            Language::Ru => format!("Дайджесты недоступны на тарифе <b>{tier}</b>."),
            Language::En => format!("Digests are not part of the <b>{tier}</b> plan."),
        }
    }
    pub fn working_ask(self) -> String {
        self.ru_en("⏳ Ищу ответ в ваших каналах…", "⏳ Looking for an answer in your channels…")
    }
    pub fn working_search(self) -> String {
        self.ru_en("⏳ Ищу…", "⏳ Searching…")
    }
    pub fn working_recommend(self) -> String {
        self.ru_en("⏳ Подбираю посты…", "⏳ Picking posts for you…")
    }
    pub fn working_digest(self) -> String {
        self.ru_en("⏳ Собираю дайджест…", "⏳ Building your digest…")
    }
    pub fn rate_limited(self) -> String {
        self.ru_en("Слишком много сообщений подряд. Подождите немного.", "Too many messages in a row. Please wait a moment.")
    }
    pub fn failed(self) -> String {
        self.ru_en("Что-то пошло не так. Попробуйте ещё раз чуть позже.", "Something went wrong. Please try again a bit later.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_values_are_escaped() {
        let t = Texts(Language::En);
        assert!(t.removed("<b>&x</b>").contains("&lt;b&gt;&amp;x&lt;/b&gt;"));
        assert!(Texts(Language::Ru).channel_line("A<B", Some("ab"), 3, None).contains("A&lt;B"));
    }
}
