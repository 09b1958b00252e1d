//! The one error type of every decoder in this crate.

use thiserror::Error;

/// Why a sequence of bytes could not be decoded.
///
/// Each variant says which field was wrong so that a per-port error in portq's
/// output can tell the administrator what the server actually sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes are present than the field being read needs.
    #[error("truncated {what}: need {needed} bytes, have {available}")]
    Truncated {
        /// The field or structure being read.
        what: &'static str,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes actually left.
        available: usize,
    },
    /// A length or count is larger than the cap this decoder allows.
    #[error("{what} of {value} exceeds the limit of {limit}")]
    TooLarge {
        /// The length or count being checked.
        what: &'static str,
        /// The value found on the wire.
        value: usize,
        /// The largest value accepted.
        limit: usize,
    },
    /// A field holds a value this decoder does not accept.
    #[error("invalid {what}: {detail}")]
    Invalid {
        /// The field being read.
        what: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// The message is well formed but of a kind the caller did not expect.
    #[error("unexpected {what}: got {got}")]
    Unexpected {
        /// What was expected.
        what: &'static str,
        /// What arrived instead.
        got: String,
    },
}

impl WireError {
    /// Shorthand for [`WireError::Invalid`].
    pub fn invalid(what: &'static str, detail: impl Into<String>) -> Self {
        WireError::Invalid {
            what,
            detail: detail.into(),
        }
    }
}
