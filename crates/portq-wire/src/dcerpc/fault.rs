//! Fault status codes: the NCA values of C706 Appendix E and the Win32 values
//! Microsoft servers put in fault PDUs ([MS-RPCE] 2.2.2.6 / 3.1.1.5.5).

/// Win32 `ERROR_ACCESS_DENIED`, what Windows sends for access-denied faults.
pub const ACCESS_DENIED: u32 = 0x0000_0005;
/// Win32 `RPC_S_UNKNOWN_IF`.
pub const RPC_S_UNKNOWN_IF: u32 = 0x0000_06b5;
/// Win32 `RPC_S_SERVER_TOO_BUSY`.
pub const RPC_S_SERVER_TOO_BUSY: u32 = 0x0000_06bb;
/// Win32 `RPC_S_CALL_FAILED_DNE` (call failed and did not execute).
pub const RPC_S_CALL_FAILED_DNE: u32 = 0x0000_06bf;
/// Win32 `RPC_S_PROTOCOL_ERROR`.
pub const RPC_S_PROTOCOL_ERROR: u32 = 0x0000_06c0;
/// Win32 `RPC_S_PROCNUM_OUT_OF_RANGE`.
pub const RPC_S_PROCNUM_OUT_OF_RANGE: u32 = 0x0000_06d1;
/// Win32 `RPC_S_CANNOT_SUPPORT`.
pub const RPC_S_CANNOT_SUPPORT: u32 = 0x0000_06e4;
/// Win32 `RPC_X_BAD_STUB_DATA`.
pub const RPC_X_BAD_STUB_DATA: u32 = 0x0000_06f7;

/// `nca_s_fault_int_div_by_zero`.
pub const NCA_S_FAULT_INT_DIV_BY_ZERO: u32 = 0x1c00_0001;
/// `nca_s_fault_addr_error`.
pub const NCA_S_FAULT_ADDR_ERROR: u32 = 0x1c00_0002;
/// `nca_s_fault_invalid_tag`.
pub const NCA_S_FAULT_INVALID_TAG: u32 = 0x1c00_0006;
/// `nca_s_fault_invalid_bound`.
pub const NCA_S_FAULT_INVALID_BOUND: u32 = 0x1c00_0007;
/// `nca_s_rpc_version_mismatch`.
pub const NCA_S_RPC_VERSION_MISMATCH: u32 = 0x1c00_0008;
/// `nca_s_unspec_reject`.
pub const NCA_S_UNSPEC_REJECT: u32 = 0x1c00_0009;
/// `nca_s_fault_cancel`.
pub const NCA_S_FAULT_CANCEL: u32 = 0x1c00_000d;
/// `nca_s_fault_unspec`.
pub const NCA_S_FAULT_UNSPEC: u32 = 0x1c00_0012;
/// `nca_s_fault_context_mismatch`.
pub const NCA_S_FAULT_CONTEXT_MISMATCH: u32 = 0x1c00_001a;
/// `nca_s_fault_remote_no_memory`.
pub const NCA_S_FAULT_REMOTE_NO_MEMORY: u32 = 0x1c00_001b;
/// `nca_s_invalid_pres_context_id`.
pub const NCA_S_INVALID_PRES_CONTEXT_ID: u32 = 0x1c00_001c;
/// `nca_s_unsupported_authn_level`.
pub const NCA_S_UNSUPPORTED_AUTHN_LEVEL: u32 = 0x1c00_001d;
/// `nca_s_comm_failure`.
pub const NCA_S_COMM_FAILURE: u32 = 0x1c01_0001;
/// `nca_s_op_rng_error`: the opnum is out of range for the interface.
pub const NCA_S_OP_RNG_ERROR: u32 = 0x1c01_0002;
/// `nca_s_unk_if`: the interface is unknown to the server.
pub const NCA_S_UNK_IF: u32 = 0x1c01_0003;
/// `nca_s_wrong_boot_time`.
pub const NCA_S_WRONG_BOOT_TIME: u32 = 0x1c01_0006;
/// `nca_s_you_crashed`.
pub const NCA_S_YOU_CRASHED: u32 = 0x1c01_0009;
/// `nca_s_proto_error`: protocol error.
pub const NCA_S_PROTO_ERROR: u32 = 0x1c01_000b;
/// `nca_s_out_args_too_big`.
pub const NCA_S_OUT_ARGS_TOO_BIG: u32 = 0x1c01_0013;
/// `nca_s_server_too_busy`.
pub const NCA_S_SERVER_TOO_BUSY: u32 = 0x1c01_0014;
/// `nca_s_unsupported_type`.
pub const NCA_S_UNSUPPORTED_TYPE: u32 = 0x1c01_0017;

const NAMES: &[(u32, &str)] = &[
    (ACCESS_DENIED, "access_denied"),
    (RPC_S_UNKNOWN_IF, "rpc_s_unknown_if"),
    (RPC_S_SERVER_TOO_BUSY, "rpc_s_server_too_busy"),
    (RPC_S_CALL_FAILED_DNE, "rpc_s_call_failed_dne"),
    (RPC_S_PROTOCOL_ERROR, "rpc_s_protocol_error"),
    (RPC_S_PROCNUM_OUT_OF_RANGE, "rpc_s_procnum_out_of_range"),
    (RPC_S_CANNOT_SUPPORT, "rpc_s_cannot_support"),
    (RPC_X_BAD_STUB_DATA, "rpc_x_bad_stub_data"),
    (NCA_S_FAULT_INT_DIV_BY_ZERO, "nca_s_fault_int_div_by_zero"),
    (NCA_S_FAULT_ADDR_ERROR, "nca_s_fault_addr_error"),
    (NCA_S_FAULT_INVALID_TAG, "nca_s_fault_invalid_tag"),
    (NCA_S_FAULT_INVALID_BOUND, "nca_s_fault_invalid_bound"),
    (NCA_S_RPC_VERSION_MISMATCH, "nca_s_rpc_version_mismatch"),
    (NCA_S_UNSPEC_REJECT, "nca_s_unspec_reject"),
    (NCA_S_FAULT_CANCEL, "nca_s_fault_cancel"),
    (NCA_S_FAULT_UNSPEC, "nca_s_fault_unspec"),
    (NCA_S_FAULT_CONTEXT_MISMATCH, "nca_s_fault_context_mismatch"),
    (NCA_S_FAULT_REMOTE_NO_MEMORY, "nca_s_fault_remote_no_memory"),
    (
        NCA_S_INVALID_PRES_CONTEXT_ID,
        "nca_s_invalid_pres_context_id",
    ),
    (
        NCA_S_UNSUPPORTED_AUTHN_LEVEL,
        "nca_s_unsupported_authn_level",
    ),
    (NCA_S_COMM_FAILURE, "nca_s_comm_failure"),
    (NCA_S_OP_RNG_ERROR, "nca_s_op_rng_error"),
    (NCA_S_UNK_IF, "nca_s_unk_if"),
    (NCA_S_WRONG_BOOT_TIME, "nca_s_wrong_boot_time"),
    (NCA_S_YOU_CRASHED, "nca_s_you_crashed"),
    (NCA_S_PROTO_ERROR, "nca_s_proto_error"),
    (NCA_S_OUT_ARGS_TOO_BIG, "nca_s_out_args_too_big"),
    (NCA_S_SERVER_TOO_BUSY, "nca_s_server_too_busy"),
    (NCA_S_UNSUPPORTED_TYPE, "nca_s_unsupported_type"),
];

/// The conventional name of a fault status, or `None` for an unlisted value.
pub fn fault_status_name(status: u32) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|(code, _)| *code == status)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_common_faults() {
        assert_eq!(fault_status_name(0x1c01_0002), Some("nca_s_op_rng_error"));
        assert_eq!(fault_status_name(0x1c01_0003), Some("nca_s_unk_if"));
        assert_eq!(fault_status_name(0x1c01_000b), Some("nca_s_proto_error"));
        assert_eq!(fault_status_name(5), Some("access_denied"));
        assert_eq!(fault_status_name(0xdead_beef), None);
    }

    #[test]
    fn codes_are_unique() {
        for (i, (a, _)) in NAMES.iter().enumerate() {
            assert!(NAMES.iter().skip(i + 1).all(|(b, _)| a != b), "{a:#x}");
        }
    }
}
