//! `iptables-restore` / `ip6tables-restore` input (check with `--test`).

use super::{Context, Platform, applicable, family, linux_safety, network, serves};
use crate::plan::{Rule, port_rules};
use ipnet::IpNet;
use portq_catalog::{PortRange, Transport};

/// The comment match allows up to 255 bytes.
const COMMENT_MAX: usize = 255;

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

/// ICMP that IP needs, as rules of `chain`: path MTU discovery and errors, and on a host
/// IPv6 neighbour and router discovery from the link only (hop limit 255).
fn essentials(chain: &str, v6: bool, host: bool) -> String {
    if !v6 {
        return format!(
            "-A {chain} -p icmp -m icmp --icmp-type fragmentation-needed -m comment --comment \"portq: path MTU discovery\" -j ACCEPT\n"
        );
    }
    let mut out = String::new();
    for t in [
        "destination-unreachable",
        "packet-too-big",
        "time-exceeded",
        "parameter-problem",
    ] {
        out.push_str(&format!(
            "-A {chain} -p ipv6-icmp -m icmp6 --icmpv6-type {t} -j ACCEPT\n"
        ));
    }
    if host {
        for t in [
            "router-solicitation",
            "router-advertisement",
            "neighbour-solicitation",
            "neighbour-advertisement",
        ] {
            out.push_str(&format!(
                "-A {chain} -p ipv6-icmp -m icmp6 --icmpv6-type {t} -m hl --hl-eq 255 -j ACCEPT\n"
            ));
        }
    }
    out
}

/// The allow rules, appended to `chain`.
fn allow(rules: &[&Rule], chain: &str, v6: bool) -> String {
    let mut out = String::new();
    for pr in port_rules(rules.iter().copied()) {
        let r = pr.rule;
        let Some(src) = family(&r.remote, v6) else {
            continue;
        };
        let sources: Vec<Option<String>> = if src.is_empty() {
            vec![None]
        } else {
            src.iter().map(|n| Some(n.to_string())).collect()
        };
        let comment = format!(
            "-m comment --comment \"{}\"",
            serves(&r.name, &pr.services, COMMENT_MAX)
        );
        for s in &sources {
            let s = s.as_ref().map(|s| format!(" -s {s}")).unwrap_or_default();
            match r.transport {
                Transport::Tcp | Transport::Udp => {
                    let p = r.transport.as_str();
                    for c in chunks(&pr.ports) {
                        let m = if c.len() == 1 {
                            format!("--dport {}", port_arg(&c))
                        } else {
                            format!("-m multiport --dports {}", port_arg(&c))
                        };
                        out.push_str(&format!(
                            "-A {chain} -p {p}{s} -m {p} {m} {comment} -j ACCEPT\n"
                        ));
                    }
                }
                Transport::Icmp if v6 => out.push_str(&format!(
                    "-A {chain} -p ipv6-icmp{s} -m icmp6 --icmpv6-type echo-request {comment} -j ACCEPT\n"
                )),
                Transport::Icmp => out.push_str(&format!(
                    "-A {chain} -p icmp{s} -m icmp --icmp-type echo-request {comment} -j ACCEPT\n"
                )),
                Transport::Gre if v6 => {}
                t => out.push_str(&format!(
                    "-A {chain} -p {}{s} {comment} -j ACCEPT\n",
                    t.ip_protocol()
                )),
            }
        }
    }
    out
}

/// portq's chain for a host's own traffic, jumped to first from INPUT.
pub const INPUT_CHAIN: &str = "PORTQ-INPUT";
/// portq's chain for the servers behind a firewall (`--to`), jumped to from FORWARD.
pub const FORWARD_CHAIN: &str = "PORTQ-FORWARD";

/// Renders `iptables-restore --noflush` input that adds portq's own chains and the
/// jumps to them, and touches nothing else: no policy, no other chain, no other table
/// (Docker's chains, a FORWARD drop, fail2ban's rules all stay). What the rules do not
/// allow is dropped at the end of portq's chain (unless `--no-default-drop`). Host
/// rules go in [`INPUT_CHAIN`], rules for servers behind the firewall (`--to`) in
/// [`FORWARD_CHAIN`].
pub fn render(rules: &[Rule], ctx: &Context, v6: bool) -> String {
    let tool = if v6 { "ip6tables" } else { "iptables" };
    let other = if v6 { "iptables" } else { "ip6tables" };
    let (chain, hook) = if network(rules) {
        (FORWARD_CHAIN, "FORWARD")
    } else {
        (INPUT_CHAIN, "INPUT")
    };
    let safety = linux_safety(
        &format!("{tool}-restore --noflush --test < FILE"),
        &format!("{tool}-apply -t 120 FILE   (restores the old rules unless you confirm)"),
    );
    let mut out = format!(
        "# portq firewall rules for: {roles}\n\
         # Load with: {tool}-restore --noflush < FILE\n\
         # Adds the chain {chain} and a jump to it at the top of {hook}; leaves every other\n\
         # chain, rule and policy as it is. To reload, first remove the old jump:\n\
         #   {tool} -D {hook} -j {chain}   (--noflush empties {chain} itself)\n\
         # {family} only: load `portq rules ... --format {other}` with {other}-restore too,\n\
         # or {other_family} traffic is not filtered by portq.\n{safety}",
        roles = ctx.roles.join(", "),
        family = if v6 { "IPv6" } else { "IPv4" },
        other_family = if v6 { "IPv4" } else { "IPv6" },
    );
    out.push_str(&format!("*filter\n:{chain} - [0:0]\n"));
    if network(rules) {
        let list = applicable(rules, Platform::Network);
        for d in rules
            .first()
            .map(|r| r.destinations.as_slice())
            .unwrap_or_default()
        {
            if matches!(d, IpNet::V6(_)) == v6 {
                out.push_str(&format!("-I FORWARD -d {d} -j {chain}\n"));
            }
        }
        out.push_str(&format!(
            "-A {chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A {chain} -m conntrack --ctstate INVALID -j DROP\n"
        ));
        out.push_str(&essentials(chain, v6, false));
        out.push_str(&allow(&list, chain, v6));
        if ctx.default_drop {
            out.push_str(&format!(
                "-A {chain} -m comment --comment \"portq: nothing else reaches the servers\" -j DROP\n"
            ));
        }
    } else {
        let list = applicable(rules, Platform::Linux);
        out.push_str(&format!(
            "-I INPUT -j {chain}\n-A {chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n-A {chain} -m conntrack --ctstate INVALID -j DROP\n-A {chain} -i lo -j ACCEPT\n{}{}",
            essentials(chain, v6, true),
            allow(&list, chain, v6),
        ));
        if ctx.default_drop {
            out.push_str(&format!(
                "-A {chain} -m comment --comment \"portq: nothing else reaches this host\" -j DROP\n"
            ));
        }
    }
    out.push_str("COMMIT\n");
    out
}
