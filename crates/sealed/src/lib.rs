//! A user's two-step verification password travels from the Mini App's API to the session node
//! over the commands queue (SQS in the cloud, the embedded queue file standalone), and a queue
//! keeps what it carries: in flight, on disk, in its dead-letter queue for days. So the password
//! is sealed to the session node before it is enqueued, and only the node can open it:
//!
//! * ECIES over X25519: a fresh ephemeral key per password, the shared secret through
//!   HKDF-SHA256 (salt: both public keys) into a one-time AES-256-GCM key. The sender holds only
//!   the node's public key (published in the table store), never a key that opens sessions.
//! * The associated data binds the user, the expiry and the key id: a sealed password replayed
//!   for another user, after its expiry, or with its expiry changed does not open.
//! * The node's X25519 key is derived from its session key (HKDF, its own label), so it rotates
//!   with `SIFTGRAM_SESSION_KEYS` and needs no setting of its own.

use aes_gcm::aead::{Aead, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac};
use sha2::Sha256;
use siftgram_core::Timestamp;
use siftgram_core::messages::{PasswordKeyInfo, SealedSecret};
use siftgram_core::model::UserId;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

/// The longest a password may be (Telegram's own limit is far below).
pub const MAX_PASSWORD_BYTES: usize = 1024;

const SESSION_KEY_LABEL: &[u8] = b"siftgram password box: node key v1";
const MESSAGE_KEY_LABEL: &[u8] = b"siftgram password box: message key v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("the password is empty or longer than {MAX_PASSWORD_BYTES} bytes")]
    BadPassword,
    #[error("the node's public key is not valid")]
    BadPublicKey,
    #[error("sealed with key {0:?}, which this node does not have")]
    UnknownKey(String),
    #[error("the sealed password expired")]
    Expired,
    #[error("the sealed password is damaged, or sealed for another user")]
    Damaged,
}

fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8]) -> Zeroizing<[u8; 32]> {
    // RFC 5869 with one output block: PRK = HMAC(salt, IKM); OKM = HMAC(PRK, info ‖ 0x01).
    let mut extract = Hmac::<Sha256>::new_from_slice(salt).expect("HMAC takes any key length");
    extract.update(ikm);
    let mut prk = Zeroizing::new([0u8; 32]);
    prk.copy_from_slice(&extract.finalize().into_bytes());
    let mut expand = Hmac::<Sha256>::new_from_slice(&*prk).expect("HMAC takes any key length");
    expand.update(info);
    expand.update(&[1]);
    let mut okm = Zeroizing::new([0u8; 32]);
    okm.copy_from_slice(&expand.finalize().into_bytes());
    okm
}

fn associated_data(user: UserId, expires_at: Timestamp, key_id: &str) -> Vec<u8> {
    format!("siftgram-password-v1|user={user}|expires={}|key={key_id}", expires_at.0).into_bytes()
}

fn message_cipher(shared: &[u8; 32], ephemeral: &PublicKey, recipient: &PublicKey) -> Aes256Gcm {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral.as_bytes());
    salt[32..].copy_from_slice(recipient.as_bytes());
    let key = hkdf_sha256(&salt, shared, MESSAGE_KEY_LABEL);
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&*key))
}

/// Every message key is used once (a fresh ephemeral key each time), so a fixed nonce is safe.
fn nonce() -> &'static Nonce<aes_gcm::aead::consts::U12> {
    Nonce::from_slice(&[0u8; 12])
}

/// Seals `password` for the session node holding `to`, for `user`, until `expires_at`.
pub fn seal(to: &PasswordKeyInfo, user: UserId, expires_at: Timestamp, password: &str) -> Result<SealedSecret, SealError> {
    if password.is_empty() || password.len() > MAX_PASSWORD_BYTES {
        return Err(SealError::BadPassword);
    }
    let bytes: [u8; 32] = STANDARD.decode(&to.public).ok().and_then(|b| b.try_into().ok()).ok_or(SealError::BadPublicKey)?;
    let recipient = PublicKey::from(bytes);
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).expect("the OS has randomness");
    let ephemeral_secret = StaticSecret::from(seed);
    seed.zeroize();
    let ephemeral = PublicKey::from(&ephemeral_secret);
    let shared = ephemeral_secret.diffie_hellman(&recipient);
    if !shared.was_contributory() {
        return Err(SealError::BadPublicKey);
    }
    let aad = associated_data(user, expires_at, &to.key_id);
    let ciphertext = message_cipher(shared.as_bytes(), &ephemeral, &recipient)
        .encrypt(nonce(), Payload { msg: password.as_bytes(), aad: &aad })
        .expect("AES-GCM encrypts any short message");
    Ok(SealedSecret {
        key_id: to.key_id.clone(),
        ephemeral: STANDARD.encode(ephemeral.as_bytes()),
        ciphertext: STANDARD.encode(ciphertext),
        expires_at,
    })
}

/// The session node's side: one X25519 key per session key, the first one published.
#[derive(Clone)]
pub struct PasswordKeys {
    keys: Vec<(String, StaticSecret, PublicKey)>,
}

impl std::fmt::Debug for PasswordKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordKeys").field("key_ids", &self.keys.iter().map(|(id, ..)| id.as_str()).collect::<Vec<_>>()).finish()
    }
}

impl PasswordKeys {
    /// Derives the node's keys from its session keys `(id, 32 bytes)`, first one first.
    pub fn derive<'a>(session_keys: impl IntoIterator<Item = (&'a str, &'a [u8; 32])>) -> PasswordKeys {
        let keys = session_keys
            .into_iter()
            .map(|(id, key)| {
                let seed = hkdf_sha256(id.as_bytes(), key, SESSION_KEY_LABEL);
                let secret = StaticSecret::from(*seed);
                let public = PublicKey::from(&secret);
                (id.to_owned(), secret, public)
            })
            .collect();
        PasswordKeys { keys }
    }

    /// What senders seal to: the first key (the one that also seals sessions).
    pub fn public(&self) -> Option<PasswordKeyInfo> {
        self.keys.first().map(|(id, _, public)| PasswordKeyInfo { key_id: id.clone(), public: STANDARD.encode(public.as_bytes()) })
    }

    /// Opens a password sealed for `user`, refusing it once expired at `now`.
    pub fn open(&self, sealed: &SealedSecret, user: UserId, now: Timestamp) -> Result<Zeroizing<String>, SealError> {
        if now.0 >= sealed.expires_at.0 {
            return Err(SealError::Expired);
        }
        let (_, secret, public) = self.keys.iter().find(|(id, ..)| *id == sealed.key_id).ok_or_else(|| SealError::UnknownKey(sealed.key_id.clone()))?;
        let ephemeral: [u8; 32] = STANDARD.decode(&sealed.ephemeral).ok().and_then(|b| b.try_into().ok()).ok_or(SealError::Damaged)?;
        let ephemeral = PublicKey::from(ephemeral);
        let ciphertext = STANDARD.decode(&sealed.ciphertext).map_err(|_| SealError::Damaged)?;
        let shared = secret.diffie_hellman(&ephemeral);
        if !shared.was_contributory() {
            return Err(SealError::Damaged);
        }
        let aad = associated_data(user, sealed.expires_at, &sealed.key_id);
        let plain = message_cipher(shared.as_bytes(), &ephemeral, public)
            .decrypt(nonce(), Payload { msg: &ciphertext, aad: &aad })
            .map_err(|_| SealError::Damaged)?;
        let plain = Zeroizing::new(plain);
        Ok(Zeroizing::new(String::from_utf8(plain.to_vec()).map_err(|_| SealError::Damaged)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(id: &str, byte: u8) -> PasswordKeys {
        PasswordKeys::derive([(id, &[byte; 32])])
    }
    fn user(id: i64) -> UserId {
        UserId::new(id).unwrap()
    }

    #[test]
    fn the_node_opens_what_was_sealed_to_it_and_nothing_reads_it_on_the_way() {
        let node = keys("k1", 7);
        let sealed = seal(&node.public().unwrap(), user(5), Timestamp(1_000), "correct horse").unwrap();
        let wire = serde_json::to_string(&sealed).unwrap();
        assert!(!wire.contains("correct horse") && !wire.contains(&STANDARD.encode("correct horse")), "{wire}");
        assert_eq!(node.open(&sealed, user(5), Timestamp(999)).unwrap().as_str(), "correct horse");
        let again = seal(&node.public().unwrap(), user(5), Timestamp(1_000), "correct horse").unwrap();
        assert_ne!(again.ciphertext, sealed.ciphertext, "a fresh ephemeral key every time");
    }

    #[test]
    fn another_user_an_expiry_a_changed_expiry_or_another_node_does_not_open_it() {
        let node = keys("k1", 7);
        let sealed = seal(&node.public().unwrap(), user(5), Timestamp(1_000), "pw").unwrap();
        assert_eq!(node.open(&sealed, user(6), Timestamp(10)), Err(SealError::Damaged));
        assert_eq!(node.open(&sealed, user(5), Timestamp(1_000)), Err(SealError::Expired));
        let stretched = SealedSecret { expires_at: Timestamp(9_999), ..sealed.clone() };
        assert_eq!(node.open(&stretched, user(5), Timestamp(1_500)), Err(SealError::Damaged));
        let other = keys("k1", 8);
        assert_eq!(other.open(&sealed, user(5), Timestamp(10)), Err(SealError::Damaged));
        assert_eq!(keys("k2", 7).open(&sealed, user(5), Timestamp(10)), Err(SealError::UnknownKey("k1".into())));
        let mut flipped = STANDARD.decode(&sealed.ciphertext).unwrap();
        flipped[0] ^= 1;
        let damaged = SealedSecret { ciphertext: STANDARD.encode(flipped), ..sealed };
        assert_eq!(node.open(&damaged, user(5), Timestamp(10)), Err(SealError::Damaged));
    }

    #[test]
    fn rotated_keys_still_open_passwords_sealed_to_the_old_one() {
        let old = keys("old", 1);
        let sealed = seal(&old.public().unwrap(), user(5), Timestamp(100), "pw").unwrap();
        let rotated = PasswordKeys::derive([("new", &[2u8; 32]), ("old", &[1u8; 32])]);
        assert_eq!(rotated.public().unwrap().key_id, "new");
        assert_eq!(rotated.open(&sealed, user(5), Timestamp(1)).unwrap().as_str(), "pw");
    }

    #[test]
    fn bad_inputs_are_refused_before_anything_is_sealed() {
        let node = keys("k1", 7).public().unwrap();
        assert_eq!(seal(&node, user(5), Timestamp(1), ""), Err(SealError::BadPassword));
        assert_eq!(seal(&node, user(5), Timestamp(1), &"x".repeat(MAX_PASSWORD_BYTES + 1)), Err(SealError::BadPassword));
        let zero = PasswordKeyInfo { key_id: "k1".into(), public: STANDARD.encode([0u8; 32]) };
        assert_eq!(seal(&zero, user(5), Timestamp(1), "pw"), Err(SealError::BadPublicKey), "a low-order point gives no secret");
        let short = PasswordKeyInfo { key_id: "k1".into(), public: "AAAA".into() };
        assert_eq!(seal(&short, user(5), Timestamp(1), "pw"), Err(SealError::BadPublicKey));
    }

    #[test]
    fn hkdf_matches_rfc_5869_test_case_1() {
        let ikm = [0x0bu8; 22];
        let salt: Vec<u8> = (0x00..=0x0c).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let okm = hkdf_sha256(&salt, &ikm, &info);
        let hex: String = okm.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf");
    }
}
