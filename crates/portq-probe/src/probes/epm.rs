//! RPC endpoint mapper (135/tcp): the number of registered endpoints, read with the
//! endpoint-mapper client of [`crate::rpc`] on a connection of its own.

use std::net::SocketAddr;

use tokio::net::TcpStream;

use super::{ProbeContext, ProbeError};
use crate::finding::Evidence;
use crate::rpc::{EpmOptions, epm_endpoint_count};

pub(crate) async fn probe(
    stream: TcpStream,
    ctx: &ProbeContext,
    ev: &mut Vec<Evidence>,
) -> Result<(), ProbeError> {
    // The connect proved the port; the dump opens its own connection.
    drop(stream);
    let opts = EpmOptions {
        connect_timeout: ctx.probe_timeout,
        read_timeout: ctx.probe_timeout,
        deadline: ctx.probe_timeout,
        ..EpmOptions::default()
    };
    let endpoints = epm_endpoint_count(SocketAddr::new(ctx.address, ctx.port), &opts)
        .await
        .map_err(|e| ProbeError::Protocol(format!("endpoint mapper: {e}")))?;
    ev.push(Evidence::Epm { endpoints });
    Ok(())
}
