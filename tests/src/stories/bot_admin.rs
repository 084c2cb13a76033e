//! Admin commands: they work for admins, and for everyone else they do not exist.

use crate::TestSystem;
use siftgram_core::Clock;
use crate::bot::{ADMIN_ID, MINIAPP_URL, TestBot};
use siftgram_core::model::{Tier, UserId};

#[macro_export]
macro_rules! bot_admin_stories {
    ($make:path) => {
        $crate::suite!($make; $crate::stories::bot_admin;
            an_admin_creates_an_invite_that_a_new_user_can_log_in_with,
            an_admin_lists_inspects_and_upgrades_users,
            an_admin_sees_stats_and_the_panel_button,
            admin_commands_do_not_exist_for_anyone_else,
            an_id_removed_from_the_admin_setting_is_no_longer_admin,
        );
    };
}

fn uid(id: i64) -> UserId {
    UserId::new(id).unwrap()
}

pub async fn an_admin_creates_an_invite_that_a_new_user_can_log_in_with(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let admin = bot.admin();
    let reply = bot.says(&admin, "/admin_invite premium 30 5").await;
    let code = reply.text.split_whitespace().nth(1).expect("the code follows the label").to_owned();
    assert!(reply.text.contains(&format!("https://t.me/siftgram_test_bot?start={code}")), "{}", reply.text);
    let invite = sys.repo.get_invite(&code).await.unwrap().expect("stored");
    assert_eq!((invite.tier, invite.max_uses, invite.created_by), (Tier::Premium, 5, uid(ADMIN_ID)));
    assert_eq!(invite.expires_at, Some(sys.clock.now().plus_days(30)));
    let defaults = bot.says(&admin, "/admin_invite").await;
    let code2 = defaults.text.split_whitespace().nth(1).unwrap().to_owned();
    let invite2 = sys.repo.get_invite(&code2).await.unwrap().unwrap();
    assert_eq!((invite2.tier, invite2.max_uses), (Tier::Trial, 1));
    for bad in ["/admin_invite gold", "/admin_invite basic x", "/admin_invite basic 7 0"] {
        let reply = bot.says(&admin, bad).await;
        assert!(reply.text.contains("/admin_invite"), "{bad} → {}", reply.text);
    }
    assert_eq!(sys.repo.list_invites(10).await.unwrap().len(), 2);

    // The deep link signs the new user in with that code.
    let anna = bot.user(201);
    let started = bot.says(&anna, &format!("/start {code}")).await;
    assert!(started.text.starts_with('⏳') && !started.buttons().is_empty(), "{}", started.text);
    assert_eq!(bot.take_commands().await.len(), 1);
}

pub async fn an_admin_lists_inspects_and_upgrades_users(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let admin = bot.admin();
    for id in 300..325 {
        bot.says(&bot.user(id), "/start").await;
    }
    let page1 = bot.says(&admin, "/admin_users").await;
    assert!(page1.text.contains("300 User300 — free · no invite"), "{}", page1.text);
    assert!(page1.text.ends_with("/admin_users 2"), "{}", page1.text);
    let page2 = bot.says(&admin, "/admin_users 2").await;
    assert!(page2.text.contains("324 User324") && !page2.text.contains("300 User300"), "{}", page2.text);
    assert!(bot.says(&admin, "/admin_users x").await.text.contains("/admin_users"));

    let granted = bot.says(&admin, "/admin_grant 301 premium 30").await;
    assert!(granted.text.contains("301 → premium"), "{}", granted.text);
    let user = sys.repo.get_user(uid(301)).await.unwrap().unwrap();
    assert_eq!((user.tier, user.tier_expires_at), (Tier::Premium, Some(sys.clock.now().plus_days(30))));
    assert!(bot.says(&admin, "/admin_grant 301 gold 30").await.text.contains("/admin_grant"));
    assert!(bot.says(&admin, "/admin_grant 999999 basic 3").await.text.contains("Нет такого"));

    let details = bot.says(&admin, "/admin_user 301").await;
    assert!(details.text.contains("premium") && details.text.contains("free → premium"), "{}", details.text);
    assert!(bot.says(&admin, "/admin_user nobody").await.text.contains("/admin_user ID"));
}

pub async fn an_admin_sees_stats_and_the_panel_button(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let admin = bot.admin();
    let anna = bot.member(401, Tier::Basic).await;
    bot.says(&bot.user(402), "/start").await;
    bot.follows(&anna, 9001, "channel_one", "One").await;
    bot.says(&anna, "/ask что нового").await;
    let stats = bot.says(&admin, "/admin_stats").await;
    assert!(stats.text.contains("Пользователей: 3 (с доступом: 2)"), "{}", stats.text);
    assert!(stats.text.contains("basic: 1") && stats.text.contains("free: 2"), "{}", stats.text);
    assert!(stats.text.contains("Подписок на каналы: 1") && stats.text.contains("Задач в очереди: 1"), "{}", stats.text);
    let panel = bot.says(&admin, "/admin").await;
    assert_eq!(panel.buttons()[0].1, format!("{MINIAPP_URL}/admin.html"));
    assert!(bot.says(&admin, "/help").await.text.contains("/admin_invite"), "admins see their commands in help");
}

pub async fn admin_commands_do_not_exist_for_anyone_else(sys: &mut TestSystem) {
    let bot = TestBot::start(sys).await;
    let anna = bot.member(501, Tier::Premium).await;
    let help = bot.says(&anna, "/help").await.text;
    assert!(!help.contains("admin"), "{help}");
    let writes = sys.store.writes();
    let commands = ["/admin", "/admin_invite premium 30 5", "/admin_users", "/admin_user 501", "/admin_grant 501 enterprise 99", "/admin_stats"];
    for command in commands {
        let reply = bot.says(&anna, command).await;
        assert_eq!(reply.text, help, "{command} must look unknown");
        assert!(reply.buttons().is_empty());
    }
    // Only the intake's own bookkeeping was written: an update claim (taken, then finished) and a
    // rate token each.
    assert_eq!(sys.store.writes() - writes, 3 * commands.len());
    assert!(sys.repo.list_invites(10).await.unwrap().iter().all(|i| i.tier != Tier::Premium || i.max_uses == 1));
    assert_eq!(sys.repo.get_user(uid(501)).await.unwrap().unwrap().tier, Tier::Premium);
}

pub async fn an_id_removed_from_the_admin_setting_is_no_longer_admin(sys: &mut TestSystem) {
    let second = UserId::new(1_000_777).unwrap();
    let mut settings = crate::bot::story_settings();
    settings.admin_ids.push(second);
    let bot = TestBot::start_with(sys, settings).await;
    let vera = bot.user(second.get());
    assert!(bot.says(&vera, "/help").await.text.contains("/admin"), "an admin while listed");
    assert!(sys.repo.get_user(second).await.unwrap().unwrap().is_admin());
    // The operator takes her id out of SIFTGRAM_ADMIN_IDS and the bot restarts.
    let bot = bot.restarted_with(sys, crate::bot::story_settings()).await;
    let help = bot.says(&vera, "/help").await.text;
    assert!(!help.contains("admin"), "{help}");
    assert_eq!(bot.says(&vera, "/admin_stats").await.text, help, "admin commands are unknown to her now");
    let stored = sys.repo.get_user(second).await.unwrap().unwrap();
    assert!(!stored.is_admin(), "the stored role follows the setting");
    assert!(!stored.has_access(), "admin was her only access");
    assert!(bot.says(&bot.admin(), "/help").await.text.contains("/admin"), "the listed admin keeps it");
}
