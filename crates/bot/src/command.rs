//! The commands the bot understands. Arguments are taken as raw text and validated by each
//! handler, so a mistyped argument gets a clear message instead of falling through to help.

use teloxide::utils::command::BotCommands;

#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "snake_case")]
pub enum Command {
    /// `/start [payload]`; a deep-link payload may carry an invite code.
    Start(String),
    Help,
    Login(String),
    AddChannel(String),
    MyChannels,
    RemoveChannel(String),
    Subscription,
    Ask(String),
    Search(String),
    Recommend(String),
    Digest(String),
    Admin,
    AdminInvite(String),
    AdminUsers(String),
    AdminUser(String),
    AdminGrant(String),
    AdminStats,
}

/// The public commands for `setMyCommands`, as (command, description) per language.
pub fn menu(lang: siftgram_core::model::Language) -> Vec<(&'static str, &'static str)> {
    use siftgram_core::model::Language::*;
    let ru = lang == Ru;
    let d = |r: &'static str, e: &'static str| if ru { r } else { e };
    vec![
        ("start", d("Начать и статус", "Start and status")),
        ("login", d("Войти по коду приглашения", "Sign in with an invite code")),
        ("add_channel", d("Добавить канал", "Add a channel")),
        ("my_channels", d("Мои каналы", "My channels")),
        ("remove_channel", d("Убрать канал", "Remove a channel")),
        ("ask", d("Вопрос по моим каналам", "Ask about my channels")),
        ("search", d("Поиск по постам и в вебе", "Search posts and the web")),
        ("recommend", d("Что почитать", "What to read")),
        ("digest", d("Дайджест", "Digest")),
        ("subscription", d("Тариф и лимиты", "Plan and limits")),
        ("help", d("Помощь", "Help")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metrics_know_every_command_by_name() {
        let mut names: Vec<String> = Command::bot_commands().into_iter().map(|c| c.command.trim_start_matches('/').to_owned()).collect();
        names.sort();
        let mut known: Vec<String> = crate::intake::KNOWN_COMMANDS.iter().map(|c| c.to_string()).collect();
        known.sort();
        assert_eq!(names, known);
    }

    #[test]
    fn commands_parse_with_their_arguments() {
        let parse = |t: &str| Command::parse(t, "siftgram_bot");
        assert_eq!(parse("/add_channel @durov").unwrap(), Command::AddChannel("@durov".into()));
        assert_eq!(parse("/ask что нового?").unwrap(), Command::Ask("что нового?".into()));
        assert_eq!(parse("/ask").unwrap(), Command::Ask(String::new()));
        assert_eq!(parse("/my_channels@siftgram_bot").unwrap(), Command::MyChannels);
        assert_eq!(parse("/admin_grant 5 basic 30").unwrap(), Command::AdminGrant("5 basic 30".into()));
        assert!(parse("/nonsense").is_err());
    }

    #[test]
    fn every_menu_entry_is_a_command() {
        for lang in [siftgram_core::model::Language::Ru, siftgram_core::model::Language::En] {
            for (name, _) in menu(lang) {
                assert!(Command::parse(&format!("/{name}"), "b").is_ok(), "{name}");
            }
        }
    }
}
