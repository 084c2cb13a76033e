use crate::model::ValidationError;
use crate::ports::StoreError;
use crate::rules::{AdminError, InviteError, LimitError};

#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum RepoError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    #[error(transparent)]
    Invite(#[from] InviteError),
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error(transparent)]
    Admin(#[from] AdminError),
    #[error("too much concurrent change to {0}; try again")]
    Contended(&'static str),
    #[error("stored {what} could not be read: {why}")]
    Corrupt { what: &'static str, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}
