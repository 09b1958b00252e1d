//! The RPC endpoint-mapper client (being written).
