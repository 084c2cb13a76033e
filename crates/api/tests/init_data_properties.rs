//! Mini App launch data from anywhere: whatever the string, a typed refusal and no panic; what
//! Telegram signed is accepted as signed; any change to a signed field, with the hash kept, is a
//! forgery and refused.

use proptest::prelude::*;
use siftgram_api::auth::{InitDataError, sign_init_data, validate_init_data};
use siftgram_core::Timestamp;

const TOKEN: &str = "7000000001:AAFakeTokenForSiftgramTests_0123456789";
const NOW: i64 = 1_795_000_000;

fn user_json(id: i64, first_name: &str) -> String {
    serde_json::json!({"id": id, "first_name": first_name, "language_code": "ru"}).to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn any_string_is_refused_with_a_reason(raw in prop_oneof!["\\PC{0,300}", "((auth_date|user|hash|query_id)=[^&]{0,40}&?){0,6}"]) {
        prop_assert!(validate_init_data(&raw, TOKEN, Timestamp(NOW), 3600).is_err());
    }

    #[test]
    fn signed_data_is_accepted_and_a_changed_field_is_a_forgery(id in 1i64..10_000_000_000, other in 1i64..10_000_000_000, name in "\\PC{0,30}", age in 0i64..3600) {
        let signed = sign_init_data(&user_json(id, &name), NOW - age, TOKEN);
        let data = validate_init_data(&signed, TOKEN, Timestamp(NOW), 3600).expect("what Telegram signed");
        prop_assert_eq!((data.user.id, data.user.first_name.as_str()), (id, name.as_str()));

        let fields: Vec<(String, String)> = url::form_urlencoded::parse(signed.as_bytes()).into_owned().collect();
        let reencode = |fields: &[(String, String)]| url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut forged_user = fields.clone();
        for (k, v) in forged_user.iter_mut() {
            if k == "user" && other != id {
                *v = user_json(other, &name);
            }
        }
        if other != id {
            prop_assert_eq!(validate_init_data(&reencode(&forged_user), TOKEN, Timestamp(NOW), 3600).unwrap_err(), InitDataError::BadSignature);
        }
        let mut added = fields.clone();
        added.push(("start_param".into(), "admin".into()));
        prop_assert_eq!(validate_init_data(&reencode(&added), TOKEN, Timestamp(NOW), 3600).unwrap_err(), InitDataError::BadSignature);
        let mut redated = fields;
        for (k, v) in redated.iter_mut() {
            if k == "auth_date" {
                *v = (NOW - age + 1).to_string();
            }
        }
        prop_assert_eq!(validate_init_data(&reencode(&redated), TOKEN, Timestamp(NOW), 3600).unwrap_err(), InitDataError::BadSignature);
        prop_assert!(validate_init_data(&signed, "7000000002:AnotherBotsToken_0123456789abcdef", Timestamp(NOW), 3600).is_err(), "another bot's token");
    }
}
