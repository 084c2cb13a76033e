//! Siftgram's HTTP API (issue 12): one router for the Mini Apps, the admin panel and automation.
//! What exists so far is the Mini App caller's authentication (`auth::init_data`).

pub mod auth;
