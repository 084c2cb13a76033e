//! The dptree handler tree: which function answers which update.

use crate::command::Command;
use crate::error::BotError;
use crate::handlers::{self, admin, channels, digest, requests, start};
use crate::services::Caller;
use teloxide::dispatching::{HandlerExt, UpdateFilterExt, UpdateHandler};
use teloxide::dptree::{self, case};
use teloxide::types::{Message, Update};

fn is_admin(caller: Caller) -> bool {
    caller.user.is_admin() && !caller.user.blocked
}
fn has_access(caller: Caller) -> bool {
    caller.user.has_access()
}
fn is_member_command(command: Command) -> bool {
    use Command::*;
    matches!(command, AddChannel(_) | MyChannels | RemoveChannel(_) | Ask(_) | Search(_) | Recommend(_) | Digest(_))
}

pub fn tree() -> UpdateHandler<BotError> {
    let admin_commands = dptree::filter(is_admin)
        .branch(case![Command::Admin].endpoint(admin::panel))
        .branch(case![Command::AdminInvite(args)].endpoint(admin::invite))
        .branch(case![Command::AdminUsers(args)].endpoint(admin::users))
        .branch(case![Command::AdminUser(args)].endpoint(admin::user))
        .branch(case![Command::AdminGrant(args)].endpoint(admin::grant))
        .branch(case![Command::AdminStats].endpoint(admin::stats));

    let member_commands = dptree::filter(has_access)
        .branch(case![Command::AddChannel(arg)].endpoint(channels::add_channel))
        .branch(case![Command::MyChannels].endpoint(channels::my_channels))
        .branch(case![Command::RemoveChannel(arg)].endpoint(channels::remove_channel))
        .branch(case![Command::Ask(question)].endpoint(requests::ask))
        .branch(case![Command::Search(query)].endpoint(requests::search))
        .branch(case![Command::Recommend(hint)].endpoint(requests::recommend))
        .branch(case![Command::Digest(args)].endpoint(digest::digest));

    let commands = dptree::entry()
        .filter_command::<Command>()
        .branch(case![Command::Start(payload)].endpoint(start::start))
        .branch(case![Command::Help].endpoint(handlers::help))
        .branch(case![Command::Login(code)].endpoint(start::login))
        .branch(case![Command::Subscription].endpoint(start::subscription))
        .branch(admin_commands)
        .branch(member_commands)
        .branch(dptree::filter(is_member_command).endpoint(handlers::need_login))
        // Admin commands from anyone else land here: the same help as any unknown command.
        .endpoint(handlers::help);

    dptree::entry()
        .branch(
            Update::filter_message()
                .filter(|m: Message| m.chat.is_private())
                .branch(commands)
                // A member's plain reply to one of the bot's answers: a follow-up question.
                .branch(dptree::filter(|m: Message, c: Caller| c.user.has_access() && m.reply_to_message().is_some() && m.text().is_some()).endpoint(requests::follow_up))
                .endpoint(handlers::help),
        )
        .branch(
            // Buttons change settings and subscriptions: members only, as the commands are.
            Update::filter_callback_query()
                .branch(dptree::filter(|c: Caller| !c.user.has_access()).endpoint(handlers::refuse_button))
                .branch(dptree::filter(digest::is_digest_button).endpoint(digest::on_button))
                .endpoint(channels::on_callback),
        )
}
