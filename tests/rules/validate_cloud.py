#!/usr/bin/env python3
"""Checks portq's cloud rule formats with the clouds' own libraries, offline.

    validate_cloud.py aws|azure|terraform|aws-describe|azure-nsg FILE

- aws: botocore's ParamValidator against the AuthorizeSecurityGroupIngress input shape of
  the EC2 service model bundled with botocore (no network, no credentials).
- azure: every security rule deserialised by azure-mgmt-network's SecurityRule model, and
  the whole group by NetworkSecurityGroup; priorities unique, ascending, 100..4096.
- terraform: parsed by python-hcl2.
- aws-describe: an `aws ec2 describe-security-groups` output (portq audit's input), checked
  against the DescribeSecurityGroups output shape of the same EC2 model.
- azure-nsg: an `az network nsg show` output (portq audit's input): its rules and default
  rules deserialised by the SecurityRule model, the group by NetworkSecurityGroup.

Prints a JSON summary on stdout for the caller to check; exits 1 with the reasons on
stderr when the file is rejected, and 3 when a module is missing.
"""

import json
import sys


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def aws(text):
    try:
        import botocore.session
        from botocore.validate import ParamValidator
    except ImportError as e:
        print(f"missing python module: {e}", file=sys.stderr)
        sys.exit(3)
    params = json.loads(text)
    model = botocore.session.get_session().get_service_model("ec2")
    shape = model.operation_model("AuthorizeSecurityGroupIngress").input_shape
    # The CLI merges --group-id into --cli-input-json; the service needs one group.
    params = dict(params, GroupId="sg-0123456789abcdef0")
    report = ParamValidator().validate(params, shape)
    if report.has_errors():
        fail(report.generate_report())
    perms = params["IpPermissions"]
    return {
        "permissions": len(perms),
        "ports": sorted(
            {(p["IpProtocol"], p.get("FromPort"), p.get("ToPort")) for p in perms},
            key=str,
        ),
        "sources": sorted(
            {r["CidrIp"] for p in perms for r in p.get("IpRanges", [])}
            | {r["CidrIpv6"] for p in perms for r in p.get("Ipv6Ranges", [])}
        ),
    }


def azure(text):
    try:
        from azure.mgmt.network.models import (
            NetworkSecurityGroup,
            SecurityRule,
            SecurityRuleAccess,
            SecurityRuleDirection,
            SecurityRuleProtocol,
        )
    except ImportError as e:
        print(f"missing python module: {e}", file=sys.stderr)
        sys.exit(3)
    template = json.loads(text)
    (nsg,) = [
        r
        for r in template["resources"]
        if r["type"] == "Microsoft.Network/networkSecurityGroups"
    ]
    raw = nsg["properties"]["securityRules"]

    def model(cls, data):
        # azure-mgmt-network up to 2x: msrest models (deserialize, flattened
        # properties); from 30: typed mappings with a nested `properties`.
        if hasattr(cls, "deserialize"):
            m = cls.deserialize(data)
            return m, m
        m = cls(data)
        return m, m.properties

    _, group = model(
        NetworkSecurityGroup,
        {"location": "westeurope", "properties": {"securityRules": raw}},
    )
    if len(group.security_rules or []) != len(raw):
        fail("NetworkSecurityGroup lost rules in deserialisation")
    protocols = {p.value for p in SecurityRuleProtocol}
    priorities = []
    ports = set()
    for r in raw:
        rule, props = model(SecurityRule, r)
        problems = []
        if not rule.name or len(rule.name) > 80:
            problems.append("name missing or longer than 80")
        prio = props.priority
        if not isinstance(prio, int) or not 100 <= prio <= 4096:
            problems.append(f"priority {prio!r} not a number in 100..4096")
        if props.protocol not in protocols:
            problems.append(f"protocol {props.protocol!r} not one of {sorted(protocols)}")
        # portq's closing deny (priority 4096, every source) is its one Deny rule.
        deny_ok = rule.name == "portq-deny-inbound" and r is raw[-1]
        if props.access != SecurityRuleAccess.ALLOW.value and not (
            deny_ok and props.access == SecurityRuleAccess.DENY.value
        ):
            problems.append(f"access {props.access!r}")
        if props.direction != SecurityRuleDirection.INBOUND.value:
            problems.append(f"direction {props.direction!r}")
        if not (props.source_address_prefix or props.source_address_prefixes):
            problems.append("no source")
        if not (props.destination_address_prefix or props.destination_address_prefixes):
            problems.append("no destination")
        dports = props.destination_port_ranges or [props.destination_port_range]
        if not all(isinstance(p, str) and p for p in dports):
            problems.append("no destination port")
        if props.description and len(props.description) > 140:
            problems.append("description longer than 140")
        if problems:
            fail(f"{r.get('name')}: " + "; ".join(problems))
        priorities.append(prio)
        ports.update((str(props.protocol.value if hasattr(props.protocol, "value") else props.protocol), p) for p in dports)
    if priorities != sorted(set(priorities)):
        fail(f"priorities not unique and ascending: {priorities}")
    return {"rules": len(raw), "ports": sorted(ports)}


def terraform(text):
    try:
        import hcl2
    except ImportError as e:
        print(f"missing python module: {e}", file=sys.stderr)
        sys.exit(3)
    try:
        doc = hcl2.loads(text)
    except Exception as e:  # the parser raises several lark error types
        fail(f"HCL does not parse: {e}")
    def bare(v):
        # python-hcl2 keeps the quotes of labels and strings in some versions.
        return v.strip('"') if isinstance(v, str) else v

    counts = {}
    ports = set()
    for block in doc.get("resource", []):
        for kind, named in block.items():
            kind = bare(kind)
            for _, body in named.items():
                counts[kind] = counts.get(kind, 0) + 1
                for key in ("from_port", "to_port", "destination_port_range"):
                    if key in body:
                        ports.add(str(bare(body[key])))
                for p in body.get("destination_port_ranges", []) or []:
                    ports.add(str(bare(p)))
    return {
        "resources": counts,
        "variables": sorted(bare(k) for v in doc.get("variable", []) for k in v),
        "ports": sorted(ports),
    }


def aws_describe(text):
    try:
        import botocore.session
        from botocore.validate import ParamValidator
    except ImportError as e:
        print(f"missing python module: {e}", file=sys.stderr)
        sys.exit(3)
    doc = json.loads(text)
    model = botocore.session.get_session().get_service_model("ec2")
    shape = model.operation_model("DescribeSecurityGroups").output_shape
    report = ParamValidator().validate(doc, shape)
    if report.has_errors():
        fail(report.generate_report())
    perms = [p for g in doc["SecurityGroups"] for p in g.get("IpPermissions", [])]
    return {"groups": len(doc["SecurityGroups"]), "rules": len(perms)}


def azure_nsg(text):
    try:
        from azure.mgmt.network.models import NetworkSecurityGroup, SecurityRule
    except ImportError as e:
        print(f"missing python module: {e}", file=sys.stderr)
        sys.exit(3)
    doc = json.loads(text)
    # az prints the resource flattened; the REST shape nests each rule's properties.
    keep = {"name", "id", "etag", "type"}

    def nest(r):
        return {
            **{k: v for k, v in r.items() if k in keep},
            "properties": {k: v for k, v in r.items() if k not in keep | {"resourceGroup"}},
        }

    rules = [nest(r) for r in doc.get("securityRules", [])]
    defaults = [nest(r) for r in doc.get("defaultSecurityRules", [])]

    def model(cls, data):
        if hasattr(cls, "deserialize"):
            return cls.deserialize(data)
        return cls(data)

    for r in rules + defaults:
        m = model(SecurityRule, r)
        props = getattr(m, "properties", m)
        if props.priority is None or props.access is None or props.direction is None:
            fail(f"{r.get('name')}: priority, access or direction missing")
    group = model(
        NetworkSecurityGroup,
        {
            "location": doc.get("location", "westeurope"),
            "properties": {"securityRules": rules, "defaultSecurityRules": defaults},
        },
    )
    props = getattr(group, "properties", group)
    if len(props.security_rules or []) != len(rules):
        fail("NetworkSecurityGroup lost rules in deserialisation")
    return {"rules": len(rules), "default_rules": len(defaults)}


def main():
    kinds = {
        "aws": aws,
        "azure": azure,
        "terraform": terraform,
        "aws-describe": aws_describe,
        "azure-nsg": azure_nsg,
    }
    if len(sys.argv) != 3 or sys.argv[1] not in kinds:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[2], encoding="utf-8") as f:
        text = f.read()
    summary = kinds[sys.argv[1]](text)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
