//! Presentation syntaxes and the presentation-context negotiation types
//! (C706 12.6.3.1 `p_syntax_id_t`, `p_cont_elem_t`, `p_result_t`).

use uuid::Uuid;

use crate::WireError;
use crate::ndr::{NdrReader, NdrWriter};

/// On-the-wire size of a `p_syntax_id_t`: UUID + 32-bit version.
pub const SYNTAX_ID_LEN: usize = 20;

/// An interface or transfer syntax: UUID and major.minor version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SyntaxId {
    /// The interface or syntax UUID.
    pub uuid: Uuid,
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
}

/// NDR 2.0 transfer syntax `8a885d04-1ceb-11c9-9fe8-08002b104860` v2.0.
pub const NDR_SYNTAX: SyntaxId = SyntaxId::new(
    Uuid::from_u128(0x8a885d04_1ceb_11c9_9fe8_08002b104860),
    2,
    0,
);

/// NDR64 transfer syntax `71710533-beba-4937-8319-b5dbef9ccc36` v1.0.
pub const NDR64_SYNTAX: SyntaxId = SyntaxId::new(
    Uuid::from_u128(0x71710533_beba_4937_8319_b5dbef9ccc36),
    1,
    0,
);

impl SyntaxId {
    /// Builds a syntax id.
    pub const fn new(uuid: Uuid, major: u16, minor: u16) -> Self {
        SyntaxId { uuid, major, minor }
    }

    /// The 32-bit `if_version` of a `p_syntax_id_t`: major in the low half.
    pub fn packed_version(&self) -> u32 {
        u32::from(self.major) | (u32::from(self.minor) << 16)
    }

    pub(crate) fn write(&self, w: &mut NdrWriter) {
        w.uuid(&self.uuid);
        w.u32(self.packed_version());
    }

    pub(crate) fn read(r: &mut NdrReader<'_>, what: &'static str) -> Result<Self, WireError> {
        let uuid = r.uuid(what)?;
        let version = r.u32(what)?;
        Ok(SyntaxId {
            uuid,
            major: (version & 0xffff) as u16,
            minor: (version >> 16) as u16,
        })
    }
}

impl std::fmt::Display for SyntaxId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} v{}.{}", self.uuid, self.major, self.minor)
    }
}

/// One presentation context offered in a bind or alter_context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationContext {
    /// `p_cont_id`, referenced later by requests.
    pub context_id: u16,
    /// The interface being bound.
    pub abstract_syntax: SyntaxId,
    /// Transfer syntaxes offered, in preference order.
    pub transfer_syntaxes: Vec<SyntaxId>,
}

/// Minimum wire size of a `p_cont_elem_t` (no transfer syntaxes).
pub(crate) const CONTEXT_ELEM_MIN_LEN: usize = 4 + SYNTAX_ID_LEN;

impl PresentationContext {
    /// A context offering only NDR 2.0 for `abstract_syntax`.
    pub fn ndr(context_id: u16, abstract_syntax: SyntaxId) -> Self {
        PresentationContext {
            context_id,
            abstract_syntax,
            transfer_syntaxes: vec![NDR_SYNTAX],
        }
    }
}

/// `p_cont_def_result_t`: the server's answer for one presentation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckResult {
    /// 0: accepted.
    Acceptance,
    /// 1: rejected by the user (server application).
    UserRejection,
    /// 2: rejected by the RPC runtime; see the reason.
    ProviderRejection,
    /// 3: [MS-RPCE] bind-time feature negotiation acknowledgement.
    NegotiateAck,
    /// Any other value.
    Other(u16),
}

impl AckResult {
    /// Maps the wire value.
    pub fn from_u16(v: u16) -> Self {
        match v {
            0 => AckResult::Acceptance,
            1 => AckResult::UserRejection,
            2 => AckResult::ProviderRejection,
            3 => AckResult::NegotiateAck,
            other => AckResult::Other(other),
        }
    }

    /// The wire value.
    pub fn to_u16(self) -> u16 {
        match self {
            AckResult::Acceptance => 0,
            AckResult::UserRejection => 1,
            AckResult::ProviderRejection => 2,
            AckResult::NegotiateAck => 3,
            AckResult::Other(v) => v,
        }
    }
}

/// `p_provider_reason_t`: why a presentation context was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProviderReason {
    /// 0: no reason given.
    NotSpecified,
    /// 1: the interface (abstract syntax) is not registered.
    AbstractSyntaxNotSupported,
    /// 2: none of the offered transfer syntaxes is supported.
    TransferSyntaxesNotSupported,
    /// 3: a local limit was exceeded.
    LocalLimitExceeded,
    /// Any other value.
    Other(u16),
}

impl ProviderReason {
    /// Maps the wire value.
    pub fn from_u16(v: u16) -> Self {
        match v {
            0 => ProviderReason::NotSpecified,
            1 => ProviderReason::AbstractSyntaxNotSupported,
            2 => ProviderReason::TransferSyntaxesNotSupported,
            3 => ProviderReason::LocalLimitExceeded,
            other => ProviderReason::Other(other),
        }
    }
}

/// One entry of a bind_ack's result list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextResult {
    /// Accepted or rejected.
    pub result: AckResult,
    /// The raw reason field (a [`ProviderReason`] when rejected; feature bits on
    /// [`AckResult::NegotiateAck`]).
    pub reason: u16,
    /// The transfer syntax the server picked (all-zero when rejected).
    pub transfer_syntax: SyntaxId,
}

/// Wire size of a `p_result_t`.
pub(crate) const CONTEXT_RESULT_LEN: usize = 4 + SYNTAX_ID_LEN;

impl ContextResult {
    /// The reason as a provider rejection reason.
    pub fn provider_reason(&self) -> ProviderReason {
        ProviderReason::from_u16(self.reason)
    }

    /// An acceptance of `transfer_syntax`.
    pub fn accept(transfer_syntax: SyntaxId) -> Self {
        ContextResult {
            result: AckResult::Acceptance,
            reason: 0,
            transfer_syntax,
        }
    }

    pub(crate) fn write(&self, w: &mut NdrWriter) {
        w.u16(self.result.to_u16());
        w.u16(self.reason);
        self.transfer_syntax.write(w);
    }

    pub(crate) fn read(r: &mut NdrReader<'_>) -> Result<Self, WireError> {
        let result = AckResult::from_u16(r.u16("p_result.result")?);
        let reason = r.u16("p_result.reason")?;
        let transfer_syntax = SyntaxId::read(r, "p_result.transfer_syntax")?;
        Ok(ContextResult {
            result,
            reason,
            transfer_syntax,
        })
    }
}
