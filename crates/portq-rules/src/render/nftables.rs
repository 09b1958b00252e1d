//! A complete nftables table (`nft -f FILE`; `nft -c -f FILE` checks it): the input
//! chain of the host, or with `--to` the forward chain of a firewall in front of the servers.

use super::{Context, Platform, applicable, family, linux_safety, network, serves};
use crate::plan::{Rule, port_rules};
use ipnet::IpNet;
use portq_catalog::{PortRange, Transport};

/// nftables refuses comments longer than this.
const COMMENT_MAX: usize = 127;

fn ports(p: &[PortRange]) -> String {
    let items: Vec<String> = p.iter().map(|r| r.to_string()).collect();
    if items.len() == 1 {
        items.join("")
    } else {
        format!("{{ {} }}", items.join(", "))
    }
}

fn set(nets: &[IpNet]) -> String {
    let list: Vec<String> = nets.iter().map(|n| n.to_string()).collect();
    format!("{{ {} }}", list.join(", "))
}

/// ICMP that IP itself needs: path MTU discovery and errors, and on a host IPv6
/// neighbour and router discovery (only from the link: hop limit 255).
fn essentials(host: bool) -> String {
    let mut out = String::from(
        "\t\t# ICMP that IP needs: path MTU discovery (fragmentation needed, packet too big) and errors\n\t\ticmp type destination-unreachable icmp code frag-needed accept\n\t\ticmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept\n",
    );
    if host {
        out.push_str("\t\t# IPv6 neighbour and router discovery, from the link only\n\t\ticmpv6 type { nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } ip6 hoplimit 255 accept\n");
    }
    out
}

/// The allow rules, one line per rule and address family.
fn allow(rules: &[&Rule]) -> String {
    let mut out = String::new();
    for pr in port_rules(rules.iter().copied()) {
        let r = pr.rule;
        let comment = serves(&r.name, &pr.services, COMMENT_MAX);
        // Where the facts behind the rule come from (document, section, date).
        let source = portq_catalog::sources_of(r.service_id, r.transport, &r.ports);
        if !source.is_empty() {
            out.push_str(&format!(
                "\t\t# {}: {}\n",
                super::comment_text(r.service),
                super::comment_text(&source)
            ));
        }
        for v6 in [false, true] {
            let Some(src) = family(&r.remote, v6) else {
                continue;
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
            let saddr = if src.is_empty() {
                String::new()
            } else {
                format!("{} saddr {} ", if v6 { "ip6" } else { "ip" }, set(&src))
            };
            let body = match r.transport {
                Transport::Tcp => format!("tcp dport {}", ports(&pr.ports)),
                Transport::Udp => format!("udp dport {}", ports(&pr.ports)),
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
    out
}

/// Renders an `inet portq` table.
pub fn render(rules: &[Rule], ctx: &Context) -> String {
    let roles = ctx.roles.join(", ");
    let safety = linux_safety(
        "nft -c -f FILE",
        "nft -f FILE && (sleep 120; nft delete table inet portq) &\n#   then check from a new session that you can still log in, and cancel the rollback with  kill %1",
    );
    let head = "table inet portq\ndelete table inet portq\n\ntable inet portq {\n";
    if !network(rules) {
        let list = applicable(rules, Platform::Linux);
        let v4_only = list.iter().all(|r| !r.remote.is_empty())
            && list
                .iter()
                .all(|r| r.remote.iter().all(|n| matches!(n, IpNet::V4(_))));
        let note = if v4_only && ctx.default_drop {
            "# Every source is IPv4: IPv6 gets only the ICMPv6 that IPv6 needs.\n"
        } else {
            ""
        };
        return format!(
            "#!/usr/sbin/nft -f\n# portq firewall rules for: {roles}\n# Host rules: the input chain of this server (replaces the table portq).\n{safety}{note}\n{head}\tchain input {{\n\t\ttype filter hook input priority filter; policy {};\n\t\tct state established,related accept\n\t\tct state invalid drop\n\t\tiif \"lo\" accept\n{}{}\t}}\n}}\n",
            if ctx.default_drop { "drop" } else { "accept" },
            essentials(true),
            allow(&list),
        );
    }
    let list = applicable(rules, Platform::Network);
    let dests = rules
        .first()
        .map(|r| r.destinations.clone())
        .unwrap_or_default();
    let mut jumps = String::new();
    for v6 in [false, true] {
        let d: Vec<IpNet> = dests
            .iter()
            .copied()
            .filter(|n| matches!(n, IpNet::V6(_)) == v6)
            .collect();
        if !d.is_empty() {
            jumps.push_str(&format!(
                "\t\t{} daddr {} jump to-servers\n",
                if v6 { "ip6" } else { "ip" },
                set(&d)
            ));
        }
    }
    let last = if ctx.default_drop {
        "\t\tdrop comment \"portq: nothing else reaches the servers\"\n"
    } else {
        ""
    };
    format!(
        "#!/usr/sbin/nft -f\n# portq firewall rules for: {roles}\n# Network rules: the forward chain of a firewall in front of {} (replaces the table portq;\n# other forwarded traffic is left alone).\n{safety}\n{head}\tchain to-servers {{\n\t\tct state invalid drop\n{}{}{last}\t}}\n\n\tchain forward {{\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tct state established,related accept\n{jumps}\t}}\n}}\n",
        dests
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        essentials(false),
        allow(&list),
    )
}
