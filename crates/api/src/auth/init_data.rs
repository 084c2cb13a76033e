//! Telegram Mini App launch data (`Telegram.WebApp.initData`), checked the way Telegram's
//! "Validating data received via the Mini App" prescribes: the key is
//! HMAC-SHA256(key = "WebAppData", message = bot token); the `hash` field must equal
//! hex(HMAC-SHA256(key, data-check string)), where the data-check string is every other field,
//! URL-decoded, sorted by key, as `key=value` lines. Only the raw string is trusted, never
//! anything the page says besides; the user in it is the caller.
//!
//! What makes checks go wrong elsewhere, and is avoided here: values are decoded after the
//! query string is split (a `&` or `=` inside the user JSON stays), the JSON is kept byte-exact
//! for the check (Telegram escapes `/` as `\/`), unknown fields are kept (clients differ:
//! iOS sends `chat_instance` and no `query_id`), `signature` stays in the check string, and the
//! comparison is constant-time.

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use siftgram_core::Timestamp;
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

/// Longest initData accepted (Telegram's are well under 2 KiB).
pub const MAX_INIT_DATA_BYTES: usize = 8 * 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InitDataError {
    #[error("initData is empty or longer than {MAX_INIT_DATA_BYTES} bytes")]
    Size,
    #[error("initData has no hash")]
    NoHash,
    #[error("initData is not signed with this bot's token")]
    BadSignature,
    #[error("initData has no valid auth_date")]
    NoAuthDate,
    #[error("initData is {age_secs} s old, more than the {max_age_secs} s allowed")]
    Expired { age_secs: i64, max_age_secs: i64 },
    #[error("initData is dated in the future")]
    FromTheFuture,
    #[error("initData names no user")]
    NoUser,
    #[error("initData field {0:?} appears twice")]
    Duplicate(String),
}

/// The Telegram user who opened the Mini App.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct WebAppUser {
    pub id: i64,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub language_code: Option<String>,
}

/// Checked launch data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitData {
    pub user: WebAppUser,
    pub auth_date: Timestamp,
    /// Every field as received (URL-decoded), `hash` included.
    pub fields: BTreeMap<String, String>,
}

fn secret_key(bot_token: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"WebAppData").expect("HMAC takes any key length");
    mac.update(bot_token.as_bytes());
    mac.finalize().into_bytes().into()
}

/// hex(HMAC-SHA256(secret_key(bot_token), data)): what Telegram puts in `hash`.
pub fn sign(data_check_string: &str, bot_token: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret_key(bot_token)).expect("HMAC takes any key length");
    mac.update(data_check_string.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn data_check_string(fields: &BTreeMap<String, String>) -> String {
    fields.iter().filter(|(k, _)| k.as_str() != "hash").map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n")
}

/// A launch-data string for `user_json` dated `auth_date`, signed with `bot_token` the way
/// Telegram signs it: what the demo and the tests open the Mini App pages with.
pub fn sign_init_data(user_json: &str, auth_date: i64, bot_token: &str) -> String {
    let mut fields = BTreeMap::from([("auth_date".to_owned(), auth_date.to_string()), ("user".to_owned(), user_json.to_owned())]);
    fields.insert("hash".into(), sign(&data_check_string(&fields), bot_token));
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish()
}

/// The fields of `raw`, URL-decoded after splitting; a repeated field is refused.
pub(crate) fn parse_fields(raw: &str) -> Result<BTreeMap<String, String>, InitDataError> {
    if raw.is_empty() || raw.len() > MAX_INIT_DATA_BYTES {
        return Err(InitDataError::Size);
    }
    let mut fields = BTreeMap::new();
    for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        if fields.insert(key.to_string(), value.into_owned()).is_some() {
            return Err(InitDataError::Duplicate(key.into_owned()));
        }
    }
    Ok(fields)
}

/// The signed fields' auth date, fresh within `max_age_secs`, and their user.
pub(crate) fn checked_contents(fields: BTreeMap<String, String>, now: Timestamp, max_age_secs: i64) -> Result<InitData, InitDataError> {
    let auth_date = fields.get("auth_date").and_then(|d| d.parse::<i64>().ok()).map(Timestamp).ok_or(InitDataError::NoAuthDate)?;
    let age = now.0 - auth_date.0;
    if age < -60 {
        return Err(InitDataError::FromTheFuture);
    }
    if age > max_age_secs {
        return Err(InitDataError::Expired { age_secs: age, max_age_secs });
    }
    let user: WebAppUser = fields.get("user").and_then(|u| serde_json::from_str(u).ok()).ok_or(InitDataError::NoUser)?;
    if user.id <= 0 {
        return Err(InitDataError::NoUser);
    }
    Ok(InitData { user, auth_date, fields })
}

/// Checks `raw` (the initData string as the page got it) for `bot_token`, fresh within
/// `max_age_secs` of `now` (a minute of clock skew into the future is allowed).
pub fn validate_init_data(raw: &str, bot_token: &str, now: Timestamp, max_age_secs: i64) -> Result<InitData, InitDataError> {
    let fields = parse_fields(raw)?;
    let given = fields.get("hash").ok_or(InitDataError::NoHash)?;
    let expected = sign(&data_check_string(&fields), bot_token);
    if !bool::from(expected.as_bytes().ct_eq(given.to_ascii_lowercase().as_bytes())) {
        return Err(InitDataError::BadSignature);
    }
    // Only signed data is looked at from here on.
    checked_contents(fields, now, max_age_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Public vector (init-data-golang `validate_test.go`, docs.telegram-mini-apps.com).
    const V1_TOKEN: &str = "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8";
    const V1: &str = "query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=%7B%22id%22%3A279058397%2C%22first_name%22%3A%22Vladislav%22%2C%22last_name%22%3A%22Kibenko%22%2C%22username%22%3A%22vdkfrost%22%2C%22language_code%22%3A%22ru%22%2C%22is_premium%22%3Atrue%7D&auth_date=1662771648&hash=c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2";
    const V1_AUTH: i64 = 1_662_771_648;
    const DAY: i64 = 86_400;

    #[test]
    fn the_public_vector_validates_and_names_its_user() {
        let data = validate_init_data(V1, V1_TOKEN, Timestamp(V1_AUTH + 10), DAY).unwrap();
        assert_eq!(data.user.id, 279_058_397);
        assert_eq!(data.user.username.as_deref(), Some("vdkfrost"));
        assert_eq!(data.user.language_code.as_deref(), Some("ru"));
        assert_eq!(data.auth_date, Timestamp(V1_AUTH));
    }

    #[test]
    fn the_signing_key_matches_tma_js() {
        // tma.js `init-data-node` test: signData("abc", "my-secret-token").
        assert_eq!(sign("abc", "my-secret-token"), "6ecc2e9b51f30dde6877ce374ede54eb626c84e78a5d9a9dcac54d2d248f6bde");
    }

    #[test]
    fn another_bot_a_changed_field_or_a_missing_hash_is_refused() {
        let now = Timestamp(V1_AUTH + 10);
        assert_eq!(validate_init_data(V1, "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx9", now, DAY), Err(InitDataError::BadSignature));
        let other_user = V1.replace("279058397", "279058398");
        assert_eq!(validate_init_data(&other_user, V1_TOKEN, now, DAY), Err(InitDataError::BadSignature));
        let older = V1.replace("auth_date=1662771648", "auth_date=1662771649");
        assert_eq!(validate_init_data(&older, V1_TOKEN, now, DAY), Err(InitDataError::BadSignature));
        let added = format!("{V1}&chat_type=private");
        assert_eq!(validate_init_data(&added, V1_TOKEN, now, DAY), Err(InitDataError::BadSignature), "an added field is signed too");
        let unhashed = V1.split("&hash=").next().unwrap();
        assert_eq!(validate_init_data(unhashed, V1_TOKEN, now, DAY), Err(InitDataError::NoHash));
        assert_eq!(validate_init_data(&format!("{V1}&hash=00"), V1_TOKEN, now, DAY), Err(InitDataError::Duplicate("hash".into())));
        assert_eq!(validate_init_data("", V1_TOKEN, now, DAY), Err(InitDataError::Size));
        assert_eq!(validate_init_data(&"a".repeat(MAX_INIT_DATA_BYTES + 1), V1_TOKEN, now, DAY), Err(InitDataError::Size));
    }

    #[test]
    fn only_fresh_data_is_accepted() {
        assert_eq!(validate_init_data(V1, V1_TOKEN, Timestamp(V1_AUTH + DAY + 1), DAY), Err(InitDataError::Expired { age_secs: DAY + 1, max_age_secs: DAY }));
        assert!(validate_init_data(V1, V1_TOKEN, Timestamp(V1_AUTH + DAY), DAY).is_ok());
        assert_eq!(validate_init_data(V1, V1_TOKEN, Timestamp(V1_AUTH - 3600), DAY), Err(InitDataError::FromTheFuture));
    }

    #[test]
    fn data_signed_here_validates_byte_exact_with_escapes_and_unknown_fields() {
        // What tests will sign for the Mini App pages: a `\/` escape and an `&` inside the JSON.
        let token = "123456:test-token";
        let user = r#"{"id":42,"first_name":"A&B","photo_url":"https:\/\/t.me\/i\/userpic\/320\/x.jpg"}"#;
        let mut fields = BTreeMap::from([
            ("auth_date".to_owned(), "1700000000".to_owned()),
            ("chat_instance".to_owned(), "-77".to_owned()),
            ("user".to_owned(), user.to_owned()),
        ]);
        let hash = sign(&data_check_string(&fields), token);
        fields.insert("hash".into(), hash);
        let raw: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
        let data = validate_init_data(&raw, token, Timestamp(1_700_000_100), DAY).unwrap();
        assert_eq!((data.user.id, data.user.first_name.as_str()), (42, "A&B"));
        assert_eq!(data.fields["chat_instance"], "-77");
    }

    #[test]
    fn what_sign_init_data_makes_validates() {
        let raw = sign_init_data(r#"{"id":7,"first_name":"Ann","language_code":"en"}"#, 1_700_000_000, "1:t");
        let data = validate_init_data(&raw, "1:t", Timestamp(1_700_000_001), DAY).unwrap();
        assert_eq!((data.user.id, data.user.language_code.as_deref()), (7, Some("en")));
        assert_eq!(validate_init_data(&raw, "1:u", Timestamp(1_700_000_001), DAY), Err(InitDataError::BadSignature));
    }
}
