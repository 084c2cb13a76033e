#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ValidationError {
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("{what} is {len} characters, more than {max}")]
    TooLong { what: &'static str, len: usize, max: usize },
    #[error("{what} is not valid: {why}")]
    Malformed { what: &'static str, why: String },
}

pub(crate) fn malformed(what: &'static str, why: impl Into<String>) -> ValidationError {
    ValidationError::Malformed { what, why: why.into() }
}

pub(crate) fn check_len(what: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    let len = value.chars().count();
    if len == 0 {
        return Err(ValidationError::Empty(what));
    }
    if len > max {
        return Err(ValidationError::TooLong { what, len, max });
    }
    Ok(())
}
