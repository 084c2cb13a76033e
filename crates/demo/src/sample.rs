//! The shipped sample: three channels of fictional news written for the demo (a made-up city,
//! Russian tech notes, English science notes) in Telegram Desktop's export format, and the
//! scripted posts the demo publishes while it runs.

use siftgram_core::Timestamp;
use siftgram_core::export::{RecordedChannel, read_desktop_export};
use siftgram_core::model::ChannelId;

const EXPORT: &str = include_str!("../sample/result.json");
const LIVE: &str = include_str!("../sample/live.json");

/// Exports carry no @username; these are the sample channels' (by export id).
pub(crate) const USERNAMES: &[(i64, &str)] = &[(3_000_000_001, "severogorsk_today"), (3_000_000_002, "tech_zametki"), (3_000_000_003, "open_science_notes")];

pub struct SampleChannel {
    pub username: &'static str,
    pub recorded: RecordedChannel,
}

/// The sample channels, moved in time so that the newest post is an hour old: "yesterday" and
/// "this week" in a question mean the same posts whenever the demo runs.
pub fn channels(now: Timestamp) -> Vec<SampleChannel> {
    let mut channels = read_desktop_export(EXPORT).expect("the shipped sample is a valid export");
    let newest = channels.iter().flat_map(|c| c.posts.iter().map(|p| p.date.0)).max().unwrap_or(now.0);
    let shift = now.0 - 3600 - newest;
    for post in channels.iter_mut().flat_map(|c| c.posts.iter_mut()) {
        post.date = Timestamp(post.date.0 + shift);
        post.edited_at = post.edited_at.map(|t| Timestamp(t.0 + shift));
    }
    channels
        .into_iter()
        .map(|recorded| {
            let username = USERNAMES.iter().find(|(id, _)| *id == recorded.id.get()).map(|(_, u)| *u).expect("every sample channel has a username");
            SampleChannel { username, recorded }
        })
        .collect()
}

/// The posts published one by one while the demo runs, and their channel.
pub fn live_posts() -> (ChannelId, Vec<String>) {
    let v: serde_json::Value = serde_json::from_str(LIVE).expect("the shipped live posts are JSON");
    let channel = ChannelId::new(v["channel"].as_i64().expect("a channel id")).expect("a channel id");
    let posts = v["posts"].as_array().expect("posts").iter().filter_map(|p| p.as_str().map(str::to_owned)).collect();
    (channel, posts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_a_few_hundred_posts_in_both_languages_ending_an_hour_ago() {
        let now = Timestamp(2_000_000_000);
        let channels = channels(now);
        assert_eq!(channels.len(), 3);
        let posts: Vec<_> = channels.iter().flat_map(|c| &c.recorded.posts).collect();
        assert!(posts.len() >= 180, "{} posts", posts.len());
        assert_eq!(posts.iter().map(|p| p.date.0).max(), Some(now.0 - 3600));
        let cyrillic = |t: &str| t.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
        assert!(posts.iter().filter(|p| cyrillic(&p.text)).count() > 100, "mostly Russian");
        assert!(posts.iter().filter(|p| !cyrillic(&p.text)).count() > 30, "some English");
        let (live_channel, live) = live_posts();
        assert!(channels.iter().any(|c| c.recorded.id == live_channel) && live.len() >= 10);
    }
}
