//! Security groups of the clouds Windows servers run in: an AWS security group's
//! `IpPermissions`, an Azure network security group's `securityRules` (ARM), and both as
//! Terraform resources. These firewalls match ports only, so RPC is opened as a range.

use super::{Context, Platform, applicable, family, serves};
use crate::RulesError;
use crate::plan::{Rule, port_rules};
use ipnet::IpNet;
use portq_catalog::Transport;
use serde_json::{Value, json};

/// AWS allows this many characters in a rule description.
const AWS_DESCRIPTION_MAX: usize = 255;
/// Azure allows this many characters in a rule description.
const AZURE_DESCRIPTION_MAX: usize = 140;
/// Azure priorities portq uses: allows from 1000 up in steps of 10, at most 4090; the
/// load balancer's probes at 4095 (when kept) and portq's closing deny at 4096, the last
/// priority a user rule may have: below every allow, above Azure's own defaults
/// (`AllowVnetInBound` 65000 would otherwise admit the whole virtual network).
const AZURE_FIRST: u32 = 1000;
const AZURE_STEP: u32 = 10;
const AZURE_LAST: u32 = 4090;
const AZURE_LOAD_BALANCER: u32 = 4095;
const AZURE_DENY: u32 = 4096;

/// One AWS permission: a protocol, a port or ICMP type range, and its sources.
struct Permission {
    protocol: &'static str,
    /// (from, to); ICMP: (type, code or -1). `None` for protocols without ports.
    ports: Option<(i32, i32)>,
    v4: Vec<IpNet>,
    v6: Vec<IpNet>,
    description: String,
}

/// AWS descriptions allow letters, digits, spaces and `._-:/()#,@[]+=&;{}!$*` only.
fn aws_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect()
}

fn any(v6: bool) -> IpNet {
    if v6 {
        IpNet::V6(ipnet::Ipv6Net::default())
    } else {
        IpNet::V4(ipnet::Ipv4Net::default())
    }
}

/// The sources of one family for a cloud rule: `None` when the rule has none of that
/// family; "any" becomes 0.0.0.0/0 or ::/0.
fn sources(remote: &[IpNet], v6: bool) -> Option<Vec<IpNet>> {
    family(remote, v6).map(|s| if s.is_empty() { vec![any(v6)] } else { s })
}

fn permissions(rules: &[Rule]) -> Vec<Permission> {
    let list = applicable(rules, Platform::Network);
    let mut out = Vec::new();
    let (mut need_v4, mut need_v6) = (false, false);
    for pr in port_rules(list.iter().copied()) {
        let r = pr.rule;
        let description = aws_text(&serves(&r.name, &pr.services, AWS_DESCRIPTION_MAX));
        let v4 = sources(&r.remote, false).unwrap_or_default();
        let v6 = sources(&r.remote, true).unwrap_or_default();
        need_v4 |= !v4.is_empty();
        need_v6 |= !v6.is_empty();
        let mut push = |protocol, ports, v4: Vec<IpNet>, v6: Vec<IpNet>| {
            if !v4.is_empty() || !v6.is_empty() {
                out.push(Permission {
                    protocol,
                    ports,
                    v4,
                    v6,
                    description: description.clone(),
                });
            }
        };
        match r.transport {
            Transport::Tcp | Transport::Udp => {
                for p in &pr.ports {
                    push(
                        r.transport.as_str(),
                        Some((i32::from(p.start), i32::from(p.end))),
                        v4.clone(),
                        v6.clone(),
                    );
                }
            }
            Transport::Icmp => {
                push("icmp", Some((8, -1)), v4, Vec::new());
                push("icmpv6", Some((128, -1)), Vec::new(), v6);
            }
            Transport::Gre => push("47", None, v4, v6),
            Transport::Esp => push("50", None, v4, v6),
            Transport::Ah => push("51", None, v4, v6),
        }
    }
    // Path MTU discovery: the routers on the way send these, from anywhere.
    if need_v4 {
        out.push(Permission {
            protocol: "icmp",
            ports: Some((3, 4)),
            v4: vec![any(false)],
            v6: Vec::new(),
            description: "portq: path MTU discovery (ICMP fragmentation needed)".into(),
        });
    }
    if need_v6 {
        out.push(Permission {
            protocol: "icmpv6",
            ports: Some((2, -1)),
            v4: Vec::new(),
            v6: vec![any(true)],
            description: "portq: path MTU discovery (ICMPv6 packet too big)".into(),
        });
    }
    out
}

/// The `IpPermissions` of `aws ec2 authorize-security-group-ingress --cli-input-json`.
pub fn aws(rules: &[Rule]) -> String {
    let perms: Vec<Value> = permissions(rules)
        .into_iter()
        .map(|p| {
            let mut v = json!({ "IpProtocol": p.protocol });
            if let Some((from, to)) = p.ports {
                v["FromPort"] = json!(from);
                v["ToPort"] = json!(to);
            }
            if !p.v4.is_empty() {
                v["IpRanges"] =
                    p.v4.iter()
                        .map(|n| json!({ "CidrIp": n.to_string(), "Description": p.description }))
                        .collect();
            }
            if !p.v6.is_empty() {
                v["Ipv6Ranges"] =
                    p.v6.iter()
                        .map(|n| json!({ "CidrIpv6": n.to_string(), "Description": p.description }))
                        .collect();
            }
            v
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&json!({ "IpPermissions": perms }))
        .unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

fn hcl_str(s: &str) -> String {
    // A JSON string is an HCL string once template sequences cannot start.
    serde_json::to_string(&s.replace("${", "$ {").replace("%{", "% {"))
        .unwrap_or_else(|_| "\"\"".into())
}

/// A Terraform resource label made of the rule name.
fn label(name: &str, n: usize) -> String {
    let base: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{base}_{n}")
}

fn tf_header(ctx: &Context, what: &str) -> String {
    format!(
        "# portq firewall rules for: {}\n# {what}\n# Check it first: terraform fmt -check && terraform validate && terraform plan\n\n",
        ctx.roles.join(", ")
    )
}

/// `aws_vpc_security_group_ingress_rule` resources, one per port range and source.
pub fn terraform_aws(rules: &[Rule], ctx: &Context) -> String {
    let mut out = tf_header(
        ctx,
        "Ingress rules for the security group of the servers (hashicorp/aws 5.x).\n# Security groups only allow: rules the group already has stay in force; review and remove\n# what the roles do not need.",
    );
    out.push_str("variable \"security_group_id\" {\n  description = \"The security group of the servers\"\n  type        = string\n}\n");
    let mut n = 0;
    for p in permissions(rules) {
        let cidrs =
            p.v4.iter()
                .map(|c| ("cidr_ipv4", c))
                .chain(p.v6.iter().map(|c| ("cidr_ipv6", c)));
        for (key, cidr) in cidrs {
            n += 1;
            out.push_str(&format!(
                "\nresource \"aws_vpc_security_group_ingress_rule\" \"{}\" {{\n  security_group_id = var.security_group_id\n  description       = {}\n  ip_protocol       = {}\n",
                label("portq", n),
                hcl_str(&p.description),
                hcl_str(p.protocol),
            ));
            if let Some((from, to)) = p.ports {
                out.push_str(&format!(
                    "  from_port         = {from}\n  to_port           = {to}\n"
                ));
            }
            out.push_str(&format!(
                "  {key:<17} = {}\n}}\n",
                hcl_str(&cidr.to_string())
            ));
        }
    }
    out
}

/// One Azure security rule.
struct AzureRule {
    name: String,
    priority: u32,
    access: &'static str,
    protocol: &'static str,
    ports: Vec<String>,
    sources: Vec<String>,
    destinations: Vec<String>,
    description: String,
}

fn azure_rules(rules: &[Rule], ctx: &Context) -> Result<Vec<AzureRule>, RulesError> {
    let list = applicable(rules, Platform::Network);
    let dests = rules
        .first()
        .map(|r| r.destinations.clone())
        .unwrap_or_default();
    let mut out: Vec<AzureRule> = Vec::new();
    for pr in port_rules(list.iter().copied()) {
        let r = pr.rule;
        let protocol = match r.transport {
            Transport::Tcp => "Tcp",
            Transport::Udp => "Udp",
            Transport::Icmp => "Icmp",
            Transport::Esp => "Esp",
            Transport::Ah => "Ah",
            // NSGs have no GRE protocol (Azure virtual networks do not carry GRE).
            Transport::Gre => continue,
        };
        let ports: Vec<String> = if pr.ports.is_empty() {
            vec!["*".into()]
        } else {
            pr.ports.iter().map(|p| p.to_string()).collect()
        };
        // A rule holds addresses of one IP version.
        for v6 in [false, true] {
            let Some(src) = family(&r.remote, v6) else {
                continue;
            };
            let dst: Vec<IpNet> = dests
                .iter()
                .copied()
                .filter(|n| matches!(n, IpNet::V6(_)) == v6)
                .collect();
            if !dests.is_empty() && dst.is_empty() {
                continue;
            }
            if v6 && src.is_empty() && dests.is_empty() {
                continue; // any to any: the IPv4 pass wrote it
            }
            let list = |n: &[IpNet]| -> Vec<String> {
                if n.is_empty() {
                    vec!["*".into()]
                } else {
                    n.iter().map(|n| n.to_string()).collect()
                }
            };
            let priority =
                AZURE_FIRST + AZURE_STEP * u32::try_from(out.len()).unwrap_or(u32::MAX / 20);
            if priority > AZURE_LAST {
                return Err(RulesError::TooManyRules {
                    format: "azure",
                    count: out.len() + 1,
                    max: ((AZURE_LAST - AZURE_FIRST) / AZURE_STEP + 1) as usize,
                    fix: "narrow the roles, or give sources as fewer CIDR blocks",
                });
            }
            out.push(AzureRule {
                name: format!("{}{}", r.name, if v6 { "-v6" } else { "" }),
                priority,
                access: "Allow",
                protocol,
                ports: ports.clone(),
                sources: list(&src),
                destinations: list(&dst),
                description: serves(&r.name, &pr.services, AZURE_DESCRIPTION_MAX),
            });
        }
    }
    let to: Vec<String> = if dests.is_empty() {
        vec!["*".into()]
    } else {
        dests.iter().map(|n| n.to_string()).collect()
    };
    if ctx.azure_load_balancer {
        out.push(AzureRule {
            name: "portq-azure-load-balancer".into(),
            priority: AZURE_LOAD_BALANCER,
            access: "Allow",
            protocol: "*",
            ports: vec!["*".into()],
            sources: vec!["AzureLoadBalancer".into()],
            destinations: to.clone(),
            description: "portq: the load balancer's health probes (--azure-load-balancer)".into(),
        });
    }
    out.push(AzureRule {
        name: "portq-deny-inbound".into(),
        priority: AZURE_DENY,
        access: "Deny",
        protocol: "*",
        ports: vec!["*".into()],
        sources: vec!["*".into()],
        destinations: to,
        description: "portq: nothing else inbound (above AllowVnetInBound 65000)".into(),
    });
    Ok(out)
}

/// Azure's singular property for one value, the plural one for several.
fn one_or_many(v: &mut Value, singular: &str, plural: &str, items: &[String]) {
    match items {
        [one] => v[singular] = json!(one),
        many => v[plural] = json!(many),
    }
}

/// An ARM template with one network security group and its `securityRules`.
pub fn azure(rules: &[Rule], ctx: &Context) -> Result<String, RulesError> {
    let security_rules: Vec<Value> = azure_rules(rules, ctx)?
        .into_iter()
        .map(|a| {
            let mut p = json!({
                "description": a.description,
                "priority": a.priority,
                "direction": "Inbound",
                "access": a.access,
                "protocol": a.protocol,
                "sourcePortRange": "*",
            });
            one_or_many(
                &mut p,
                "sourceAddressPrefix",
                "sourceAddressPrefixes",
                &a.sources,
            );
            one_or_many(
                &mut p,
                "destinationAddressPrefix",
                "destinationAddressPrefixes",
                &a.destinations,
            );
            one_or_many(
                &mut p,
                "destinationPortRange",
                "destinationPortRanges",
                &a.ports,
            );
            json!({ "name": a.name, "properties": p })
        })
        .collect();
    let template = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "metadata": { "description": format!("portq firewall rules for: {}", ctx.roles.join(", ")) },
        "parameters": {
            "nsgName": { "type": "string", "defaultValue": "portq-nsg" },
            "location": { "type": "string", "defaultValue": "[resourceGroup().location]" }
        },
        "resources": [{
            "type": "Microsoft.Network/networkSecurityGroups",
            "apiVersion": "2023-09-01",
            "name": "[parameters('nsgName')]",
            "location": "[parameters('location')]",
            "properties": { "securityRules": security_rules }
        }]
    });
    let mut s = serde_json::to_string_pretty(&template).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    Ok(s)
}

/// `azurerm_network_security_rule` resources for an existing network security group.
pub fn terraform_azure(rules: &[Rule], ctx: &Context) -> Result<String, RulesError> {
    let mut out = tf_header(
        ctx,
        "Rules for the network security group of the servers (hashicorp/azurerm 3.x/4.x).",
    );
    out.push_str("variable \"resource_group_name\" {\n  description = \"The resource group of the network security group\"\n  type        = string\n}\n\nvariable \"network_security_group_name\" {\n  description = \"The network security group of the servers\"\n  type        = string\n}\n");
    for (i, a) in azure_rules(rules, ctx)?.into_iter().enumerate() {
        let attr = |singular: &str, plural: &str, items: &[String]| match items {
            [one] => format!("  {singular:<27} = {}\n", hcl_str(one)),
            many => format!(
                "  {plural:<27} = [{}]\n",
                many.iter()
                    .map(|s| hcl_str(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        out.push_str(&format!(
            "\nresource \"azurerm_network_security_rule\" \"{}\" {{\n  name                        = {}\n  description                 = {}\n  priority                    = {}\n  direction                   = \"Inbound\"\n  access                      = {}\n  protocol                    = {}\n  source_port_range           = \"*\"\n{}{}{}  resource_group_name         = var.resource_group_name\n  network_security_group_name = var.network_security_group_name\n}}\n",
            label(&a.name, i + 1),
            hcl_str(&a.name),
            hcl_str(&a.description),
            a.priority,
            hcl_str(a.access),
            hcl_str(a.protocol),
            attr("source_address_prefix", "source_address_prefixes", &a.sources),
            attr(
                "destination_address_prefix",
                "destination_address_prefixes",
                &a.destinations
            ),
            attr("destination_port_range", "destination_port_ranges", &a.ports),
        ));
    }
    Ok(out)
}
