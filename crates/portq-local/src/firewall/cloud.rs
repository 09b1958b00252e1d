//! Cloud firewalls as their CLIs print them: an AWS security group (`aws ec2
//! describe-security-groups`) and an Azure network security group (`az network nsg
//! show`), evaluated for a new inbound connection to one port.
//!
//! A security group is a union of allows: a port is open from every source of every
//! permission that covers it, and nothing else. A network security group is read in
//! priority order, first match wins, with Azure's default rules below the user's
//! (`AllowVnetInBound` 65000, `AllowAzureLoadBalancerInBound` 65001, `DenyAllInBound`
//! 65500) when the document does not list them. Sources that are not addresses (AWS
//! prefix lists and security groups, Azure service tags such as `VirtualNetwork`) are
//! named as such and never assumed to hold any address.

use super::sources::SourceSet;
use super::{FirewallError, Verdict};
use portq_catalog::Transport;
use serde_json::Value;

/// The inbound rules of one or more AWS security groups.
#[derive(Debug, Clone, Default)]
pub struct SecurityGroups {
    groups: Vec<String>,
    permissions: Vec<Permission>,
}

#[derive(Debug, Clone)]
struct Permission {
    group: String,
    /// `tcp`, `udp`, `icmp`, `-1` (all), or a protocol number.
    protocol: String,
    /// Inclusive port range; `None` for every port.
    ports: Option<(u16, u16)>,
    cidrs: Vec<ipnet::IpNet>,
    /// Prefix lists and security groups: sources that are not addresses.
    named: Vec<String>,
}

fn proto_matches(p: &str, t: Transport) -> bool {
    let p = p.to_ascii_lowercase();
    p == "-1"
        || p == "*"
        || p == "all"
        || (t == Transport::Tcp && (p == "tcp" || p == "6"))
        || (t == Transport::Udp && (p == "udp" || p == "17"))
}

impl SecurityGroups {
    /// Reads `aws ec2 describe-security-groups` output (or one group's object).
    pub fn from_value(v: &Value) -> Result<SecurityGroups, FirewallError> {
        let groups: Vec<&Value> = match v.get("SecurityGroups").and_then(Value::as_array) {
            Some(list) => list.iter().collect(),
            None if v.get("IpPermissions").is_some() => vec![v],
            None => {
                return Err(FirewallError::Malformed(
                    "no \"SecurityGroups\" list and no \"IpPermissions\"".into(),
                ));
            }
        };
        let mut out = SecurityGroups::default();
        for g in groups {
            let id = g
                .get("GroupId")
                .and_then(Value::as_str)
                .unwrap_or("security group")
                .to_owned();
            let perms = g
                .get("IpPermissions")
                .and_then(Value::as_array)
                .ok_or_else(|| FirewallError::Malformed(format!("{id}: no IpPermissions list")))?;
            for p in perms {
                let protocol = match p.get("IpProtocol") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) => n.to_string(),
                    _ => {
                        return Err(FirewallError::Malformed(format!(
                            "{id}: a permission without IpProtocol"
                        )));
                    }
                };
                let port = |k: &str| p.get(k).and_then(Value::as_i64);
                // Ports only mean ports for TCP and UDP (ICMP's are type and code).
                let ported = matches!(
                    protocol.to_ascii_lowercase().as_str(),
                    "tcp" | "udp" | "6" | "17"
                );
                let ports = match (port("FromPort"), port("ToPort")) {
                    _ if !ported => None,
                    (Some(a), Some(b))
                        if (0..=65535).contains(&a) && (0..=65535).contains(&b) && a <= b =>
                    {
                        Some((a as u16, b as u16))
                    }
                    (Some(-1), _) | (None, None) => None,
                    _ => {
                        return Err(FirewallError::Malformed(format!(
                            "{id}: a permission with ports {:?}-{:?}",
                            port("FromPort"),
                            port("ToPort")
                        )));
                    }
                };
                let mut cidrs = Vec::new();
                for (list, key) in [("IpRanges", "CidrIp"), ("Ipv6Ranges", "CidrIpv6")] {
                    for r in p.get(list).and_then(Value::as_array).into_iter().flatten() {
                        let text = r.get(key).and_then(Value::as_str).unwrap_or("");
                        let net: ipnet::IpNet = text.parse().map_err(|_| {
                            FirewallError::Malformed(format!("{id}: bad {key} '{text}'"))
                        })?;
                        cidrs.push(net.trunc());
                    }
                }
                let mut named = Vec::new();
                for r in p
                    .get("PrefixListIds")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(n) = r.get("PrefixListId").and_then(Value::as_str) {
                        named.push(format!("prefix list {n}"));
                    }
                }
                for r in p
                    .get("UserIdGroupPairs")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(n) = r.get("GroupId").and_then(Value::as_str) {
                        named.push(format!("security group {n}"));
                    }
                }
                out.permissions.push(Permission {
                    group: id.clone(),
                    protocol,
                    ports,
                    cidrs,
                    named,
                });
            }
            out.groups.push(id);
        }
        Ok(out)
    }

    /// What a new connection to `port` gets: allowed from the union of every permission
    /// that covers it, or blocked when none does.
    pub fn evaluate(&self, transport: Transport, port: u16) -> Verdict {
        let mut v4 = SourceSet::empty(false);
        let mut v6 = SourceSet::empty(true);
        let mut named: Vec<String> = Vec::new();
        let mut by: Vec<String> = Vec::new();
        let mut explicit = false;
        for p in &self.permissions {
            if !proto_matches(&p.protocol, transport) {
                continue;
            }
            if let Some((a, b)) = p.ports
                && !(a..=b).contains(&port)
            {
                continue;
            }
            explicit |= p.ports.is_some_and(|(a, b)| b - a < 1024);
            for n in &p.cidrs {
                v4 = v4.union(&SourceSet::net(false, *n));
                v6 = v6.union(&SourceSet::net(true, *n));
            }
            for n in &p.named {
                if !named.contains(n) {
                    named.push(n.clone());
                }
            }
            if !by.contains(&p.group) {
                by.push(p.group.clone());
            }
        }
        if v4.is_empty() && v6.is_empty() && named.is_empty() {
            return Verdict::Blocked {
                by: format!(
                    "no permission of {} covers it (security groups only allow)",
                    self.groups.join(", ")
                ),
                explicit: false,
            };
        }
        let mut from: Vec<String> = Vec::new();
        from.extend(v4.texts());
        from.extend(v6.texts());
        from.extend(named);
        Verdict::Allowed {
            by: format!("permissions of {}", by.join(", ")),
            explicit,
            from,
            except: Vec::new(),
            only_for: Vec::new(),
            only_over: Vec::new(),
        }
    }
}

/// The inbound rules of an Azure network security group.
#[derive(Debug, Clone, Default)]
pub struct Nsg {
    name: String,
    rules: Vec<NsgRule>,
}

#[derive(Debug, Clone)]
struct NsgRule {
    name: String,
    priority: u32,
    allow: bool,
    protocol: String,
    /// Inclusive port ranges; empty for `*`.
    ports: Vec<(u16, u16)>,
    /// `*`/`Any`/`0.0.0.0/0`: every source.
    any: bool,
    cidrs: Vec<ipnet::IpNet>,
    /// Service tags (`VirtualNetwork`, `Internet`, `AzureLoadBalancer`...).
    tags: Vec<String>,
}

fn text_list(props: &Value, one: &str, many: &str) -> Vec<String> {
    let mut out: Vec<String> = props
        .get(many)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if let Some(s) = props.get(one).and_then(Value::as_str)
        && !s.is_empty()
    {
        out.push(s.to_owned());
    }
    out
}

impl Nsg {
    /// Reads `az network nsg show` output (the ARM resource: `securityRules` and
    /// `defaultSecurityRules`, with or without a `properties` level).
    pub fn from_value(v: &Value) -> Result<Nsg, FirewallError> {
        let props = v.get("properties").unwrap_or(v);
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("network security group")
            .to_owned();
        let mut rules = Vec::new();
        let mut has_defaults = false;
        for (key, default) in [("securityRules", false), ("defaultSecurityRules", true)] {
            for r in props
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                has_defaults |= default;
                let p = r.get("properties").unwrap_or(r);
                let dir = p.get("direction").and_then(Value::as_str).unwrap_or("");
                if !dir.eq_ignore_ascii_case("inbound") {
                    continue;
                }
                let rname = r
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let bad = |why: &str| FirewallError::Malformed(format!("rule {rname}: {why}"));
                let priority = p
                    .get("priority")
                    .and_then(Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad("no priority"))?;
                let access = p.get("access").and_then(Value::as_str).unwrap_or("");
                let allow = match access.to_ascii_lowercase().as_str() {
                    "allow" => true,
                    "deny" => false,
                    _ => return Err(bad("access is neither Allow nor Deny")),
                };
                let protocol = p
                    .get("protocol")
                    .and_then(Value::as_str)
                    .unwrap_or("*")
                    .to_owned();
                let mut ports = Vec::new();
                let mut all_ports = false;
                for t in text_list(p, "destinationPortRange", "destinationPortRanges") {
                    if t == "*" {
                        all_ports = true;
                        continue;
                    }
                    let (a, b) = t.split_once('-').unwrap_or((&t, &t));
                    let (Ok(a), Ok(b)) = (a.trim().parse::<u16>(), b.trim().parse::<u16>()) else {
                        return Err(bad(&format!("bad port range '{t}'")));
                    };
                    ports.push((a.min(b), a.max(b)));
                }
                if all_ports {
                    ports.clear();
                }
                let mut any = false;
                let mut cidrs = Vec::new();
                let mut tags = Vec::new();
                for s in text_list(p, "sourceAddressPrefix", "sourceAddressPrefixes") {
                    if s == "*" || s.eq_ignore_ascii_case("any") {
                        any = true;
                    } else if let Ok(n) = s.parse::<ipnet::IpNet>() {
                        if n.prefix_len() == 0 {
                            any = true;
                        } else {
                            cidrs.push(n.trunc());
                        }
                    } else if let Ok(a) = s.parse::<std::net::IpAddr>() {
                        cidrs.push(ipnet::IpNet::from(a));
                    } else {
                        tags.push(s);
                    }
                }
                rules.push(NsgRule {
                    name: rname,
                    priority,
                    allow,
                    protocol,
                    ports,
                    any,
                    cidrs,
                    tags,
                });
            }
        }
        if !has_defaults {
            for (n, prio, allow, tag) in [
                ("AllowVnetInBound", 65000, true, Some("VirtualNetwork")),
                (
                    "AllowAzureLoadBalancerInBound",
                    65001,
                    true,
                    Some("AzureLoadBalancer"),
                ),
                ("DenyAllInBound", 65500, false, None),
            ] {
                rules.push(NsgRule {
                    name: n.to_owned(),
                    priority: prio,
                    allow,
                    protocol: "*".into(),
                    ports: Vec::new(),
                    any: tag.is_none(),
                    cidrs: Vec::new(),
                    tags: tag.map(|t| vec![t.to_owned()]).unwrap_or_default(),
                });
            }
        }
        rules.sort_by_key(|r| r.priority);
        Ok(Nsg { name, rules })
    }

    /// What a new connection to `port` gets, rule by rule in priority order: the
    /// address sources each allow rule decides for (those no earlier rule took), and the
    /// service tags it names (never assumed to hold any address).
    pub fn evaluate(&self, transport: Transport, port: u16) -> Verdict {
        let mut remaining = (SourceSet::all(false), SourceSet::all(true));
        let mut allowed = (SourceSet::empty(false), SourceSet::empty(true));
        let mut tags: Vec<String> = Vec::new();
        let mut by: Option<(String, bool)> = None;
        let mut blocked_by: Option<String> = None;
        for r in &self.rules {
            if !proto_matches(&r.protocol, transport) {
                continue;
            }
            if !r.ports.is_empty() && !r.ports.iter().any(|(a, b)| (*a..=*b).contains(&port)) {
                continue;
            }
            let (m4, m6) = if r.any {
                (remaining.0.clone(), remaining.1.clone())
            } else {
                let mut s4 = SourceSet::empty(false);
                let mut s6 = SourceSet::empty(true);
                for n in &r.cidrs {
                    s4 = s4.union(&SourceSet::net(false, *n));
                    s6 = s6.union(&SourceSet::net(true, *n));
                }
                (remaining.0.intersect(&s4), remaining.1.intersect(&s6))
            };
            let label = format!("rule {} (priority {})", r.name, r.priority);
            let undecided = !remaining.0.is_empty() || !remaining.1.is_empty();
            if r.allow && undecided {
                for t in &r.tags {
                    let t = format!("service tag {t} ({label})");
                    if !tags.contains(&t) {
                        tags.push(t);
                    }
                }
                if !m4.is_empty() || !m6.is_empty() {
                    allowed = (allowed.0.union(&m4), allowed.1.union(&m6));
                    by.get_or_insert((label.clone(), !r.ports.is_empty()));
                }
            } else if (!m4.is_empty() || !m6.is_empty()) && blocked_by.is_none() {
                blocked_by = Some(label.clone());
            }
            remaining = (remaining.0.minus(&m4), remaining.1.minus(&m6));
        }
        if allowed.0.is_empty() && allowed.1.is_empty() && tags.is_empty() {
            return Verdict::Blocked {
                by: blocked_by.unwrap_or_else(|| format!("no rule of {} allows it", self.name)),
                explicit: false,
            };
        }
        let mut from = Vec::new();
        if allowed.0.is_all() && allowed.1.is_all() {
            from.push("*".to_owned());
        } else {
            from.extend(allowed.0.texts());
            from.extend(allowed.1.texts());
        }
        from.extend(tags);
        let (by, explicit) = by.unwrap_or_else(|| ("service tag rules".to_owned(), false));
        Verdict::Allowed {
            by,
            explicit,
            from,
            except: Vec::new(),
            only_for: Vec::new(),
            only_over: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_security_group_is_a_union_of_allows() {
        let sg = SecurityGroups::from_value(&json!({"SecurityGroups": [{
            "GroupId": "sg-1",
            "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [], "UserIdGroupPairs": []},
                {"IpProtocol": "tcp", "FromPort": 389, "ToPort": 389, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
                {"IpProtocol": "tcp", "FromPort": 389, "ToPort": 389, "UserIdGroupPairs": [{"GroupId": "sg-2"}]},
                {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}
            ]}]}))
        .unwrap();
        assert_eq!(
            sg.evaluate(Transport::Tcp, 3389).to_string(),
            "allowed (from 0.0.0.0/0)"
        );
        assert_eq!(
            sg.evaluate(Transport::Tcp, 389).to_string(),
            "allowed (from 10.0.0.0/8, 192.0.2.0/24, security group sg-2)"
        );
        assert_eq!(
            sg.evaluate(Transport::Udp, 53).to_string(),
            "allowed (from 192.0.2.0/24)"
        );
        let none = SecurityGroups::from_value(
            &json!({"SecurityGroups": [{"GroupId": "sg-3", "IpPermissions": []}]}),
        )
        .unwrap();
        assert!(
            none.evaluate(Transport::Tcp, 22)
                .to_string()
                .starts_with("blocked")
        );
        assert!(SecurityGroups::from_value(&json!({"SecurityGroups": [{"IpPermissions": [{"IpProtocol": "tcp", "FromPort": 5, "ToPort": 1}]}]})).is_err());
    }

    #[test]
    fn an_nsg_is_read_in_priority_order_with_its_defaults() {
        let nsg = Nsg::from_value(&json!({"name": "dc-nsg", "securityRules": [
            {"name": "deny-adws", "properties": {"priority": 100, "direction": "Inbound", "access": "Deny", "protocol": "Tcp", "sourceAddressPrefix": "*", "destinationPortRange": "9389"}},
            {"name": "allow-ad", "properties": {"priority": 200, "direction": "Inbound", "access": "Allow", "protocol": "Tcp", "sourceAddressPrefix": "10.0.0.0/8", "destinationPortRanges": ["389", "9389", "3268-3269"]}},
            {"name": "rdp", "properties": {"priority": 300, "direction": "Inbound", "access": "Allow", "protocol": "*", "sourceAddressPrefix": "Internet", "destinationPortRange": "3389"}}
        ]}))
        .unwrap();
        // Denied to every source at a higher priority than the rule that allows it.
        assert_eq!(
            nsg.evaluate(Transport::Tcp, 9389).to_string(),
            "blocked (rule deny-adws (priority 100))"
        );
        // Azure's default AllowVnetInBound still admits the virtual network elsewhere.
        assert!(
            nsg.evaluate(Transport::Tcp, 445)
                .to_string()
                .contains("service tag VirtualNetwork")
        );
        assert!(
            nsg.evaluate(Transport::Tcp, 389)
                .to_string()
                .contains("10.0.0.0/8")
        );
        assert!(
            nsg.evaluate(Transport::Tcp, 3389)
                .to_string()
                .contains("service tag Internet")
        );
    }
}
