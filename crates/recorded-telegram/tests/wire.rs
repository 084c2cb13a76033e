//! The recorded Telegram served to another process: a client signs in, reads history, follows
//! live events, and — connected again from its stored session, as a restarted node does —
//! catches up on what happened while it was away.

use siftgram_core::model::Username;
use siftgram_core::ports::{LiveEvent, QrLogin, TelegramConnector, TelegramError};
use siftgram_recorded_telegram::RecordedTelegram;
use siftgram_recorded_telegram::wire::{RemoteTelegram, serve};
use std::time::Duration;

async fn served(world: &RecordedTelegram) -> (String, tokio::task::JoinHandle<()>) {
    // reqwest needs a TLS provider once the workspace enables rustls, even for plain http.
    siftgram_models::install_tls_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (url, serve(world.clone(), listener))
}

#[tokio::test]
async fn a_client_in_another_process_signs_in_reads_and_catches_up_after_a_restart() {
    let world = RecordedTelegram::new();
    let channel = world.add_numbered_channel(1001, "city_news", "Город", 30);
    world.add_account(9001, Some("hunter2"));
    let (url, server) = served(&world).await;
    let remote = RemoteTelegram::new(&url);

    let login = remote.connect(None).unwrap();
    let QrLogin::Waiting { url: qr, .. } = login.qr_login().await.unwrap() else { panic!("a QR code first") };
    assert!(matches!(login.qr_login().await.unwrap(), QrLogin::Waiting { url, .. } if url == qr), "the same code until scanned");
    world.scan(&qr, 9001);
    assert!(matches!(login.qr_login().await.unwrap(), QrLogin::PasswordNeeded { .. }));
    assert_eq!(login.check_password("wrong").await, Err(TelegramError::PasswordInvalid));
    assert_eq!(login.check_password("hunter2").await, Ok(9001));
    assert_eq!(login.account_id(), Some(9001));

    let city = login.resolve(&Username::parse("city_news").unwrap()).await.unwrap();
    assert_eq!((city.id, city.latest_message_id), (channel, 30));
    let newest: Vec<i64> = login.history(&city, None, 5).await.unwrap().iter().map(|m| m.id).collect();
    assert_eq!(newest, [30, 29, 28, 27, 26]);
    assert_eq!(login.newer(&city, 28, 10).await.unwrap().len(), 2);
    let id = world.post(channel, "Свежая новость");
    let events = login.next_events(Duration::from_secs(60)).await.unwrap();
    assert!(matches!(&events[..], [LiveEvent::New(c, m)] if *c == channel && m.id == id && m.text == "Свежая новость"), "{events:?}");
    let stored = login.session();

    // Away: an edit and a deletion happen; the client connected again from its session sees both.
    world.edit(channel, id, "Свежая новость (уточнено)");
    world.delete(channel, &[3]);
    let again = RemoteTelegram::new(&url).connect(Some(&stored)).unwrap();
    assert_eq!(again.account_id(), Some(9001), "known before the first call");
    let missed = again.next_events(Duration::from_secs(60)).await.unwrap();
    assert!(matches!(&missed[..], [LiveEvent::Edited(_, m), LiveEvent::Deleted(_, ids)] if m.text.ends_with("(уточнено)") && ids == &[3]), "{missed:?}");
    assert_eq!(world.connections(9001), 2);

    // A session Telegram does not know is refused on its first call; a gone server is a network error.
    let stranger = remote.connect(Some(br#"{"account":42,"updates":0}"#)).unwrap();
    assert_eq!(stranger.resolve(&Username::parse("city_news").unwrap()).await.unwrap_err(), TelegramError::Unauthorized);
    server.abort();
    let _ = server.await;
    let offline = RemoteTelegram::new(&url).connect(Some(&stored)).unwrap();
    assert!(matches!(offline.history(&city, None, 1).await, Err(TelegramError::Network(_))));
}
