//! Writing rules for each firewall.

mod firewalld;
mod iptables;
mod nftables;
mod table;
mod windows;

use crate::plan::Rule;
use ipnet::IpNet;

/// The firewalls and formats rules can be written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleFormat {
    /// PowerShell `New-NetFirewallRule` commands.
    Powershell,
    /// `netsh advfirewall firewall add rule` commands.
    Netsh,
    /// A complete nftables table (`nft -f`).
    Nftables,
    /// `iptables-restore` input (IPv4).
    Iptables,
    /// `ip6tables-restore` input (IPv6).
    Ip6tables,
    /// A firewalld service definition (XML).
    Firewalld,
    /// A JSON array, one object per rule.
    Json,
    /// CSV, one row per rule.
    Csv,
}

/// What a rendered rule set is for, shown in its header.
#[derive(Debug, Clone)]
pub struct Context {
    /// Role ids, with options, as the user gave them.
    pub roles: Vec<String>,
    /// Drop what the rules do not allow (nftables/iptables input policy).
    pub default_drop: bool,
}

/// Renders rules in a format.
pub fn render(rules: &[Rule], format: RuleFormat, ctx: &Context) -> String {
    match format {
        RuleFormat::Powershell => windows::powershell(rules, ctx),
        RuleFormat::Netsh => windows::netsh(rules, ctx),
        RuleFormat::Nftables => nftables::render(rules, ctx),
        RuleFormat::Iptables => iptables::render(rules, ctx, false),
        RuleFormat::Ip6tables => iptables::render(rules, ctx, true),
        RuleFormat::Firewalld => firewalld::render(rules, ctx),
        RuleFormat::Json => table::json(rules),
        RuleFormat::Csv => table::csv(rules),
    }
}

/// Sources of one address family: `Some(list)` to match, `None` when the rule does not
/// apply to that family (it is scoped to the other one only). An empty list means any.
pub(crate) fn family(remote: &[IpNet], v6: bool) -> Option<Vec<IpNet>> {
    if remote.is_empty() {
        return Some(Vec::new());
    }
    let list: Vec<IpNet> = remote
        .iter()
        .copied()
        .filter(|n| matches!(n, IpNet::V6(_)) == v6)
        .collect();
    (!list.is_empty()).then_some(list)
}

/// A one-line comment text safe inside quotes of any of the formats.
fn comment_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c == '"' || c == '\'' || c == '\\' || c.is_control() {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{RuleOptions, plan};
    use portq_catalog::roles::{expand, parse_selection};

    fn rules(roles: &[&str]) -> Vec<Rule> {
        let sel: Vec<_> = roles.iter().map(|r| parse_selection(r).unwrap()).collect();
        plan(
            &expand(&sel),
            &RuleOptions {
                from: vec![
                    "10.0.0.0/8".parse().unwrap(),
                    "2001:db8::/32".parse().unwrap(),
                ],
                ..Default::default()
            },
        )
        .unwrap()
    }

    fn ctx() -> Context {
        Context {
            roles: vec!["domain-controller".into()],
            default_drop: true,
        }
    }

    #[test]
    fn windows_formats_have_no_duplicate_rules() {
        let r = rules(&["dc", "dns", "managed-server"]);
        for f in [RuleFormat::Powershell, RuleFormat::Netsh] {
            let text = render(&r, f, &ctx());
            let adds: Vec<&str> = text
                .lines()
                .filter(|l| {
                    l.starts_with("New-NetFirewallRule")
                        || l.starts_with("netsh advfirewall firewall add")
                })
                .filter(|l| !l.contains("-v6"))
                .collect();
            assert_eq!(adds.len(), r.len(), "{f:?}");
            let mut sorted = adds.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), adds.len(), "{f:?} repeats a rule");
        }
    }

    #[test]
    fn powershell_uses_rpc_keywords() {
        let text = render(&rules(&["dc"]), RuleFormat::Powershell, &ctx());
        assert!(text.contains("-LocalPort RPCEPMap"));
        assert!(text.contains("-LocalPort RPC "));
        assert!(!text.contains("49152"));
        let netsh = render(&rules(&["dc"]), RuleFormat::Netsh, &ctx());
        assert!(netsh.contains("localport=RPC-EPMap"));
        assert!(netsh.contains("localport=RPC "));
    }

    #[test]
    fn linux_formats_open_the_dynamic_range() {
        let text = render(&rules(&["dc"]), RuleFormat::Nftables, &ctx());
        assert!(text.contains("49152-65535"));
        assert!(text.contains("table inet portq"));
        let ipt = render(&rules(&["dc"]), RuleFormat::Iptables, &ctx());
        assert!(ipt.contains("49152:65535"));
        assert!(!ipt.contains("2001:db8"));
        let ip6 = render(&rules(&["dc"]), RuleFormat::Ip6tables, &ctx());
        assert!(ip6.contains("2001:db8::/32"));
        assert!(!ip6.contains("10.0.0.0/8"));
    }

    #[test]
    fn csv_and_json_have_one_row_per_rule() {
        let r = rules(&["dc"]);
        let csv = render(&r, RuleFormat::Csv, &ctx());
        assert_eq!(csv.lines().count(), r.len() + 1);
        let json: serde_json::Value =
            serde_json::from_str(&render(&r, RuleFormat::Json, &ctx())).unwrap();
        assert_eq!(json.as_array().unwrap().len(), r.len());
    }
}
