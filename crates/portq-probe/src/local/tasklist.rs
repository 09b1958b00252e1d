//! Parsing `tasklist /svc /fo csv /nh` output: which Windows services run in which process.
//!
//! Windows hosts many services in one svchost.exe; PortQry's `-local` mode names them.
//! portq asks tasklist rather than calling the service control manager directly, which
//! keeps the Windows-specific code free of `unsafe`.

use std::collections::BTreeMap;

/// Services by process id, from the CSV that `tasklist /svc /fo csv /nh` prints.
pub fn parse(text: &str) -> BTreeMap<u32, Vec<String>> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let cells = split_csv(line);
        let (Some(pid), Some(svcs)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<u32>() else {
            continue;
        };
        let services: Vec<String> = svcs
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty() && s != "N/A")
            .collect();
        if !services.is_empty() {
            out.insert(pid, services);
        }
    }
    out
}

/// Splits one CSV line with double-quoted cells.
fn split_csv(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => cells.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    cells.push(cur);
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_services_per_pid() {
        let text = "\"System Idle Process\",\"0\",\"N/A\"\r\n\"lsass.exe\",\"700\",\"KeyIso,Netlogon,NTDS,SamSs\"\r\n\"svchost.exe\",\"1040\",\"RpcEptMapper,RpcSs\"\r\nbroken\r\n";
        let m = parse(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[&700], vec!["KeyIso", "Netlogon", "NTDS", "SamSs"]);
        assert_eq!(m[&1040], vec!["RpcEptMapper", "RpcSs"]);
    }
}
