//! `iptables-restore` / `ip6tables-restore` input (check with `--test`).

use super::{Context, comment_text, family};
use crate::plan::{Rule, port_rules};
use portq_catalog::{PortRange, Transport};

/// multiport takes at most 15 ports, a range counting as two.
fn chunks(ports: &[PortRange]) -> Vec<Vec<PortRange>> {
    let mut out: Vec<Vec<PortRange>> = Vec::new();
    let mut cur: Vec<PortRange> = Vec::new();
    let mut weight = 0;
    for p in ports {
        let w = if p.start == p.end { 1 } else { 2 };
        if weight + w > 15 {
            out.push(std::mem::take(&mut cur));
            weight = 0;
        }
        cur.push(*p);
        weight += w;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn port_arg(p: &[PortRange]) -> String {
    p.iter()
        .map(|r| {
            if r.start == r.end {
                r.start.to_string()
            } else {
                format!("{}:{}", r.start, r.end)
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Renders the filter table with a PORTQ-INPUT chain called from INPUT.
pub fn render(rules: &[Rule], ctx: &Context, v6: bool) -> String {
    let mut out = format!(
        "# portq firewall rules for: {}\n# Load with: {}-restore < FILE\n*filter\n:INPUT {} [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:PORTQ-INPUT - [0:0]\n-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A INPUT -m conntrack --ctstate INVALID -j DROP\n-A INPUT -i lo -j ACCEPT\n-A INPUT -j PORTQ-INPUT\n",
        ctx.roles.join(", "),
        if v6 { "ip6tables" } else { "iptables" },
        if ctx.default_drop { "DROP" } else { "ACCEPT" }
    );
    for (r, open) in port_rules(rules) {
        let Some(src) = family(&r.remote, v6) else {
            continue;
        };
        let sources: Vec<Option<String>> = if src.is_empty() {
            vec![None]
        } else {
            src.iter().map(|n| Some(n.to_string())).collect()
        };
        let comment = format!("-m comment --comment \"{}\"", comment_text(&r.name));
        for s in &sources {
            let s = s.as_ref().map(|s| format!(" -s {s}")).unwrap_or_default();
            match r.transport {
                Transport::Tcp | Transport::Udp => {
                    let p = r.transport.as_str();
                    for c in chunks(&open) {
                        let m = if c.len() == 1 {
                            format!("--dport {}", port_arg(&c))
                        } else {
                            format!("-m multiport --dports {}", port_arg(&c))
                        };
                        out.push_str(&format!("-A PORTQ-INPUT -p {p}{s} -m {p} {m} {comment} -j ACCEPT\n"));
                    }
                }
                Transport::Icmp if v6 => out.push_str(&format!(
                    "-A PORTQ-INPUT -p ipv6-icmp{s} -m icmp6 --icmpv6-type echo-request {comment} -j ACCEPT\n"
                )),
                Transport::Icmp => out.push_str(&format!(
                    "-A PORTQ-INPUT -p icmp{s} -m icmp --icmp-type echo-request {comment} -j ACCEPT\n"
                )),
                Transport::Gre if v6 => {}
                t => out.push_str(&format!("-A PORTQ-INPUT -p {}{s} {comment} -j ACCEPT\n", t.ip_protocol())),
            }
        }
    }
    out.push_str("COMMIT\n");
    out
}
