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

/// Hosts × ports of a check, the one model of the report's matrix and the console's
/// grid: rows (host, address) in the order given or first seen, columns (protocol, port)
/// in order, and each cell's finding.
pub(crate) struct Matrix<'a> {
    /// The rows.
    pub hosts: Vec<(&'a str, IpAddr)>,
    /// The columns.
    pub ports: Vec<(portq_probe::Transport, u16)>,
    cells: std::collections::BTreeMap<(&'a str, IpAddr, portq_probe::Transport, u16), &'a Checked>,
}

impl<'a> Matrix<'a> {
    /// The matrix of `found`; `hosts` fixes the rows (every target, answered or not),
    /// else they are the hosts of the findings.
    pub fn new(found: &'a [Checked], hosts: Option<&'a [(String, IpAddr)]>) -> Matrix<'a> {
        let mut rows: Vec<(&'a str, IpAddr)> = hosts
            .unwrap_or_default()
            .iter()
            .map(|(h, a)| (h.as_str(), *a))
            .collect();
        let mut ports = Vec::new();
        let mut cells = std::collections::BTreeMap::new();
        for c in found {
            let f = &c.finding;
            ports.push((f.transport, f.port));
            if hosts.is_none() && !rows.iter().any(|(h, a)| *h == &*f.host && *a == f.address) {
                rows.push((&f.host, f.address));
            }
            cells.insert((&*f.host, f.address, f.transport, f.port), c);
        }
        ports.sort_unstable();
        ports.dedup();
        Matrix {
            hosts: rows,
            ports,
            cells,
        }
    }

    /// The finding of one cell, if that port of that host was checked.
    pub fn cell(
        &self,
        (host, address): (&str, IpAddr),
        (transport, port): (portq_probe::Transport, u16),
    ) -> Option<&'a Checked> {
        self.cells.get(&(host, address, transport, port)).copied()
    }
}
