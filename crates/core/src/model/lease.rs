use crate::Timestamp;
use serde::{Deserialize, Serialize};

/// Exclusive ownership of a resource (a user's MTProto session) by one node until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub resource: String,
    pub owner: String,
    pub expires_at: Timestamp,
}
