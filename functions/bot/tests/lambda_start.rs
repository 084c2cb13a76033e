//! This function's binary started as Lambda starts it (`siftgram-dev cold-start`'s Runtime API
//! stand-in, LocalStack and the dev loop's stand-ins): ready for its first event once init is
//! done; started without its token, init stops with the setting's name. The packaging command
//! measures every function's zip the same way.

mod localstack {
    use siftgram_devloop::cold_start::{function_env, measure_once, stand_ins};

    fn endpoint() -> String {
        std::env::var("SIFTGRAM_TEST_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_bot_function_asks_for_its_first_event_and_a_missing_token_stops_init_by_name() {
        let bootstrap = std::path::Path::new(env!("CARGO_BIN_EXE_bot"));
        let stand_ins = stand_ins(&endpoint()).await.expect("LocalStack and the stand-ins");
        let figure = measure_once(bootstrap, &function_env("bot", &stand_ins.endpoints)).await.expect("init completes");
        assert!(figure.peak_rss_kib > 0, "{figure:?}");
        let mut without_token = function_env("bot", &stand_ins.endpoints);
        without_token.remove("TELEGRAM_BOT_TOKEN");
        let refused = measure_once(bootstrap, &without_token).await.expect_err("no token, no bot");
        assert!(refused.contains("TELEGRAM_BOT_TOKEN"), "{refused}");
        let mut without_secret = function_env("bot", &stand_ins.endpoints);
        without_secret.remove("SIFTGRAM_WEBHOOK_SECRET");
        let refused = measure_once(bootstrap, &without_secret).await.expect_err("no webhook secret, no bot");
        assert!(refused.contains("SIFTGRAM_WEBHOOK_SECRET"), "{refused}");
    }
}
