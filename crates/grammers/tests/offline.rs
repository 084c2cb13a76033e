//! The grammers client on a network where Telegram cannot be reached (as in CI): a stored
//! session opens, every call fails as a network failure the driver retries later, and nothing
//! of the session is lost or changed. A session that is not signed in is refused at once.

use grammers_session::Session;
use grammers_session::types::{PeerAuth, PeerInfo};
use siftgram_core::model::{ChannelId, Username};
use siftgram_core::ports::{RemoteChannel, TelegramConnector, TelegramError};
use siftgram_grammers::{GrammersConnector, StoredSession};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};

/// A signed-in session whose every DC points at a local port nobody listens on.
async fn session_on_a_dead_network(signed_in: bool) -> Vec<u8> {
    let dead_port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let session = StoredSession::fresh();
    for dc in 1..=5 {
        let mut option = session.dc_option(dc).unwrap().unwrap();
        option.ipv4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, dead_port);
        option.auth_key = Some([dc as u8; 256]);
        session.set_dc_option(&option).await.unwrap();
    }
    if signed_in {
        session.cache_peer(PeerInfo::User { id: 42, auth: Some(PeerAuth::from_hash(7)), bot: Some(false), is_self: Some(true) }).await.unwrap();
    }
    session.to_bytes()
}

fn channel() -> RemoteChannel {
    RemoteChannel {
        id: ChannelId::new(1_234_567).unwrap(),
        title: "t".into(),
        username: Username::parse("siftgram_news").ok(),
        access_hash: 99,
        latest_message_id: 0,
    }
}

#[tokio::test]
async fn without_a_network_calls_fail_as_network_errors_and_the_session_is_kept() {
    let stored = session_on_a_dead_network(true).await;
    let connector = GrammersConnector::new(12345, "0123456789abcdef0123456789abcdef");
    let client = connector.connect(Some(&stored)).expect("a stored session opens offline");

    let history = client.history(&channel(), None, 100).await;
    assert!(matches!(history, Err(TelegramError::Network(_))), "{history:?}");
    let resolved = client.resolve(&Username::parse("siftgram_news").unwrap()).await;
    assert!(matches!(resolved, Err(TelegramError::Network(_))), "{resolved:?}");
    assert_eq!(client.session(), stored, "nothing of the session changed");
    assert!(format!("{connector:?}").contains("***") && !format!("{connector:?}").contains("0123456789abcdef"), "the api hash never shows");
}

#[tokio::test]
async fn a_session_that_is_not_signed_in_or_unreadable_is_refused() {
    let connector = GrammersConnector::new(12345, "hash");
    let not_signed_in = session_on_a_dead_network(false).await;
    assert!(matches!(connector.connect(Some(&not_signed_in)), Err(TelegramError::Unauthorized)));
    assert!(matches!(connector.connect(Some(b"{}")), Err(TelegramError::Other(_))));
}

#[test]
fn a_client_needs_a_runtime() {
    let connector = GrammersConnector::new(12345, "hash");
    assert!(matches!(connector.connect(None), Err(TelegramError::Other(_))));
}
