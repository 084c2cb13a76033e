//! User stories, written once and run on both backends by the `*_stories!` macros.

pub mod answers;
pub mod api;
pub mod bot;
pub mod bot_admin;
pub mod links;
pub mod search;
pub mod sessions;
