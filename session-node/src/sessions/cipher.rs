//! Sessions at rest: AES-256-GCM with a key id, so keys rotate — the first key seals, every
//! listed key opens. Sealed form: `v2.<key id>.<base64(nonce ‖ ciphertext ‖ tag)>`, with the
//! user's id as associated data: a sealed session copied into another user's item does not
//! open there. `v1` (no associated data) still opens, and is sealed again as v2 when stored.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use siftgram_core::model::UserId;
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use siftgram_sealed::PasswordKeys;
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CipherError {
    #[error("session keys: {0}")]
    Config(String),
    #[error("sealed with key {0:?}, which is not configured")]
    UnknownKey(String),
    #[error("the sealed session is damaged or was sealed with another key")]
    Damaged,
}

#[derive(Clone)]
pub struct SessionCipher {
    /// (key id, key); the first seals.
    keys: Vec<(String, Aes256Gcm)>,
    /// The keys 2FA passwords are sealed to on their way here, derived from the same keys.
    passwords: PasswordKeys,
}

impl std::fmt::Debug for SessionCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCipher").field("key_ids", &self.keys.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>()).finish()
    }
}

impl SessionCipher {
    /// `id:base64-32-bytes[,id:…]` — the first key seals, all open (rotation: put the new key
    /// first, keep the old ones until every session was resealed).
    pub fn from_spec(spec: &str) -> Result<SessionCipher, CipherError> {
        let mut keys = Vec::new();
        let mut raw: Vec<(String, Zeroizing<[u8; 32]>)> = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (id, key) = part.split_once(':').ok_or_else(|| CipherError::Config("expected id:base64key".into()))?;
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                return Err(CipherError::Config(format!("key id {id:?} must be letters, digits, - or _")));
            }
            let bytes = STANDARD.decode(key.trim()).map_err(|_| CipherError::Config(format!("key {id:?} is not base64")))?;
            if bytes.len() != 32 {
                return Err(CipherError::Config(format!("key {id:?} must be 32 bytes, not {}", bytes.len())));
            }
            keys.push((id.to_owned(), Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes))));
            let mut key = Zeroizing::new([0u8; 32]);
            key.copy_from_slice(&bytes);
            raw.push((id.to_owned(), key));
        }
        if keys.is_empty() {
            return Err(CipherError::Config("no key".into()));
        }
        let passwords = PasswordKeys::derive(raw.iter().map(|(id, key)| (id.as_str(), &**key)));
        Ok(SessionCipher { keys, passwords })
    }

    /// A fresh random key spec (`<id>:<base64>`), for a standalone node's first start.
    pub fn generate_spec(id: &str) -> String {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the OS has randomness");
        format!("{id}:{}", STANDARD.encode(key))
    }

    /// The node's side of sealed 2FA passwords.
    pub fn passwords(&self) -> &PasswordKeys {
        &self.passwords
    }

    /// Seals `user`'s session, bound to that user.
    pub fn seal(&self, user: UserId, plain: &[u8]) -> String {
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).expect("the OS has randomness");
        let aad = bound_to(user);
        let sealed = cipher.encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: &aad }).expect("AES-GCM encrypts any length we store");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("v2.{id}.{}", STANDARD.encode(out))
    }

    /// Opens `user`'s sealed session; one sealed for another user is `Damaged`.
    pub fn open(&self, user: UserId, sealed: &str) -> Result<Vec<u8>, CipherError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(version @ ("v1" | "v2")), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else { return Err(CipherError::Damaged) };
        let cipher = &self.keys.iter().find(|(k, _)| k == id).ok_or_else(|| CipherError::UnknownKey(id.to_owned()))?.1;
        let bytes = STANDARD.decode(body).map_err(|_| CipherError::Damaged)?;
        if bytes.len() < 12 + 16 {
            return Err(CipherError::Damaged);
        }
        let aad = if version == "v2" { bound_to(user) } else { Vec::new() };
        cipher.decrypt(Nonce::from_slice(&bytes[..12]), Payload { msg: &bytes[12..], aad: &aad }).map_err(|_| CipherError::Damaged)
    }

    /// Whether `sealed` predates binding to the user (and should be sealed again).
    pub fn is_unbound(sealed: &str) -> bool {
        sealed.starts_with("v1.")
    }
}

fn bound_to(user: UserId) -> Vec<u8> {
    format!("siftgram-session|user={user}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anna() -> UserId {
        UserId::new(5).unwrap()
    }

    #[test]
    fn sealed_sessions_open_with_any_listed_key_and_never_leak_plaintext() {
        let old = SessionCipher::generate_spec("k1");
        let new = SessionCipher::generate_spec("k2");
        let before = SessionCipher::from_spec(&old).unwrap();
        let sealed = before.seal(anna(), b"auth key bytes");
        assert!(!sealed.contains("auth key"));
        assert_ne!(before.seal(anna(), b"auth key bytes"), sealed, "a fresh nonce every time");
        let rotated = SessionCipher::from_spec(&format!("{new},{old}")).unwrap();
        assert_eq!(rotated.open(anna(), &sealed).unwrap(), b"auth key bytes", "old sessions stay readable");
        assert!(rotated.seal(anna(), b"x").starts_with("v2.k2."), "new ones use the new key");
        let only_new = SessionCipher::from_spec(&new).unwrap();
        assert_eq!(only_new.open(anna(), &sealed), Err(CipherError::UnknownKey("k1".into())));
        let mut tampered = sealed.clone();
        tampered.replace_range(tampered.len() - 6..tampered.len() - 4, "AA");
        assert_eq!(before.open(anna(), &tampered), Err(CipherError::Damaged));
        assert!(SessionCipher::from_spec("k:c2hvcnQ=").is_err(), "a short key is refused");
        assert!(!format!("{before:?}").contains(old.split(':').nth(1).unwrap()), "Debug shows key ids only");
    }

    #[test]
    fn a_session_opens_only_for_the_user_it_was_sealed_for() {
        let cipher = SessionCipher::from_spec(&SessionCipher::generate_spec("k1")).unwrap();
        let sealed = cipher.seal(anna(), b"keys");
        assert_eq!(cipher.open(UserId::new(6).unwrap(), &sealed), Err(CipherError::Damaged), "copied into another user's item");
        assert_eq!(cipher.open(anna(), &sealed).unwrap(), b"keys");
        // A v1 session (before binding) still opens for its user, and is known to need resealing.
        let (_, key) = &cipher.keys[0];
        let nonce = [7u8; 12];
        let mut body = nonce.to_vec();
        body.extend(key.encrypt(Nonce::from_slice(&nonce), b"old keys".as_slice()).unwrap());
        let legacy = format!("v1.k1.{}", STANDARD.encode(body));
        assert_eq!(cipher.open(anna(), &legacy).unwrap(), b"old keys");
        assert!(SessionCipher::is_unbound(&legacy) && !SessionCipher::is_unbound(&sealed));
    }
}
