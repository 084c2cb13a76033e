//! "Validating data for third-party use": since Bot API 8.0 Telegram also signs the launch data
//! with its own Ed25519 key, so a party without the bot's token can check it. The message is
//! `<bot id>:WebAppData` and then the fields except `hash` and `signature`, sorted, as
//! `key=value` lines; `signature` is base64url without padding.

use super::init_data::{InitData, InitDataError, checked_contents, parse_fields};
use base64::Engine;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use siftgram_core::Timestamp;

/// Which of Telegram's keys signed the data (the test environment has its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TelegramEnvironment {
    Production,
    Test,
}

impl TelegramEnvironment {
    /// Telegram's public keys, as published in the Mini Apps documentation.
    fn public_key(self) -> [u8; 32] {
        let hex = match self {
            TelegramEnvironment::Production => "e7bf03a2fa4602af4580703d88dda5bb59f32ed8b02a56c187fe7d34caed242d",
            TelegramEnvironment::Test => "40055058a4ee38156a06562e52eece92a771bcd8346a8c4615cb7376eddf72ec",
        };
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("a constant hex key");
        }
        key
    }
}

/// Checks `raw` as launch data of bot `bot_id`, signed by Telegram in `environment`, fresh
/// within `max_age_secs` of `now`.
pub fn validate_third_party(raw: &str, bot_id: i64, environment: TelegramEnvironment, now: Timestamp, max_age_secs: i64) -> Result<InitData, InitDataError> {
    let fields = parse_fields(raw)?;
    let encoded = fields.get("signature").ok_or(InitDataError::NoHash)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded.trim_end_matches('='))
        .map_err(|_| InitDataError::BadSignature)?;
    let signature = Signature::from_slice(&bytes).map_err(|_| InitDataError::BadSignature)?;
    let lines: Vec<String> = fields.iter().filter(|(k, _)| !matches!(k.as_str(), "hash" | "signature")).map(|(k, v)| format!("{k}={v}")).collect();
    let message = format!("{bot_id}:WebAppData\n{}", lines.join("\n"));
    let key = VerifyingKey::from_bytes(&environment.public_key()).expect("Telegram's key is a valid point");
    key.verify(message.as_bytes(), &signature).map_err(|_| InitDataError::BadSignature)?;
    checked_contents(fields, now, max_age_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signed by Telegram itself for bot 7342037359 (init-data-golang
    /// `validate_third_party_test.go`); its user JSON has `\/` escapes and `%20`/`%2B`.
    const V2: &str = "user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%20%2B%20-%20%3F%20%5C%2F%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%2C%22allows_write_to_pm%22%3Atrue%2C%22photo_url%22%3A%22https%3A%5C%2F%5C%2Ft.me%5C%2Fi%5C%2Fuserpic%5C%2F320%5C%2F4FPEE4tmP3ATHa57u6MqTDih13LTOiMoKoLDRG4PnSA.svg%22%7D&chat_instance=8134722200314281151&chat_type=private&auth_date=1733584787&hash=2174df5b000556d044f3f020384e879c8efcab55ddea2ced4eb752e93e7080d6&signature=zL-ucjNyREiHDE8aihFwpfR9aggP2xiAo3NSpfe-p7IbCisNlDKlo7Kb6G4D0Ao2mBrSgEk4maLSdv6MLIlADQ";
    const V2_BOT: i64 = 7_342_037_359;
    const V2_AUTH: i64 = 1_733_584_787;
    const DAY: i64 = 86_400;

    #[test]
    fn telegrams_own_signature_validates_with_the_production_key() {
        let data = validate_third_party(V2, V2_BOT, TelegramEnvironment::Production, Timestamp(V2_AUTH + 5), DAY).unwrap();
        assert_eq!(data.user.id, 279_058_397);
        assert_eq!(data.user.first_name, "Vladislav + - ? /", "the JSON escape is decoded");
    }

    #[test]
    fn the_wrong_key_bot_or_a_changed_field_is_refused() {
        let now = Timestamp(V2_AUTH + 5);
        assert_eq!(validate_third_party(V2, V2_BOT, TelegramEnvironment::Test, now, DAY), Err(InitDataError::BadSignature));
        assert_eq!(validate_third_party(V2, V2_BOT + 1, TelegramEnvironment::Production, now, DAY), Err(InitDataError::BadSignature));
        let changed = V2.replace("chat_type=private", "chat_type=group");
        assert_eq!(validate_third_party(&changed, V2_BOT, TelegramEnvironment::Production, now, DAY), Err(InitDataError::BadSignature));
        let unsigned = V2.split("&signature=").next().unwrap();
        assert_eq!(validate_third_party(unsigned, V2_BOT, TelegramEnvironment::Production, now, DAY), Err(InitDataError::NoHash));
        let garbled = V2.replace("signature=zL", "signature=!!");
        assert_eq!(validate_third_party(&garbled, V2_BOT, TelegramEnvironment::Production, now, DAY), Err(InitDataError::BadSignature));
        assert!(matches!(validate_third_party(V2, V2_BOT, TelegramEnvironment::Production, Timestamp(V2_AUTH + DAY + 1), DAY), Err(InitDataError::Expired { .. })));
    }
}
