//! JSON and CSV: one row per rule, for spreadsheets and other tools.

use crate::plan::{Admin, PortSet, Rule};
use serde::Serialize;

#[derive(Serialize)]
struct Row<'a> {
    name: &'a str,
    display_name: &'a str,
    service_id: &'a str,
    service: &'a str,
    services: Vec<&'a str>,
    protocol: &'a str,
    ip_protocol: u8,
    ports: String,
    windows_local_port: String,
    remote_addresses: Vec<String>,
    directions: Vec<&'a str>,
    roles: Vec<&'a str>,
    program: Option<&'a str>,
    windows_service: Option<&'a str>,
    destinations: Vec<String>,
    management_access: Option<Admin>,
}

fn row(r: &Rule) -> Row<'_> {
    let list = |p: &[portq_catalog::PortRange]| {
        p.iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    Row {
        name: &r.name,
        display_name: &r.display_name,
        service_id: r.service_id,
        service: r.service,
        services: r.services.clone(),
        protocol: r.transport.as_str(),
        ip_protocol: r.transport.ip_protocol(),
        ports: list(&r.ports),
        windows_local_port: match &r.windows {
            PortSet::Ports(p) => list(p),
            PortSet::Rpc => "RPC".into(),
            PortSet::RpcEpMap => "RPCEPMap".into(),
            PortSet::IcmpEcho => "icmp:8".into(),
            PortSet::IpProtocol => String::new(),
        },
        remote_addresses: r.remote.iter().map(|n| n.to_string()).collect(),
        directions: r.directions.iter().map(|d| d.as_str()).collect(),
        roles: r.roles.clone(),
        program: r.program,
        windows_service: r.windows_service,
        destinations: r.destinations.iter().map(|n| n.to_string()).collect(),
        management_access: r.management_access,
    }
}

/// A JSON array of rules.
pub fn json(rules: &[Rule]) -> String {
    let rows: Vec<Row> = rules.iter().map(row).collect();
    let mut s = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// CSV with a header row.
pub fn csv(rules: &[Rule]) -> String {
    let mut out = String::from(
        "name,display_name,service_id,service,services,protocol,ip_protocol,ports,windows_local_port,remote_addresses,directions,roles,program,windows_service,destinations,management_access\n",
    );
    for r in rules.iter().map(row) {
        let cells = [
            r.name.to_owned(),
            r.display_name.to_owned(),
            r.service_id.to_owned(),
            r.service.to_owned(),
            r.services.join("; "),
            r.protocol.to_owned(),
            r.ip_protocol.to_string(),
            r.ports,
            r.windows_local_port,
            r.remote_addresses.join(" "),
            r.directions.join(" "),
            r.roles.join(" "),
            r.program.unwrap_or("").to_owned(),
            r.windows_service.unwrap_or("").to_owned(),
            r.destinations.join(" "),
            match r.management_access {
                Some(Admin::Ssh) => "ssh".to_owned(),
                Some(Admin::Windows) => "windows".to_owned(),
                None => String::new(),
            },
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}
