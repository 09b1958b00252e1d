//! A labelled check result as a row: the JSON, NDJSON, CSV and HTML of `check`, the
//! console's stream and `portq rpc --check`.

use portq_probe::pipeline::{Checked, LabelView};
use serde::Serialize;
use std::net::IpAddr;

/// One result as JSON, NDJSON, CSV and HTML present it.
#[derive(Debug, Serialize)]
pub(crate) struct Row<'a> {
    host: &'a str,
    address: IpAddr,
    port: u16,
    protocol: &'static str,
    state: &'static str,
    #[serde(flatten)]
    label: LabelView<'a>,
    evidence: Vec<String>,
    evidence_detail: &'a [portq_probe::Evidence],
    probe: &'static str,
    elapsed_ms: f64,
    attempts: u8,
}

/// The JSON row of a labelled finding (also the console's and `portq rpc --check`'s).
pub(crate) fn row(c: &Checked) -> Row<'_> {
    let f = &c.finding;
    Row {
        host: &f.host,
        address: f.address,
        port: f.port,
        protocol: f.transport.as_str(),
        state: f.state.token(),
        label: LabelView::from(c.label.as_ref()),
        evidence: f.evidence.iter().map(|e| e.summary()).collect(),
        evidence_detail: &f.evidence,
        probe: f.probe,
        elapsed_ms: f.elapsed.as_micros() as f64 / 1000.0,
        attempts: f.attempts,
    }
}
