//! A complete nftables table (`nft -f FILE`; `nft -c -f FILE` checks it).

use super::{Context, comment_text, family};
use crate::plan::{Rule, port_rules};
use portq_catalog::{PortRange, Transport};

fn ports(p: &[PortRange]) -> String {
    let items: Vec<String> = p.iter().map(|r| r.to_string()).collect();
    if items.len() == 1 {
        items.join("")
    } else {
        format!("{{ {} }}", items.join(", "))
    }
}

/// Renders an `inet portq` table with one input chain.
pub fn render(rules: &[Rule], ctx: &Context) -> String {
    let mut out = format!(
        "#!/usr/sbin/nft -f\n# portq firewall rules for: {}\n# Load with: nft -f FILE (replaces the table portq)\n\ntable inet portq\ndelete table inet portq\n\ntable inet portq {{\n\tchain input {{\n\t\ttype filter hook input priority filter; policy {};\n\t\tct state established,related accept\n\t\tct state invalid drop\n\t\tiif \"lo\" accept\n",
        ctx.roles.join(", "),
        if ctx.default_drop { "drop" } else { "accept" }
    );
    for (r, open) in port_rules(rules) {
        let comment = comment_text(&r.name);
        let source = portq_catalog::sources_of(r.service_id, r.transport, &r.ports);
        if !source.is_empty() {
            out.push_str(&format!(
                "\t\t# {}: {}\n",
                comment_text(r.service),
                comment_text(&source)
            ));
        }
        for v6 in [false, true] {
            let Some(src) = family(&r.remote, v6) else {
                continue;
            };
            let saddr = if src.is_empty() {
                String::new()
            } else {
                let list: Vec<String> = src.iter().map(|n| n.to_string()).collect();
                format!(
                    "{} saddr {{ {} }} ",
                    if v6 { "ip6" } else { "ip" },
                    list.join(", ")
                )
            };
            // Rules open to any source are written once, not per family.
            if src.is_empty()
                && v6
                && !matches!(
                    r.transport,
                    Transport::Icmp | Transport::Esp | Transport::Ah | Transport::Gre
                )
            {
                continue;
            }
            let body = match r.transport {
                Transport::Tcp => format!("tcp dport {}", ports(&open)),
                Transport::Udp => format!("udp dport {}", ports(&open)),
                Transport::Icmp if v6 => "icmpv6 type echo-request".to_owned(),
                Transport::Icmp => "icmp type echo-request".to_owned(),
                Transport::Gre if v6 => continue,
                Transport::Gre => "meta l4proto gre".to_owned(),
                Transport::Esp => "meta l4proto esp".to_owned(),
                Transport::Ah => "meta l4proto ah".to_owned(),
            };
            out.push_str(&format!("\t\t{saddr}{body} accept comment \"{comment}\"\n"));
        }
    }
    out.push_str("\t}\n}\n");
    out
}
