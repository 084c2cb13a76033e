use super::*;
use grammers_mtsender::RpcError;

const CHANNEL: i64 = 1_234_567_890;

fn in_channel(channel: i64) -> tl::enums::Peer {
    tl::enums::Peer::Channel(tl::types::PeerChannel { channel_id: channel })
}

/// A channel post as Telegram sends it, every other field empty.
fn post(id: i32, text: &str) -> tl::types::Message {
    tl::types::Message {
        out: false,
        mentioned: false,
        media_unread: false,
        silent: false,
        post: true,
        from_scheduled: false,
        legacy: false,
        edit_hide: false,
        pinned: false,
        noforwards: false,
        invert_media: false,
        offline: false,
        video_processing_pending: false,
        paid_suggested_post_stars: false,
        paid_suggested_post_ton: false,
        id,
        from_id: None,
        from_boosts_applied: None,
        from_rank: None,
        peer_id: in_channel(CHANNEL),
        saved_peer_id: None,
        fwd_from: None,
        via_bot_id: None,
        via_business_bot_id: None,
        guestchat_via_from: None,
        reply_to: None,
        date: 1_763_800_000,
        message: text.to_owned(),
        media: None,
        reply_markup: None,
        entities: None,
        views: None,
        forwards: None,
        replies: None,
        edit_date: None,
        post_author: None,
        grouped_id: None,
        reactions: None,
        restriction_reason: None,
        ttl_period: None,
        quick_reply_shortcut_id: None,
        effect: None,
        factcheck: None,
        report_delivery_until_date: None,
        paid_message_stars: None,
        suggested_post: None,
        schedule_repeat_period: None,
        summary_from_language: None,
        rich_message: None,
    }
}

fn document(attributes: Vec<tl::enums::DocumentAttribute>) -> tl::types::MessageMediaDocument {
    tl::types::MessageMediaDocument {
        nopremium: false,
        spoiler: false,
        video: false,
        round: false,
        voice: false,
        document: Some(tl::enums::Document::Document(tl::types::Document {
            id: 1,
            access_hash: 2,
            file_reference: vec![],
            date: 0,
            mime_type: "application/octet-stream".into(),
            size: 10,
            thumbs: None,
            video_thumbs: None,
            dc_id: 2,
            attributes,
        })),
        alt_documents: None,
        video_cover: None,
        video_timestamp: None,
        ttl_seconds: None,
    }
}

fn audio(voice: bool) -> tl::enums::DocumentAttribute {
    tl::enums::DocumentAttribute::Audio(tl::types::DocumentAttributeAudio { voice, duration: 3, title: None, performer: None, waveform: None })
}

fn poll(question: &str) -> tl::enums::MessageMedia {
    tl::enums::MessageMedia::Poll(Box::new(tl::types::MessageMediaPoll {
        poll: tl::enums::Poll::Poll(tl::types::Poll {
            id: 1,
            closed: false,
            public_voters: false,
            multiple_choice: false,
            quiz: false,
            open_answers: false,
            revoting_disabled: false,
            shuffle_answers: false,
            hide_results_until_close: false,
            creator: false,
            subscribers_only: false,
            question: tl::enums::TextWithEntities::Entities(tl::types::TextWithEntities { text: question.into(), entities: vec![] }),
            answers: vec![],
            close_period: None,
            close_date: None,
            countries_iso2: None,
            hash: 0,
        }),
        results: tl::enums::PollResults::Results(Box::new(tl::types::PollResults {
            min: false,
            has_unread_votes: false,
            can_view_stats: false,
            results: None,
            total_voters: None,
            recent_voters: None,
            solution: None,
            solution_entities: None,
            solution_media: None,
        })),
        attached_media: None,
    }))
}

fn channel(id: i64, username: Option<&str>) -> tl::types::Channel {
    tl::types::Channel {
        creator: false,
        left: true,
        broadcast: true,
        verified: false,
        megagroup: false,
        restricted: false,
        signatures: false,
        min: false,
        scam: false,
        has_link: false,
        has_geo: false,
        slowmode_enabled: false,
        call_active: false,
        call_not_empty: false,
        fake: false,
        gigagroup: false,
        noforwards: false,
        join_to_send: false,
        join_request: false,
        forum: false,
        stories_hidden: false,
        stories_hidden_min: false,
        stories_unavailable: false,
        signature_profiles: false,
        autotranslation: false,
        broadcast_messages_allowed: false,
        monoforum: false,
        forum_tabs: false,
        id,
        access_hash: Some(-4_242),
        title: "Новости".into(),
        username: username.map(str::to_owned),
        photo: tl::enums::ChatPhoto::Empty,
        date: 0,
        restriction_reason: None,
        admin_rights: None,
        banned_rights: None,
        default_banned_rights: None,
        participants_count: None,
        usernames: None,
        stories_max_id: None,
        color: None,
        profile_color: None,
        emoji_status: None,
        level: None,
        subscription_until_date: None,
        bot_verification_icon: None,
        send_paid_messages_stars: None,
        linked_monoforum_id: None,
        linked_community_id: None,
    }
}

#[test]
fn a_channel_post_keeps_its_id_date_text_edit_and_views() {
    let mut m = post(812, "Курс рубля: ЦБ повысил ставку");
    m.edit_date = Some(1_763_800_600);
    m.views = Some(15_300);
    let mapped = remote_message(&tl::enums::Message::Message(m)).unwrap();
    assert_eq!(
        mapped,
        RemoteMessage {
            id: 812,
            date: Timestamp(1_763_800_000),
            edited: Some(Timestamp(1_763_800_600)),
            text: "Курс рубля: ЦБ повысил ставку".into(),
            media: MediaKind::None,
            views: Some(15_300),
        }
    );
}

#[test]
fn media_kinds_follow_the_media_and_the_document_attributes() {
    let kind = |media: tl::enums::MessageMedia| {
        let mut m = post(1, "caption");
        m.media = Some(media);
        remote_message(&tl::enums::Message::Message(m)).unwrap().media
    };
    let photo = tl::enums::MessageMedia::Photo(tl::types::MessageMediaPhoto { spoiler: false, live_photo: false, photo: None, ttl_seconds: None, video: None });
    assert_eq!(kind(photo), MediaKind::Photo);
    assert_eq!(kind(tl::enums::MessageMedia::Document(document(vec![audio(false)]))), MediaKind::Audio);
    assert_eq!(kind(tl::enums::MessageMedia::Document(document(vec![audio(true)]))), MediaKind::Voice);
    let video = tl::enums::DocumentAttribute::Video(tl::types::DocumentAttributeVideo {
        round_message: false,
        supports_streaming: true,
        nosound: false,
        duration: 1.5,
        w: 640,
        h: 360,
        preload_prefix_size: None,
        video_start_ts: None,
        video_codec: None,
    });
    assert_eq!(kind(tl::enums::MessageMedia::Document(document(vec![video]))), MediaKind::Video);
    let mut flagged = document(vec![]);
    flagged.voice = true;
    assert_eq!(kind(tl::enums::MessageMedia::Document(flagged)), MediaKind::Voice);
    let pdf = tl::enums::DocumentAttribute::Filename(tl::types::DocumentAttributeFilename { file_name: "report.pdf".into() });
    assert_eq!(kind(tl::enums::MessageMedia::Document(document(vec![pdf]))), MediaKind::Document);
    assert_eq!(kind(poll("?")), MediaKind::Poll);
    assert_eq!(kind(tl::enums::MessageMedia::Unsupported), MediaKind::Other);
    assert_eq!(kind(tl::enums::MessageMedia::Empty), MediaKind::None);
}

#[test]
fn a_poll_without_caption_says_its_question() {
    let mut m = post(5, "");
    m.media = Some(poll("Какой язык учить в 2027?"));
    let mapped = remote_message(&tl::enums::Message::Message(m)).unwrap();
    assert_eq!(mapped.text, "Какой язык учить в 2027?");
    assert_eq!(mapped.media, MediaKind::Poll);
}

#[test]
fn service_messages_keep_their_id_but_carry_no_post_and_empty_ones_are_nothing() {
    let service = tl::enums::Message::Service(tl::types::MessageService {
        out: false,
        mentioned: false,
        media_unread: false,
        reactions_are_possible: false,
        silent: false,
        post: true,
        legacy: false,
        id: 9,
        from_id: None,
        peer_id: in_channel(CHANNEL),
        saved_peer_id: None,
        reply_to: None,
        date: 1_763_800_000,
        action: tl::enums::MessageAction::PinMessage,
        reactions: None,
        ttl_period: None,
    });
    let mapped = remote_message(&service).unwrap();
    assert_eq!((mapped.id, mapped.text.as_str(), mapped.media), (9, "", MediaKind::None));
    let remote = RemoteChannel { id: ChannelId::new(CHANNEL).unwrap(), title: "t".into(), username: None, access_hash: 1, latest_message_id: 9 };
    assert!(siftgram_core::sync::message_to_post(&remote, &mapped).is_none(), "a service message is no post");
    assert!(remote_message(&tl::enums::Message::Empty(tl::types::MessageEmpty { id: 3, peer_id: None })).is_none());
}

#[test]
fn channel_updates_become_live_events_and_others_are_ignored() {
    let id = ChannelId::new(CHANNEL).unwrap();
    let new = tl::enums::Update::NewChannelMessage(tl::types::UpdateNewChannelMessage {
        message: tl::enums::Message::Message(post(77, "свежий пост")),
        pts: 1,
        pts_count: 1,
    });
    assert!(matches!(live_event(&new), Some(LiveEvent::New(c, m)) if c == id && m.id == 77 && m.text == "свежий пост"));
    let mut edited = post(77, "исправленный пост");
    edited.edit_date = Some(1_763_800_100);
    let edit =
        tl::enums::Update::EditChannelMessage(tl::types::UpdateEditChannelMessage { message: tl::enums::Message::Message(edited), pts: 2, pts_count: 1 });
    assert!(matches!(live_event(&edit), Some(LiveEvent::Edited(c, m)) if c == id && m.edited == Some(Timestamp(1_763_800_100))));
    let delete =
        tl::enums::Update::DeleteChannelMessages(tl::types::UpdateDeleteChannelMessages { channel_id: CHANNEL, messages: vec![70, 71], pts: 4, pts_count: 2 });
    assert_eq!(live_event(&delete), Some(LiveEvent::Deleted(id, vec![70, 71])));
    let mut in_chat = post(1, "group");
    in_chat.peer_id = tl::enums::Peer::Chat(tl::types::PeerChat { chat_id: 5 });
    assert_eq!(
        live_event(&tl::enums::Update::NewChannelMessage(tl::types::UpdateNewChannelMessage {
            message: tl::enums::Message::Message(in_chat),
            pts: 1,
            pts_count: 1
        })),
        None
    );
    assert_eq!(live_event(&tl::enums::Update::LoginToken), None);
}

#[test]
fn only_broadcast_channels_with_an_access_hash_are_channels() {
    let remote = remote_channel(&tl::enums::Chat::Channel(channel(CHANNEL, Some("durov"))), 120).unwrap();
    assert_eq!(remote.id, ChannelId::new(CHANNEL).unwrap());
    assert_eq!(
        (remote.title.as_str(), remote.username.as_ref().map(|u| u.as_str()), remote.access_hash, remote.latest_message_id),
        ("Новости", Some("durov"), -4_242, 120)
    );
    assert!(remote_channel(&tl::enums::Chat::Channel(channel(CHANNEL, None)), 0).unwrap().username.is_none(), "private channel");
    let mut group = channel(CHANNEL, Some("chatroom"));
    (group.broadcast, group.megagroup) = (false, true);
    assert!(remote_channel(&tl::enums::Chat::Channel(group), 0).is_none());
    let mut min = channel(CHANNEL, Some("durov"));
    min.min = true;
    assert!(remote_channel(&tl::enums::Chat::Channel(min), 0).is_none());
}

#[test]
fn invocation_errors_mean_what_the_node_acts_on() {
    let rpc = |code: i32, message: &str| InvocationError::Rpc(RpcError::from(tl::types::RpcError { error_code: code, error_message: message.into() }));
    assert_eq!(telegram_error(&rpc(420, "FLOOD_WAIT_31")), TelegramError::FloodWait(Duration::from_secs(31)));
    assert_eq!(telegram_error(&rpc(401, "AUTH_KEY_UNREGISTERED")), TelegramError::Unauthorized);
    assert_eq!(telegram_error(&rpc(401, "SESSION_REVOKED")), TelegramError::Unauthorized);
    assert_eq!(telegram_error(&rpc(400, "USERNAME_NOT_OCCUPIED")), TelegramError::ChannelNotFound);
    assert_eq!(telegram_error(&rpc(406, "CHANNEL_PRIVATE")), TelegramError::ChannelPrivate);
    assert_eq!(telegram_error(&rpc(400, "PASSWORD_HASH_INVALID")), TelegramError::PasswordInvalid);
    assert!(matches!(telegram_error(&rpc(500, "INTERNAL")), TelegramError::Other(_)));
    let refused = InvocationError::Io(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused"));
    assert!(matches!(telegram_error(&refused), TelegramError::Network(_)));
}
