//! The one integration-test binary of the `portq` command (ripgrep style): small helpers,
//! then tests grouped by subcommand. Everything here is offline; the network tests of
//! `check` and `rpc` live with the probe crate and the lab.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;

fn portq() -> Command {
    let mut c = Command::cargo_bin("portq").expect("binary");
    c.env_remove("RUST_BACKTRACE");
    c
}

/// Runs portq and returns (exit code, stdout, stderr).
pub(crate) fn run(args: &[&str]) -> (i32, String, String) {
    let out = portq().args(args).output().expect("run portq");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> Vec<Value> {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 0, "{args:?}: {stderr}");
    serde_json::from_str::<Value>(&stdout)
        .expect("json")
        .as_array()
        .expect("array")
        .clone()
}

/// The Samba DC lab's address (PORTQ_LAB_DC), or `None` with a NOT RUN line when the lab
/// is not up (a failure when PORTQ_LAB_REQUIRED is set).
pub(crate) fn lab_dc() -> Option<String> {
    let dc = std::env::var("PORTQ_LAB_DC").ok();
    if dc.is_none() {
        assert!(
            std::env::var_os("PORTQ_LAB_REQUIRED").is_none(),
            "PORTQ_LAB_REQUIRED is set but PORTQ_LAB_DC is not"
        );
        eprintln!("NOT RUN: no Samba DC lab (PORTQ_LAB_DC unset)");
    }
    dc
}

/// Asserts the usage-error contract: exit 2, exactly one line on stderr, no panic.
pub(crate) fn assert_usage_error(args: &[&str]) -> String {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 2, "{args:?} should exit 2; stderr: {stderr}");
    assert_eq!(
        stderr.lines().count(),
        1,
        "{args:?} should print one line: {stderr:?}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{args:?} printed to stdout: {stdout}");
    stderr
}

fn fixture(name: &str) -> Vec<BTreeMap<String, String>> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let mut rdr = csv::Reader::from_path(path).expect("fixture");
    rdr.deserialize().map(|r| r.expect("row")).collect()
}

fn same_app(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_lowercase(), b.to_lowercase());
    a == b || (!a.is_empty() && !b.is_empty() && (a.contains(&b) || b.contains(&a)))
}

/// The query a reference row is answered by.
fn query_for(port: &str, protocol: &str) -> String {
    match protocol {
        "TCP" | "UDP" => format!("{port}/{}", protocol.to_lowercase()),
        other => other.to_lowercase(),
    }
}

fn ports_match(row: &Value, port: &str) -> bool {
    if port.is_empty() || port == "n/a" {
        return row["port_start"].is_null();
    }
    let (a, b) = port.split_once('-').unwrap_or((port, port));
    row["port_start"].as_u64().map(|v| v.to_string()).as_deref() == Some(a)
        && row["port_end"].as_u64().map(|v| v.to_string()).as_deref() == Some(b)
}

// ---------------------------------------------------------------- lookup --

#[test]
fn every_row_of_the_service_table_is_answered() {
    let rows = fixture("windows-service-ports.csv");
    assert_eq!(rows.len(), 213);
    let mut cache: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in &rows {
        let q = query_for(&r["port"], &r["protocol"]);
        let answers = cache
            .entry(q.clone())
            .or_insert_with(|| json(&["lookup", &q, "--all", "--format", "json"]));
        let found = answers.iter().any(|a| {
            a["service"] == r["service_friendly_name"].as_str()
                && a["service_name"] == r["service_name"].as_str()
                && a["protocol"] == r["protocol"].to_lowercase().as_str()
                && ports_match(a, &r["port"])
                && same_app(
                    a["application_protocol"].as_str().unwrap_or(""),
                    &r["application_protocol"],
                )
                && a["source"] == "catalog"
        });
        assert!(
            found,
            "service table row not answered by `portq lookup {q}`: {r:?}"
        );
    }
}

#[test]
fn every_row_of_the_port_table_is_answered() {
    let rows = fixture("windows-ports-by-port.csv");
    assert_eq!(rows.len(), 183);
    let mut cache: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in &rows {
        let q = query_for(&r["port"], &r["protocol"]);
        let answers = cache
            .entry(q.clone())
            .or_insert_with(|| json(&["lookup", &q, "--all", "--format", "json"]));
        let label = r["system_service_name"].as_str();
        let found = answers.iter().any(|a| {
            a["listed_as"]
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x == label))
                && a["protocol"] == r["protocol"].to_lowercase().as_str()
                && ports_match(a, &r["port"])
                && same_app(
                    a["application_protocol"].as_str().unwrap_or(""),
                    &r["application_protocol"],
                )
        });
        assert!(
            found,
            "port table row not answered by `portq lookup {q}`: {r:?}"
        );
    }
}

#[test]
fn lookup_json_has_the_documented_fields() {
    let rows = json(&["lookup", "445", "--format", "json"]);
    assert!(!rows.is_empty());
    for field in [
        "service",
        "service_name",
        "port_start",
        "port_end",
        "protocol",
        "application_protocol",
        "notes",
        "source",
        "qualifiers",
        "rpc_dynamic",
    ] {
        assert!(rows[0].get(field).is_some(), "missing {field}");
    }
}

#[test]
fn shorthand_equals_lookup() {
    assert_eq!(run(&["445"]).1, run(&["lookup", "445"]).1);
}

#[test]
fn near_miss_suggests_and_finds() {
    let (code, stdout, stderr) = run(&["lookup", "kerbros"]);
    assert_eq!(code, 0);
    assert!(stderr.contains("did you mean 'kerberos'"), "{stderr}");
    assert!(stdout.contains("Kerberos Key Distribution Center"));
}

#[test]
fn unknown_things_exit_1() {
    let (code, stdout, stderr) = run(&["lookup", "zzzzqqqq"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("zzzzqqqq"));
    assert!(!stdout.contains("zzzz"));
}

#[test]
fn fallbacks_are_labelled() {
    let rows = json(&["lookup", "873/tcp", "--format", "json"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["source"], "iana");
    assert_eq!(rows[0]["service"], "rsync");
    let dir = std::env::temp_dir().join(format!("portq-services-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("services");
    std::fs::write(&file, "portq-test 873/tcp # a local name\n").unwrap();
    let rows = json(&[
        "lookup",
        "873/tcp",
        "--services-file",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(
        rows.iter()
            .any(|r| r["source"] == "services-file" && r["service"] == "portq-test")
    );
    assert_usage_error(&[
        "lookup",
        "873",
        "--services-file",
        "/nonexistent/portq/services",
    ]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn roles_union_is_deduplicated() {
    let one = json(&["lookup", "--role", "dc", "--format", "json"]);
    let two = json(&[
        "lookup",
        "--role",
        "dc",
        "--role",
        "domain-controller",
        "--format",
        "json",
    ]);
    assert_eq!(one.len(), two.len());
    assert!(
        one.iter()
            .all(|r| !r["directions"].as_array().unwrap().is_empty())
    );
}

#[test]
fn csv_and_markdown_views() {
    let (code, csv, _) = run(&["ports", "--format", "csv"]);
    assert_eq!(code, 0);
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(rdr.records().count(), portq_rows());
    let (_, md, _) = run(&["lookup", "88", "--format", "markdown"]);
    assert!(md.starts_with("| PORT | PROTO |"));
    let services = json(&["services", "--format", "json"]);
    assert!(
        services
            .iter()
            .all(|s| !s["description"].as_str().unwrap().is_empty())
    );
}

fn portq_rows() -> usize {
    json(&["ports", "--format", "json"]).len()
}

#[test]
fn bad_lookups_are_one_line_exit_2() {
    let long = "9".repeat(10_000);
    for q in [
        "70000",
        "0-",
        "5-3",
        "abc/tcp",
        "445/sctp",
        "",
        long.as_str(),
    ] {
        let line = assert_usage_error(&["lookup", q]);
        assert!(line.starts_with("portq: "), "{line}");
    }
    assert_usage_error(&["lookup"]);
    assert_usage_error(&["lookup", "--format", "yaml", "445"]);
    assert_usage_error(&["lookup", "--role", "domain-controler"]);
    assert!(
        assert_usage_error(&["lookup", "--role", "domain-controler"])
            .contains("did you mean 'domain-controller'")
    );
    assert_usage_error(&["--bogus"]);
}

#[test]
fn help_snapshots() {
    insta::assert_snapshot!("help", run(&["--help"]).1);
    insta::assert_snapshot!("lookup_help", run(&["lookup", "--help"]).1);
    insta::assert_snapshot!("rules_help", run(&["rules", "--help"]).1);
}

#[test]
fn table_snapshot() {
    insta::assert_snapshot!("lookup_88_table", run(&["lookup", "88"]).1);
    insta::assert_snapshot!("roles_table", run(&["roles"]).1);
}

// ------------------------------------------------- lookup: cited sources --

/// Reads a fixture CSV whose lines starting with `#` are comments.
fn commented_fixture(name: &str) -> Vec<BTreeMap<String, String>> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).expect("fixture");
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let mut rdr = csv::Reader::from_reader(body.as_bytes());
    rdr.deserialize().map(|r| r.expect("row")).collect()
}

/// True when a lookup answer cites `path` under the document's name for the fact.
fn cites(answer: &Value, path: &str, label: &str) -> bool {
    answer["citations"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["path"] == path && c["label"] == label && c["date"].is_string())
    })
}

/// Every fact of the current Microsoft documents (modern-ports.csv, a copy of
/// ../shared/reference) is answered by `portq lookup PORT/PROTO` with a row that cites
/// the same document under the same service name, or is excluded with a reason.
#[test]
fn every_fact_of_the_modern_docs_is_answered() {
    let facts = fixture("modern-ports.csv");
    assert_eq!(facts.len(), 174);
    let mut excluded: BTreeMap<usize, String> = BTreeMap::new();
    for e in commented_fixture("modern-ports-exclusions.csv") {
        let line: usize = e["line"].parse().expect("line number");
        let fact = &facts[line - 2];
        for k in ["service_friendly_name", "port", "transport"] {
            assert_eq!(
                e[k], fact[k],
                "exclusion for line {line} does not match the fact"
            );
        }
        assert!(e["reason"].len() > 20, "exclusion {line} needs a reason");
        excluded.insert(line, e["reason"].clone());
    }
    assert!(excluded.len() <= 12, "the exclusion list must stay small");
    let mut cache: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut answered = 0;
    for (i, f) in facts.iter().enumerate() {
        if excluded.contains_key(&(i + 2)) {
            continue;
        }
        let q = query_for(&f["port"], &f["transport"]);
        let answers = cache
            .entry(q.clone())
            .or_insert_with(|| json(&["lookup", &q, "--format", "json"]));
        let found = answers.iter().any(|a| {
            a["protocol"] == f["transport"].to_lowercase().as_str()
                && ports_match(a, &f["port"])
                && cites(a, &f["source_path"], &f["service_friendly_name"])
        });
        assert!(
            found,
            "modern fact (line {}) not answered by `portq lookup {q}` with its source: {f:?}",
            i + 2
        );
        answered += 1;
    }
    assert_eq!(answered + excluded.len(), facts.len());
}

/// The rows of KB 832017 cite that article and its section, with its date.
#[test]
fn kb832017_rows_cite_the_article_and_section() {
    let rows = json(&["lookup", "3268/tcp", "--format", "json"]);
    let lsass = rows
        .iter()
        .find(|r| r["service_id"] == "lsass")
        .expect("lsass answers 3268");
    let sections: Vec<&str> = lsass["citations"]
        .as_array()
        .expect("citations")
        .iter()
        .filter(|c| c["kb"] == "832017")
        .map(|c| c["section"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(sections, ["System services ports", "Ports and protocols"]);
    assert_eq!(lsass["citations"][0]["date"], "2023-12-26");
}

/// Where two documents disagree, both facts are answered, each cited, one current.
#[test]
fn disagreeing_documents_keep_both_facts() {
    for (queries, topic) in [
        (&["137/tcp", "137/udp"][..], "cluster-137"),
        (&["2383/tcp", "2725/tcp"][..], "ssas-port"),
        (&["3544/tcp", "3544/udp"][..], "teredo-3544"),
        (&["80/tcp"][..], "winrm-80"),
        (&["443/tcp"][..], "winrm-443"),
    ] {
        let mut args = vec!["lookup"];
        args.extend_from_slice(queries);
        args.extend(["--format", "json"]);
        let rows = json(&args);
        let mine: Vec<&Value> = rows
            .iter()
            .filter(|r| r["disagreement"]["topic"] == topic)
            .collect();
        let current = mine
            .iter()
            .filter(|r| r["disagreement"]["current"] == true)
            .count();
        assert_eq!(current, 1, "{topic}: one current fact");
        assert!(mine.len() >= 2, "{topic}: both facts kept");
        let docs: std::collections::BTreeSet<&str> = mine
            .iter()
            .map(|r| r["citations"][0]["document"].as_str().unwrap_or(""))
            .collect();
        assert!(docs.len() >= 2, "{topic}: each fact cites its own document");
    }
}

#[test]
fn lookup_explain_adds_a_source_column() {
    let (code, out, _) = run(&["lookup", "3391/udp", "--explain"]);
    assert_eq!(code, 0);
    let header = out.lines().next().unwrap_or("");
    assert!(header.contains("SOURCE"), "{out}");
    assert!(
        out.contains(
            "Ports that are used by Remote Desktop Services, \u{a7} RD Gateway, 2026-02-12"
        ),
        "{out}"
    );
    let (_, plain, _) = run(&["lookup", "3391/udp"]);
    assert!(!plain.contains("SOURCE"), "{plain}");
    let (code, csv_out, _) = run(&["lookup", "5504", "--explain", "--format", "csv"]);
    assert_eq!(code, 0);
    assert!(csv_out.contains("RD Connection Broker"), "{csv_out}");
}

#[test]
fn lookup_sources_lists_every_document_with_its_date() {
    let docs = json(&["lookup", "--sources", "--format", "json"]);
    assert!(docs.len() >= 20, "{docs:?}");
    for d in &docs {
        let date = d["date"].as_str().expect("date");
        assert!(
            date.len() == 10 || !d["date_note"].as_str().unwrap_or("").is_empty(),
            "{d}"
        );
        assert!(
            d["rows"].as_u64().unwrap_or(0) > 0,
            "every document is cited: {d}"
        );
    }
    let dates: Vec<&str> = docs.iter().filter_map(|d| d["date"].as_str()).collect();
    let mut sorted = dates.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(dates, sorted, "newest first");
    assert!(
        docs.iter()
            .any(|d| d["id"] == "kb832017" && d["kb"] == "832017")
    );
    let (code, table, _) = run(&["lookup", "--sources"]);
    assert_eq!(code, 0);
    assert!(
        table.contains("2026-02-12")
            && table.contains("Ports that are used by Remote Desktop Services")
    );
    assert_usage_error(&["lookup", "--sources", "445"]);
}

/// Phrases an administrator types for the services of the current documents: the
/// expected port is among the first three answers (the same contract as issue 12's
/// phrase test, which reads every phrases*.csv).
#[test]
fn modern_service_phrases_are_answered_in_the_first_three() {
    let phrases = fixture("phrases-modern.csv");
    assert!(phrases.len() >= 20);
    for p in &phrases {
        let rows = json(&["lookup", &p["phrase"], "--format", "json"]);
        let port: u64 = p["port"].parse().expect("port");
        let ok = rows
            .iter()
            .take(3)
            .any(|r| r["port_start"] == port && r["protocol"] == p["transport"].as_str());
        assert!(
            ok,
            "`portq lookup {}`: {port}/{} not in the first three",
            p["phrase"], p["transport"]
        );
    }
}

/// The roles built from the current documents, and KB 179442's conditions as options.
#[test]
fn new_roles_and_trust_conditions() {
    let trusts = json(&["lookup", "--role", "domains-and-trusts", "--format", "json"]);
    let has = |rows: &[Value], port: u64, proto: &str| {
        rows.iter()
            .any(|r| r["port_start"] == port && r["protocol"] == proto)
    };
    assert!(has(&trusts, 464, "tcp") && has(&trusts, 49152, "tcp"));
    assert!(!has(&trusts, 636, "tcp") && !has(&trusts, 123, "udp") && !has(&trusts, 137, "udp"));
    let all = json(&[
        "lookup",
        "--role",
        "domains-and-trusts:ldaps,time-sync,netbios-trust,pptp",
        "--format",
        "json",
    ]);
    assert!(has(&all, 636, "tcp") && has(&all, 123, "udp") && has(&all, 42, "tcp"));
    assert!(has(&all, 1723, "tcp") && all.iter().any(|r| r["protocol"] == "gre"));
    let gw = json(&["lookup", "--role", "rd-gateway", "--format", "json"]);
    assert!(has(&gw, 443, "tcp") && has(&gw, 3391, "udp"));
    assert!(
        gw.iter().all(|r| !r["qualifiers"]
            .as_array()
            .is_some_and(|q| q.iter().any(|x| x == "outbound"))),
        "a role lists only what the server accepts"
    );
    let ipsec = json(&["lookup", "--role", "ipsec:ah", "--format", "json"]);
    assert!(has(&ipsec, 500, "udp") && has(&ipsec, 4500, "udp"));
    for p in ["esp", "ah"] {
        assert!(ipsec.iter().any(|r| r["protocol"] == p), "{p}");
    }
}

// ----------------------------------------------------------------- rules --

fn tool(name: &str) -> Option<std::path::PathBuf> {
    ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| std::path::Path::new(d).join(name))
        .find(|p| p.exists())
}

/// Real firewall tools must be present where CI says so; elsewhere the check is reported as not run.
fn require(name: &str) -> Option<std::path::PathBuf> {
    let found = tool(name);
    if found.is_none() {
        assert!(
            std::env::var_os("PORTQ_REQUIRE_TOOLS").is_none(),
            "{name} is required (PORTQ_REQUIRE_TOOLS is set) but not installed"
        );
        eprintln!("NOT RUN: {name} is not installed");
    }
    found
}

fn check_with(tool: &std::path::Path, args: &[&str], input: &str) {
    let dir = std::env::temp_dir().join(format!(
        "portq-rules-{}-{}",
        std::process::id(),
        input.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("rules");
    std::fs::write(&file, input).unwrap();
    let out = std::process::Command::new(tool)
        .args(args)
        .stdin(std::fs::File::open(&file).unwrap())
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{} rejected the rules: {}\n{input}",
        tool.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

const ROLE_SETS: &[&[&str]] = &[
    &["--role", "dc"],
    &[
        "--role",
        "dc",
        "--role",
        "dns-server",
        "--role",
        "dhcp-server",
        "--from",
        "10.0.0.0/8",
        "--from",
        "2001:db8::/32",
    ],
    &[
        "--role",
        "managed-server",
        "--role",
        "failover-cluster-node",
        "--management",
        "192.0.2.0/24",
    ],
    &[
        "--role",
        "exchange",
        "--role",
        "sql-server",
        "--role",
        "nps",
    ],
    &[
        "--role",
        "dc",
        "--rpc-range",
        "5000-5100",
        "--static-port",
        "ntds=38901",
        "--static-port",
        "netlogon=38902",
    ],
];

#[test]
fn nftables_output_passes_nft_check() {
    let Some(nft) = require("nft") else { return };
    for set in ROLE_SETS {
        let mut args = vec!["rules", "--format", "nftables"];
        args.extend_from_slice(set);
        let (code, text, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        // `nft -c -f FILE` parses and checks without loading; the file is passed as the last argument.
        check_with(&nft, &["-c", "-f"], &text);
    }
}

#[test]
fn iptables_output_passes_iptables_restore_test() {
    for (bin, fmt) in [
        ("iptables-restore", "iptables"),
        ("ip6tables-restore", "ip6tables"),
    ] {
        let Some(tool) = require(bin) else { continue };
        for set in ROLE_SETS {
            let mut args = vec!["rules", "--format", fmt];
            args.extend_from_slice(set);
            let (code, text, err) = run(&args);
            assert_eq!(code, 0, "{err}");
            let out = std::process::Command::new(&tool)
                .arg("--test")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .and_then(|mut c| {
                    use std::io::Write;
                    c.stdin.take().unwrap().write_all(text.as_bytes())?;
                    c.wait_with_output()
                })
                .unwrap();
            assert!(
                out.status.success(),
                "{bin} rejected:\n{}\n{text}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn windows_rules_are_pinned() {
    let dc_dns = [
        "rules",
        "--role",
        "dc",
        "--role",
        "dns-server",
        "--from",
        "10.0.0.0/8",
    ];
    let (_, ps, _) = run(&[&dc_dns[..], &["--format", "powershell"]].concat());
    insta::assert_snapshot!("rules_dc_dns_powershell", ps);
    let (_, netsh, _) = run(&[&dc_dns[..], &["--format", "netsh"]].concat());
    insta::assert_snapshot!("rules_dc_dns_netsh", netsh);
    for text in [&ps, &netsh] {
        let adds: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("New-NetFirewallRule -Name") || l.contains("firewall add rule"))
            .collect();
        let mut uniq = adds.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(adds.len(), uniq.len(), "duplicate rules");
    }
}

#[test]
fn rules_bad_input() {
    assert_usage_error(&["rules"]);
    assert_usage_error(&["rules", "--role", "nope"]);
    assert_usage_error(&["rules", "--role", "dc", "--from", "10.0.0.0/33"]);
    assert_usage_error(&["rules", "--role", "dc", "--from", "banana"]);
    assert_usage_error(&["rules", "--role", "dc", "--rpc-range", "5100-5000"]);
    assert_usage_error(&["rules", "--role", "dc", "--rpc-range", "5000-5010"]);
    assert_usage_error(&[
        "rules",
        "--role",
        "dc",
        "--static-port",
        "ntds=38901",
        "--static-port",
        "netlogon=38901",
    ]);
    assert_usage_error(&["rules", "--role", "dc", "--static-port", "ntds=389"]);
    assert_usage_error(&["rules", "--role", "dc", "--static-port", "ntds=3268"]);
    assert_usage_error(&["rules", "--role", "dc:bogus"]);
    assert_usage_error(&["rules", "--role", "dc", "--format", "pf"]);
}

#[test]
fn rpc_config_formats_and_limits() {
    let (code, reg, _) = run(&["rpc-config", "--range", "5000-5100"]);
    assert_eq!(code, 0);
    assert!(reg.contains("Rpc\\Internet"));
    insta::assert_snapshot!("rpc_config_reg", reg);
    let (code, ps, _) = run(&[
        "rpc-config",
        "--range",
        "5000-5100",
        "--static-port",
        "ntds=38901",
        "--format",
        "powershell",
    ]);
    assert_eq!(code, 0);
    assert!(ps.contains("'TCP/IP Port' -PropertyType DWord -Value 38901"));
    assert_usage_error(&["rpc-config", "--range", "5000-5100", "--format", "netsh"]);
    assert_usage_error(&["rpc-config", "--range", "1000-2000"]);
    assert_usage_error(&["rpc-config", "--range", "5000-70000"]);
    assert_usage_error(&["rpc-config"]);
    let (code, netsh, _) = run(&["rpc-config", "--range", "10000-10999", "--format", "netsh"]);
    assert_eq!(code, 0);
    assert!(netsh.contains("netsh int ipv4 set dynamicport tcp start=10000 num=1000"));
}

// ----------------------------------------------------------------- local --

#[test]
fn local_finds_our_own_listeners_with_pid_and_name() {
    // Our own sockets, on ports the kernel picks: nothing else is touched.
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (tport, uport) = (
        tcp.local_addr().unwrap().port(),
        udp.local_addr().unwrap().port(),
    );
    let rows = json(&["local", "--format", "json"]);
    let me = std::process::id();
    let exe = std::env::current_exe().unwrap();
    let exe_name = exe.file_name().unwrap().to_string_lossy().into_owned();
    for (proto, port) in [("tcp", tport), ("udp", uport)] {
        let row = rows
            .iter()
            .find(|r| r["protocol"] == proto && r["port"] == port)
            .unwrap_or_else(|| panic!("{proto}/{port} not listed"));
        assert_eq!(row["pid"], me, "{proto}/{port}: {row}");
        let name = row["process"].as_str().unwrap();
        // Linux keeps the first 15 bytes of the executable name as the process name.
        assert!(
            exe_name.starts_with(name) && !name.is_empty(),
            "{name} vs {exe_name}"
        );
        assert_eq!(row["address"], "127.0.0.1");
    }
    drop((tcp, udp));
}

#[test]
fn local_expect_exit_codes_and_bad_input() {
    // The test machine is no KMS host: required 1688 is missing, so the audit does not match.
    let (code, stdout, _) = run(&["local", "--expect", "kms-host", "--format", "json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["matches"], false);
    assert!(
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["status"] == "missing" && r["port"] == 1688)
    );
    assert_usage_error(&["local", "--expect", "kms-hots"]);
    assert_usage_error(&["local", "--format", "xml"]);
    assert_usage_error(&["local", "--watch", "--interval", "0"]);
}

#[test]
fn local_watch_sees_a_listener_appear() {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("portq"))
        .args(["local", "--watch", "--interval", "0.3", "--count", "8"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.lines()
            .any(|l| l.starts_with("+ tcp 127.0.0.1:") && l.contains(&format!(":{port} "))),
        "{text}"
    );
    drop(tcp);
}

/// Runs `portq local --expect domain-controller` inside the Samba DC's network namespace.
#[test]
fn local_attributes_the_samba_dc_ports() {
    let Some(ns) = std::env::var_os("PORTQ_LAB_NETNS") else {
        assert!(
            std::env::var_os("PORTQ_LAB_REQUIRED").is_none(),
            "PORTQ_LAB_REQUIRED is set but PORTQ_LAB_NETNS is not"
        );
        eprintln!("NOT RUN: no Samba DC lab (PORTQ_LAB_NETNS unset)");
        return;
    };
    let bin = assert_cmd::cargo::cargo_bin("portq");
    let out = std::process::Command::new("ip")
        .arg("netns")
        .arg("exec")
        .arg(&ns)
        .arg(&bin)
        .args(["local", "--expect", "domain-controller", "--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let rows = v["rows"].as_array().unwrap();
    for (port, service) in [
        (88, "Kerberos Key Distribution Center"),
        (135, "Remote Procedure Call (RPC)"),
        (389, "Active Directory (local security authority)"),
        (445, "Net Logon"),
        (464, "Kerberos Key Distribution Center"),
        (3268, "Active Directory (local security authority)"),
    ] {
        let row = rows
            .iter()
            .find(|r| r["protocol"] == "tcp" && r["port"] == port && r["status"] == "ok")
            .unwrap_or_else(|| panic!("tcp/{port} not ok: {rows:?}"));
        let process = row["process"].as_str().unwrap_or("");
        assert!(
            ["samba", "smbd", "ldap", "kdc", "rpc"]
                .iter()
                .any(|p| process.starts_with(p)),
            "tcp/{port} owned by {process:?}"
        );
        let services: Vec<&str> = row["services"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s.as_str())
            .collect();
        if port == 135 {
            assert!(!services.is_empty(), "135 has no catalogue service");
        } else {
            assert!(services.contains(&service), "tcp/{port}: {services:?}");
        }
    }
}

// ------------------------------------------------------------------- rpc --

/// (uuid, version, protseq, endpoint) from `rpcclient -c epmlookup` lines such as
/// `00000000-... ncacn_ip_tcp:0.0.0.0[49153,abstract_syntax=50abc2a4-.../0x00000005]: dnsserver`.
fn parse_epmlookup(text: &str) -> std::collections::BTreeSet<(String, String, String, String)> {
    let mut out = std::collections::BTreeSet::new();
    for line in text.lines() {
        let Some((_, rest)) = line.split_once(' ') else {
            continue;
        };
        let Some((protseq, rest)) = rest.split_once(':') else {
            continue;
        };
        let Some((_, rest)) = rest.split_once('[') else {
            continue;
        };
        let Some((endpoint, rest)) = rest.split_once(",abstract_syntax=") else {
            continue;
        };
        let Some((syntax, _)) = rest.split_once(']') else {
            continue;
        };
        let Some((uuid, ver)) = syntax.split_once("/0x") else {
            continue;
        };
        let Ok(v) = u32::from_str_radix(ver, 16) else {
            continue;
        };
        out.insert((
            uuid.to_lowercase(),
            format!("{}.{}", v & 0xffff, v >> 16),
            protseq.to_owned(),
            endpoint.to_owned(),
        ));
    }
    out
}

#[test]
fn rpc_matches_rpcclient_on_the_samba_dc() {
    let (Some(dc), Some(smbconf)) = (
        std::env::var("PORTQ_LAB_DC").ok(),
        std::env::var("PORTQ_LAB_SMBCONF").ok(),
    ) else {
        assert!(
            std::env::var_os("PORTQ_LAB_REQUIRED").is_none(),
            "PORTQ_LAB_REQUIRED is set but the lab variables are not"
        );
        eprintln!("NOT RUN: no Samba DC lab (PORTQ_LAB_DC unset)");
        return;
    };
    let theirs = std::process::Command::new("rpcclient")
        .args([
            "-s",
            &smbconf,
            "-U%",
            &format!("ncacn_ip_tcp:{dc}[135]"),
            "-c",
            "epmlookup",
        ])
        .output()
        .expect("rpcclient");
    let expected = parse_epmlookup(&String::from_utf8_lossy(&theirs.stdout));
    assert!(
        expected.len() > 20,
        "rpcclient listed too little: {expected:?}"
    );
    let ours: std::collections::BTreeSet<_> = json(&["rpc", &dc, "--format", "json"])
        .iter()
        .map(|r| {
            (
                r["uuid"].as_str().unwrap().to_owned(),
                r["version"].as_str().unwrap().to_owned(),
                r["protseq"].as_str().unwrap().to_owned(),
                r["endpoint"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(ours, expected, "portq and rpcclient disagree");

    // --check finds the DC's dynamic ports listening; Samba also advertises RPC over
    // HTTP on 593 where nothing listens, so the run as a whole is "not as expected".
    let (code, stdout, stderr) = run(&["rpc", &dc, "--by-port", "--check", "--format", "json"]);
    assert_eq!(code, 1, "{stderr}");
    let ports: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let http = ports
        .iter()
        .find(|r| r["port"] == 593)
        .expect("593 advertised");
    assert_eq!(http["state"], "not_listening");
    for p in [49152, 49153, 49154] {
        let row = ports
            .iter()
            .find(|r| r["port"] == p)
            .unwrap_or_else(|| panic!("{p} not advertised"));
        assert_eq!(row["state"], "listening", "{row}");
    }
    let lsa = ports
        .iter()
        .find(|r| {
            r["interfaces"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i == "lsarpc")
        })
        .unwrap();
    assert!(
        lsa["services"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "Active Directory (local security authority)")
    );
}

#[test]
fn rpc_bad_input() {
    assert_usage_error(&["rpc"]);
    assert_usage_error(&["rpc", "host.invalid"]);
    assert_usage_error(&["rpc", "10.0.0.0/0", "--by-port"]);
    assert_usage_error(&["rpc", "127.0.0.1", "--port", "0"]);
    assert_usage_error(&["rpc", "127.0.0.1", "--timeout", "0"]);
}

// ----------------------------------------------------------------- check --

#[test]
fn check_the_samba_dc_as_a_domain_controller() {
    let Some(dc) = std::env::var("PORTQ_LAB_DC").ok() else {
        assert!(
            std::env::var_os("PORTQ_LAB_REQUIRED").is_none(),
            "PORTQ_LAB_REQUIRED is set but PORTQ_LAB_DC is not"
        );
        eprintln!("NOT RUN: no Samba DC lab (PORTQ_LAB_DC unset)");
        return;
    };
    let (code, stdout, stderr) = run(&[
        "check",
        &dc,
        "--role",
        "domain-controller",
        "--format",
        "json",
    ]);
    // Samba runs no NTP and no ADWS, so not everything listens.
    assert_eq!(code, 1, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let rows: Vec<Value> = doc["findings"].as_array().unwrap().clone();
    // The verdict names what is missing and what it is for, on stderr and in JSON.
    let verdict = stderr
        .lines()
        .find(|l| l.contains("required ports not listening on"))
        .unwrap_or_else(|| panic!("no verdict: {stderr}"));
    assert!(
        verdict.contains("123/udp NTP [Windows Time; domain-controller] NOT LISTENING"),
        "{verdict}"
    );
    let unmet = doc["summary"]["unmet"].as_array().unwrap();
    assert!(
        unmet.iter().any(|u| u["port"] == 123
            && u["protocol"] == "udp"
            && u["roles"][0] == "domain-controller"),
        "{unmet:?}"
    );
    assert!(unmet.iter().all(|u| u["state"] != "listening"));
    // The Kerberos realm asked for is the one the DC named over CLDAP/LDAP in this run,
    // and the evidence says so (never a placeholder presented as the KDC's answer).
    let kerberos = rows
        .iter()
        .find(|r| r["protocol"] == "udp" && r["port"] == 88)
        .unwrap();
    let detail = &kerberos["evidence_detail"][0];
    assert_eq!(detail["asked_realm"], "EXAMPLE.TEST", "{kerberos}");
    assert_eq!(detail["asked_realm_origin"], "learned", "{kerberos}");
    assert!(
        !kerberos.to_string().contains("PORTQ.INVALID"),
        "{kerberos}"
    );
    let get = |proto: &str, port: u16| {
        rows.iter()
            .find(|r| r["protocol"] == proto && r["port"] == port)
            .unwrap_or_else(|| panic!("{port}/{proto} not checked"))
    };
    for p in [53, 88, 135, 139, 389, 445, 464, 636, 3268, 3269] {
        assert_eq!(get("tcp", p)["state"], "listening", "{p}/tcp");
    }
    for p in [53, 88, 137, 389] {
        assert_eq!(get("udp", p)["state"], "listening", "{p}/udp");
    }
    assert_eq!(get("udp", 123)["state"], "not_listening");
    let evidence = |proto: &str, port: u16| {
        get(proto, port)["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("; ")
    };
    assert!(
        evidence("udp", 389).to_lowercase().contains("example.test"),
        "CLDAP: {}",
        evidence("udp", 389)
    );
    assert!(
        evidence("tcp", 389).contains("DC=example,DC=test"),
        "LDAP: {}",
        evidence("tcp", 389)
    );
    assert!(
        evidence("udp", 137).contains("DC1<00>") && evidence("udp", 137).contains("EXAMPLE<1c>"),
        "NBNS: {}",
        evidence("udp", 137)
    );
    assert!(
        evidence("tcp", 445).contains("SMB 3."),
        "SMB: {}",
        evidence("tcp", 445)
    );
    // The RPC dynamic range was not swept: the mapper's registered ports were checked.
    let dynamic: Vec<&Value> = rows
        .iter()
        .filter(|r| {
            r["service"]
                .as_str()
                .unwrap_or("")
                .starts_with("RPC dynamic")
        })
        .collect();
    assert!(dynamic.len() >= 3 && dynamic.len() < 20, "{dynamic:?}");
    assert!(dynamic.iter().all(|r| r["state"] == "listening"));
    // -q: nothing printed, exit 1 because 123/udp does not listen; 0 for ports that all listen.
    let (code, stdout, _) = run(&["check", &dc, "-q", "-p", "tcp:88,389,445"]);
    assert_eq!((code, stdout.as_str()), (0, ""));
    let (code, stdout, _) = run(&["check", &dc, "-q", "--role", "dc"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
}

#[test]
fn check_a_loopback_listener_and_a_closed_port() {
    // Ports this test bound itself: one listening, one bound then closed.
    let open = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (po, pc) = (
        open.local_addr().unwrap().port(),
        closed.local_addr().unwrap().port(),
    );
    drop(closed);
    let spec = format!("tcp:{po},{pc}");
    for format in ["json", "ndjson", "csv", "html", "table"] {
        let (code, stdout, stderr) = run(&["check", "127.0.0.1", "-p", &spec, "--format", format]);
        assert_eq!(code, 1, "{format}: {stderr}");
        assert!(!stdout.is_empty());
        if format == "json" {
            let doc: Value = serde_json::from_str(&stdout).unwrap();
            let rows: Vec<Value> = doc["findings"].as_array().unwrap().clone();
            assert_eq!(doc["summary"]["states"]["listening"], 1, "{doc}");
            assert_eq!(doc["summary"]["states"]["not_listening"], 1, "{doc}");
            let st = |p: u16| rows.iter().find(|r| r["port"] == p).unwrap()["state"].clone();
            assert_eq!(st(po), "listening");
            assert_eq!(st(pc), "not_listening");
            for field in [
                "host",
                "address",
                "port",
                "protocol",
                "state",
                "service",
                "evidence",
                "elapsed_ms",
            ] {
                assert!(rows[0].get(field).is_some(), "{field}");
            }
        }
        if format == "ndjson" {
            assert_eq!(stdout.lines().count(), 2);
        }
        if format == "html" {
            assert!(
                stdout.contains("class=\"listening\"")
                    && stdout.contains("class=\"not_listening\"")
            );
        }
    }
    let (code, _, _) = run(&["check", "127.0.0.1", "-q", "-p", &format!("tcp:{po}")]);
    assert_eq!(code, 0);
    drop(open);
}

#[test]
fn check_dry_run_prints_the_plan_and_guards_size() {
    let (code, stdout, _) = run(&["check", "192.0.2.0/30", "--role", "dc", "--dry-run"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("4 target address(es)"), "{stdout}");
    assert!(stdout.contains("RPC dynamic range 49152-65535/tcp is not swept"));
    // More than 65,536 addresses needs --yes; checked only with --dry-run, so a broken guard sends nothing.
    assert_usage_error(&["check", "10.0.0.0/8", "-p", "80", "--dry-run"]);
    let (code, stdout, _) = run(&["check", "10.0.0.0/8", "-p", "80", "--dry-run", "--yes"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("16777216 check(s)"), "{stdout}");
}

#[test]
fn check_bad_input() {
    for args in [
        &["check", "127.0.0.1", "-p", "0"][..],
        &["check", "127.0.0.1", "-p", "1-70000"],
        &["check", "127.0.0.1", "-p", "tcp:"],
        &["check", "127.0.0.1", "-p", "5-3"],
        &["check", "127.0.0.1", "-p", "abc"],
        &["check", "nonexistent.invalid", "-p", "80"],
        &["check", "127.0.0.1"],
        &["check", "", "-p", "80"],
        &["check", "0.0.0.0/0", "-p", "80", "--dry-run", "--yes"],
        &["check", "127.0.0.1", "-p", "80", "--timeout", "0"],
        &["check", "127.0.0.1", "-p", "80", "--retries", "0"],
        &["check", "127.0.0.1", "--role", "nope"],
        &["check", "127.0.0.1", "--service", "nope"],
        &["check", "127.0.0.1", "--service", "445"],
        &["check", "127.0.0.1", "-p", "80", "--format", "xml"],
        &["check", "@/nonexistent/portq/targets", "-p", "80"],
    ] {
        assert_usage_error(args);
    }
    let dir = std::env::temp_dir().join(format!("portq-targets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, "").unwrap();
    assert_usage_error(&["check", &format!("@{}", empty.display()), "-p", "80"]);
    let binary = dir.join("binary");
    std::fs::write(&binary, [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    assert_usage_error(&["check", &format!("@{}", binary.display()), "-p", "80"]);
    std::fs::remove_dir_all(&dir).ok();
}

// ------------------------------------------------------- bad input matrix --

/// Every subcommand, fed malformed input: exit 2, one line on stderr, no panic, nothing on
/// stdout. Cases that could send traffic if the code were wrong use `--dry-run`, documentation
/// addresses, or names under `.invalid`.
#[test]
fn bad_input_matrix() {
    let dir = std::env::temp_dir().join(format!("portq-matrix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, "").unwrap();
    let binary = dir.join("binary");
    std::fs::write(&binary, [0u8, 0xff, 0xfe, 0x00, 0x80, 0x81, 7]).unwrap();
    let huge = dir.join("huge");
    std::fs::write(&huge, "10.0.0.1\n".repeat(2_000_000)).unwrap(); // 18 MB
    let missing = dir.join("missing");
    let (e, b, h, m) = (
        empty.display().to_string(),
        binary.display().to_string(),
        huge.display().to_string(),
        missing.display().to_string(),
    );
    let (ae, ab, ah, am) = (
        format!("@{e}"),
        format!("@{b}"),
        format!("@{h}"),
        format!("@{m}"),
    );
    let long = "x".repeat(10_000);
    let cases: Vec<Vec<&str>> = vec![
        // global
        vec!["--bogus"],
        vec!["lookup", "--bogus"],
        // lookup
        vec!["lookup"],
        vec!["lookup", "70000"],
        vec!["lookup", "0"],
        vec!["lookup", "0-"],
        vec!["lookup", "5-3"],
        vec!["lookup", "-5"],
        vec!["lookup", "1-2-3"],
        vec!["lookup", "abc/tcp"],
        vec!["lookup", "445/sctp"],
        vec!["lookup", "445/"],
        vec!["lookup", ""],
        vec!["lookup", &long],
        vec!["lookup", "445", "--format", "yaml"],
        vec!["lookup", "--role", "domain-controler"],
        vec!["lookup", "--role", "dc:bogus"],
        vec!["lookup", "22", "--services-file", &m],
        vec!["lookup", "22", "--services-file", &b],
        vec!["lookup", "22", "--services-file", &h],
        vec!["services", "--format", "xml"],
        vec!["ports", "--format", "xml"],
        vec!["roles", "--format", "yaml"],
        // rules
        vec!["rules"],
        vec!["rules", "--role", "nope"],
        vec!["rules", "--role", ""],
        vec!["rules", "--role", "dc", "--from", "10.0.0.0/33"],
        vec!["rules", "--role", "dc", "--from", "banana"],
        vec!["rules", "--role", "dc", "--peers", "300.1.1.1"],
        vec!["rules", "--role", "dc", "--management", "::/129"],
        vec!["rules", "--role", "dc", "--rpc-range", "5100-5000"],
        vec!["rules", "--role", "dc", "--rpc-range", "5000-5010"],
        vec!["rules", "--role", "dc", "--rpc-range", "500-1000"],
        vec!["rules", "--role", "dc", "--rpc-range", "abc"],
        vec!["rules", "--role", "dc", "--static-port", "ntds"],
        vec!["rules", "--role", "dc", "--static-port", "bogus=40000"],
        vec!["rules", "--role", "dc", "--static-port", "ntds=70000"],
        vec!["rules", "--role", "dc", "--static-port", "ntds=389"],
        vec!["rules", "--role", "dc", "--static-port", "ntds=3268"],
        vec![
            "rules",
            "--role",
            "dc",
            "--static-port",
            "ntds=38901",
            "--static-port",
            "netlogon=38901",
        ],
        vec!["rules", "--role", "dc", "--format", "pf"],
        // rpc-config
        vec!["rpc-config"],
        vec!["rpc-config", "--range", "5000-5100", "--format", "netsh"],
        vec!["rpc-config", "--range", "1000-2000"],
        vec!["rpc-config", "--range", "5000-70000"],
        vec!["rpc-config", "--range", "6000-5000"],
        vec!["rpc-config", "--static-port", "frs=1"],
        vec!["rpc-config", "--range", "5000-6000", "--format", "bat"],
        // check
        vec!["check", "127.0.0.1", "-p", "0"],
        vec!["check", "127.0.0.1", "-p", "1-70000"],
        vec!["check", "127.0.0.1", "-p", "tcp:"],
        vec!["check", "127.0.0.1", "-p", "5-3"],
        vec!["check", "127.0.0.1", "-p", "abc"],
        vec!["check", "127.0.0.1", "-p", "sctp:80"],
        vec!["check", "127.0.0.1"],
        vec!["check", "", "-p", "80"],
        vec!["check", "unresolvable.invalid", "-p", "80"],
        vec!["check", "192.0.2.0/33", "-p", "80", "--dry-run"],
        vec!["check", "0.0.0.0/0", "-p", "80", "--dry-run", "--yes"],
        vec!["check", "::/0", "-p", "80", "--dry-run", "--yes"],
        vec!["check", "10.0.0.0/8", "-p", "80", "--dry-run"],
        vec!["check", "2001:db8::/64", "-p", "80", "--dry-run"],
        vec!["check", "192.0.2.9-1", "-p", "80", "--dry-run"],
        vec!["check", "192.0.2.1-300", "-p", "80", "--dry-run"],
        vec!["check", &ae, "-p", "80"],
        vec!["check", &ab, "-p", "80"],
        vec!["check", &ah, "-p", "80", "--dry-run"],
        vec!["check", &am, "-p", "80"],
        vec!["check", "127.0.0.1", "-p", "80", "--timeout", "0"],
        vec!["check", "127.0.0.1", "-p", "80", "--timeout", "abc"],
        vec!["check", "127.0.0.1", "-p", "80", "--retries", "0"],
        vec!["check", "127.0.0.1", "-p", "80", "--concurrency", "0"],
        vec!["check", "127.0.0.1", "--role", "nope"],
        vec!["check", "127.0.0.1", "--service", "nope"],
        vec!["check", "127.0.0.1", "--service", "445"],
        vec!["check", "127.0.0.1", "-p", "80", "--format", "xml"],
        vec!["check", "127.0.0.1", "-p", "80", "--probe-as", "80"],
        vec!["check", "127.0.0.1", "-p", "80", "--probe-as", "80=gopher"],
        vec!["check", "127.0.0.1", "-p", "80", "--probe-as", "0=ldap"],
        // rpc
        vec!["rpc"],
        vec!["rpc", "unresolvable.invalid"],
        vec!["rpc", "10.0.0.0/0"],
        vec!["rpc", "127.0.0.1", "--port", "0"],
        vec!["rpc", "127.0.0.1", "--port", "70000"],
        vec!["rpc", "127.0.0.1", "--timeout", "0"],
        vec!["rpc", "127.0.0.1", "--format", "xml"],
        vec!["rpc", &ae],
        // local
        vec!["local", "--expect", "nope"],
        vec!["local", "--format", "xml"],
        vec!["local", "--watch", "--interval", "0"],
        vec!["local", "--interval", "2"],
        // serve
        vec!["serve", "--listen", "banana"],
        vec!["serve", "--listen", "127.0.0.1:99999"],
        vec!["serve", "--allow-checks"],
        vec!["serve", "--allow-checks", "--allow-target", "0.0.0.0/0"],
        vec!["serve", "--allow-checks", "--allow-target", "banana"],
    ];
    assert!(
        cases.len() >= 50,
        "the matrix should cover at least 50 cases"
    );
    let mut failures = Vec::new();
    for args in &cases {
        let (code, stdout, stderr) = run(args);
        let one_line = stderr.lines().count() == 1;
        let clean =
            !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE") && stdout.is_empty();
        if code != 2 || !one_line || !clean {
            failures.push(format!(
                "{args:?}: exit {code}, stderr {stderr:?}, stdout {} bytes",
                stdout.len()
            ));
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        failures.is_empty(),
        "{} of {} cases broke the contract:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

// --------------------------------------------------------------- phrases --

/// Administrators' phrases (tests/fixtures/phrases*.csv: `phrase,port,transport`), each
/// answered with that port in the first three rows of `portq lookup PHRASE --format json`;
/// together they must cover every service and every role of the catalogue.
mod phrases {
    use super::{Value, json, run};
    use std::collections::BTreeSet;

    struct Phrase {
        file: String,
        phrase: String,
        port: Option<u64>,
        transport: String,
    }

    fn load() -> Vec<Phrase> {
        let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("fixtures")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("phrases") && n.ends_with(".csv"))
            .collect();
        files.sort();
        assert!(files.contains(&"phrases.csv".to_owned()), "{files:?}");
        let mut out = Vec::new();
        for f in files {
            let mut rdr = csv::Reader::from_path(format!("{dir}/{f}")).expect("phrases file");
            assert_eq!(
                rdr.headers().expect("header").iter().collect::<Vec<_>>(),
                ["phrase", "port", "transport"],
                "{f}: columns must be phrase,port,transport"
            );
            for rec in rdr.records() {
                let rec = rec.expect("row");
                out.push(Phrase {
                    file: f.clone(),
                    phrase: rec[0].to_owned(),
                    port: (!rec[1].is_empty()).then(|| rec[1].parse().expect("port number")),
                    transport: rec[2].to_lowercase(),
                });
            }
        }
        out
    }

    fn answers(row: &Value, p: &Phrase) -> bool {
        row["port_start"].as_u64() == p.port && row["protocol"] == p.transport.as_str()
    }

    #[test]
    fn administrators_phrases_find_the_right_port_in_the_first_three_rows() {
        let phrases = load();
        assert!(
            phrases.len() >= 60,
            "only {} phrases; at least 60",
            phrases.len()
        );
        let mut missed = Vec::new();
        let mut services_answered = BTreeSet::new();
        let mut answered_ports = Vec::new();
        for p in &phrases {
            let (_, stdout, stderr) = run(&["lookup", &p.phrase, "--format", "json"]);
            let rows: Vec<Value> = serde_json::from_str(&stdout).unwrap_or_default();
            let top: Vec<&Value> = rows.iter().take(3).collect();
            let right: Vec<&&Value> = top.iter().filter(|r| answers(r, p)).collect();
            match right.is_empty() {
                false => {
                    services_answered.extend(
                        right
                            .iter()
                            .filter_map(|r| r["service_id"].as_str().map(str::to_owned)),
                    );
                    answered_ports.push((p.port, p.transport.clone()));
                }
                true => missed.push(format!(
                    "{}: '{}' wants {:?}/{}, first rows: {:?} {}",
                    p.file,
                    p.phrase,
                    p.port,
                    p.transport,
                    top.iter()
                        .map(|r| format!(
                            "{}/{} {}",
                            r["port_start"], r["protocol"], r["service_id"]
                        ))
                        .collect::<Vec<_>>(),
                    stderr.trim()
                )),
            }
        }
        eprintln!(
            "phrases: {} of {} answered with the right port in the first 3 rows",
            phrases.len() - missed.len(),
            phrases.len()
        );
        assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));

        // Every service of the catalogue is the answer to at least one phrase.
        let all: BTreeSet<String> = json(&["services", "--format", "json"])
            .iter()
            .filter_map(|s| s["id"].as_str().map(str::to_owned))
            .collect();
        let uncovered: Vec<_> = all.difference(&services_answered).collect();
        assert!(
            uncovered.is_empty(),
            "services no phrase answers: {uncovered:?}"
        );

        // Every role needs the answer of at least one phrase.
        let roles: Vec<String> = json(&["roles", "--format", "json"])
            .iter()
            .filter_map(|r| r["id"].as_str().map(str::to_owned))
            .collect();
        assert!(roles.len() >= 21);
        for role in roles {
            let needs = json(&["lookup", "--role", &role, "--format", "json"]);
            assert!(
                needs
                    .iter()
                    .any(|n| answered_ports
                        .iter()
                        .any(|(port, t)| n["port_start"].as_u64() == *port
                            && n["port_end"].as_u64() == *port
                            && n["protocol"] == t.as_str())),
                "no phrase answers a port of role {role}"
            );
        }
    }
}

// -------------------------------------------------------- README examples --

/// Every command of the README's ```sh blocks that needs no network runs through the built
/// binary: exit 0 (or 1 where the README documents it) and no error line on stderr.
mod readme_examples {
    use super::run;

    /// Commands the test does not run, and why. Each must still be in the README.
    const SKIPPED: &[(&str, &str)] = &[
        ("scripts/test.sh", "the test suite itself"),
        (
            "nft -c -f portq.nft && nft -f portq.nft",
            "loads a firewall (root)",
        ),
        (
            "portq check dc01 --role domain-controller",
            "needs a host dc01",
        ),
        (
            "portq check dc01 dc02 --service kdc --service netlogon",
            "needs hosts",
        ),
        (
            "portq check 10.0.0.0/24 -p tcp:1-1024,udp:53,137",
            "sends traffic",
        ),
        ("portq check dc01 -p all --probe", "sends traffic"),
        (
            "portq check dc01 --role dc -q && echo ok",
            "needs a host dc01",
        ),
        (
            "portq check dc01 --role dc --format html > dc01.html",
            "needs a host dc01",
        ),
        ("portq rpc dc01", "needs a host dc01"),
        ("portq rpc dc01 --by-port", "needs a host dc01"),
        ("portq rpc dc01 --by-port --check", "needs a host dc01"),
        ("portq rpc 10.0.0.0/28 --format json", "sends traffic"),
        ("portq local --watch --interval 2", "runs until stopped"),
        ("portq serve", "runs a server until stopped"),
        (
            "portq serve --listen 127.0.0.1:9000",
            "runs a server until stopped",
        ),
        (
            "portq serve --allow-checks --allow-target 10.0.0.0/24",
            "runs a server",
        ),
        (
            "portq serve --listen 0.0.0.0:8445 --allow-host console.example.net",
            "runs a server",
        ),
    ];

    /// Commands the README documents as exiting 1 in an ordinary run.
    const EXIT_1: &[&str] = &["portq local --expect dc --expect dns-server"];

    /// The commands of the README's ```sh blocks, comments and blank lines dropped.
    fn commands(readme: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut in_sh = false;
        for line in readme.lines() {
            let t = line.trim();
            if t.starts_with("```") {
                in_sh = !in_sh && t == "```sh";
                continue;
            }
            if !in_sh {
                continue;
            }
            let cmd = strip_comment(t).trim().to_owned();
            if !cmd.is_empty() {
                out.push(cmd);
            }
        }
        out
    }

    /// The line without a trailing `# comment` (a `#` outside quotes after white space).
    fn strip_comment(line: &str) -> &str {
        let mut quote = None;
        let mut prev = ' ';
        for (i, c) in line.char_indices() {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '#') if prev.is_whitespace() => return &line[..i],
                _ => {}
            }
            prev = c;
        }
        line
    }

    /// Splits a command into words, honouring single and double quotes.
    fn words(cmd: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quote = None;
        let mut has = false;
        for c in cmd.chars() {
            match (quote, c) {
                (None, '"' | '\'') => {
                    quote = Some(c);
                    has = true;
                }
                (Some(q), c) if c == q => quote = None,
                (None, c) if c.is_whitespace() => {
                    if has {
                        out.push(std::mem::take(&mut cur));
                        has = false;
                    }
                }
                _ => {
                    cur.push(c);
                    has = true;
                }
            }
        }
        if has {
            out.push(cur);
        }
        out
    }

    /// The arguments to give the binary, or `None` for a command that is not portq's.
    fn portq_args(cmd: &str) -> Option<Vec<String>> {
        let mut w = words(cmd);
        // `> file`: the output is only checked, not kept.
        if let Some(i) = w.iter().position(|x| x == ">") {
            w.truncate(i);
        }
        match w.first().map(String::as_str) {
            Some("portq") => Some(w[1..].to_vec()),
            Some("cargo") => w
                .iter()
                .position(|x| x == "--")
                .map(|i| w[i + 1..].to_vec()),
            _ => None,
        }
    }

    fn is_error_line(line: &str) -> bool {
        let l = line.to_lowercase();
        [
            "error",
            "invalid",
            "unknown",
            "panicked",
            "not provided",
            "is required",
        ]
        .iter()
        .any(|e| l.contains(e))
    }

    #[test]
    fn every_readme_example_without_network_runs() {
        let readme =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
                .expect("README.md");
        let cmds = commands(&readme);
        for (skip, why) in SKIPPED {
            assert!(
                cmds.iter().any(|c| c == skip),
                "SKIPPED lists '{skip}' ({why}), which the README no longer has"
            );
        }
        let mut ran = 0;
        let mut failures = Vec::new();
        for cmd in &cmds {
            if SKIPPED.iter().any(|(s, _)| s == cmd) {
                continue;
            }
            let Some(args) = portq_args(cmd) else {
                failures.push(format!(
                    "'{cmd}': not a portq command; run it or list it in SKIPPED"
                ));
                continue;
            };
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, stdout, stderr) = run(&args);
            ran += 1;
            let allowed = code == 0 || (code == 1 && EXIT_1.contains(&cmd.as_str()));
            let errors: Vec<&str> = stderr.lines().filter(|l| is_error_line(l)).collect();
            if !allowed
                || !errors.is_empty()
                || stdout.trim().is_empty() && code == 0 && !cmd.contains(" -q")
            {
                failures.push(format!("'{cmd}': exit {code}, stderr: {}", stderr.trim()));
            }
        }
        eprintln!(
            "README examples: ran {ran}, skipped {} (need network, hosts or run forever)",
            SKIPPED.len()
        );
        assert!(ran >= 20, "only {ran} README examples ran");
        assert!(
            failures.is_empty(),
            "README examples failed:\n{}",
            failures.join("\n")
        );
    }

    #[test]
    fn the_example_extractor_reads_quotes_comments_and_redirects() {
        assert_eq!(
            portq_args(strip_comment(r#"portq lookup "global catalog" # words"#).trim()),
            Some(vec!["lookup".to_owned(), "global catalog".to_owned()])
        );
        assert_eq!(
            portq_args("portq rules --role dc > portq.nft"),
            Some(vec![
                "rules".to_owned(),
                "--role".to_owned(),
                "dc".to_owned()
            ])
        );
        assert_eq!(portq_args("nft -f x"), None);
        assert_eq!(
            portq_args("cargo run --release -- lookup 445"),
            Some(vec!["lookup".to_owned(), "445".to_owned()])
        );
        assert!(is_error_line("portq: invalid port '70000'"));
        assert!(!is_error_line(
            "portq: 5 wide port range(s) also contain 3389"
        ));
    }
}

// ------------------------------------------------- lookup ranking and CLI --

/// Issue 12's cases, each pinned as "expected in the first 3 answers".
mod answers_an_administrator_can_act_on {
    use super::{Value, assert_usage_error, json, run};

    fn first3(args: &[&str]) -> Vec<Value> {
        let mut a = args.to_vec();
        a.extend(["--format", "json"]);
        let (_, stdout, stderr) = run(&a);
        let rows: Vec<Value> = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout} {stderr}"));
        rows.into_iter().take(3).collect()
    }

    fn has(rows: &[Value], port: u64, proto: &str, service_id: Option<&str>) -> bool {
        rows.iter().any(|r| {
            r["port_start"] == port
                && r["protocol"] == proto
                && service_id.is_none_or(|s| r["service_id"] == s)
        })
    }

    #[test]
    fn a_port_without_an_entry_answers_iana_first_and_ranges_as_context() {
        let (code, stdout, _) = run(&["lookup", "5432", "--format", "json"]);
        assert_eq!(code, 0);
        let rows: Vec<Value> = serde_json::from_str(&stdout).unwrap();
        assert_eq!(rows[0]["source"], "iana");
        assert_eq!(rows[0]["port_start"], 5432);
        assert_eq!(rows[0]["in_range"], false);
        let first_range = rows.iter().position(|r| r["in_range"] == true).unwrap();
        assert!(
            rows[first_range..]
                .iter()
                .all(|r| r["in_range"] == true && r["source"] == "catalog")
        );
        assert!(rows[..first_range].iter().all(|r| r["port_start"] == 5432));
        let (_, table, _) = run(&["lookup", "5432"]);
        assert!(table.contains("in range"), "{table}");
        // A port with entries of its own keeps them first and alone.
        let own = json(&["lookup", "445", "--format", "json"]);
        assert!(
            own.iter()
                .all(|r| r["port_start"] == 445 && r["in_range"] == false)
        );
    }

    #[test]
    fn words_are_ranked_best_first() {
        assert!(has(
            &first3(&["lookup", "adws"]),
            9389,
            "tcp",
            Some("lsass")
        ));
        assert!(has(
            &first3(&["lookup", "ad web services"]),
            9389,
            "tcp",
            Some("lsass")
        ));
        assert!(has(
            &first3(&["lookup", "ldaps"]),
            636,
            "tcp",
            Some("lsass")
        ));
        assert!(has(
            &first3(&["lookup", "global catalog ssl"]),
            3269,
            "tcp",
            None
        ));
        assert!(has(
            &first3(&["lookup", "kerberos password change"]),
            464,
            "tcp",
            Some("kdc")
        ));
        assert!(has(
            &first3(&["lookup", "dns zone transfer"]),
            53,
            "tcp",
            Some("dns")
        ));
        // "adws" no longer lists every LSASS row; the rest wait behind --all.
        let (_, stdout, stderr) = run(&["lookup", "adws", "--format", "json"]);
        let shown: Vec<Value> = serde_json::from_str(&stdout).unwrap();
        assert!(shown.len() < 16, "{} rows", shown.len());
        assert!(
            stderr.contains("more") && stderr.contains("--all"),
            "{stderr}"
        );
        let all = json(&["lookup", "adws", "--all", "--format", "json"]);
        assert!(all.len() > shown.len());
    }

    #[test]
    fn role_unions_list_each_port_and_transport_once() {
        let rows = json(&[
            "lookup",
            "--role",
            "dc",
            "--role",
            "dns-server",
            "--format",
            "json",
        ]);
        let mut seen = std::collections::BTreeSet::new();
        for r in &rows {
            let key = (
                r["port_start"].to_string(),
                r["port_end"].to_string(),
                r["protocol"].to_string(),
            );
            assert!(seen.insert(key.clone()), "{key:?} twice");
        }
        let ldap_udp = rows
            .iter()
            .find(|r| r["port_start"] == 389 && r["protocol"] == "udp")
            .unwrap();
        let ids = ldap_udp["service_ids"].as_array().unwrap();
        assert!(ids.len() >= 2, "{ldap_udp}");
        let dns = rows
            .iter()
            .find(|r| r["port_start"] == 53 && r["protocol"] == "udp")
            .unwrap();
        assert_eq!(
            dns["roles"],
            serde_json::json!(["domain-controller", "dns-server"])
        );
    }

    #[test]
    fn nothing_found_prints_no_table_header() {
        let (code, stdout, stderr) = run(&["lookup", "zzzzqqqq"]);
        assert_eq!(code, 1);
        assert!(stdout.is_empty(), "{stdout}");
        assert!(stderr.contains("nothing known"));
        let (_, stdout, _) = run(&["lookup", "zzzzqqqq", "--format", "json"]);
        assert_eq!(stdout.trim(), "[]");
    }

    #[test]
    fn subcommand_typos_and_known_words() {
        let line = assert_usage_error(&["chek", "dc1"]);
        assert!(line.contains("did you mean `check`?"), "{line}");
        let (code, stdout, _) = run(&["version"]);
        assert_eq!(code, 0);
        assert!(stdout.starts_with("portq "), "{stdout}");
        for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
            let (code, stdout, stderr) = run(&["completions", shell]);
            assert_eq!(code, 0, "{shell}: {stderr}");
            assert!(
                stdout.contains("lookup") && stdout.contains("rpc-config"),
                "{shell}"
            );
        }
        let (code, man, _) = run(&["man"]);
        assert_eq!(code, 0);
        assert!(man.contains(".TH portq 1"), "{man}");
        assert!(assert_usage_error(&["completions", "tcsh"]).contains("possible values"));
    }

    #[test]
    fn clap_errors_name_the_argument_and_the_valid_values() {
        let line = assert_usage_error(&["check"]);
        assert!(line.contains("<TARGET>"), "{line}");
        let line = assert_usage_error(&["rules", "--role", "dc", "--format", "pwsh"]);
        assert!(
            line.contains("powershell") && line.contains("nftables"),
            "{line}"
        );
    }

    #[test]
    fn services_file_without_a_value_reads_the_machines_file() {
        let (code, _, stderr) = run(&["lookup", "40001", "--services-file"]);
        assert_eq!(code, 0, "{stderr}");
        assert!(!stderr.contains("value is required"), "{stderr}");
    }

    #[test]
    fn portqry_muscle_memory_gets_the_portq_command() {
        let line = assert_usage_error(&["check", "-n", "dc1", "-e", "389", "-p", "both"]);
        assert!(
            line.contains("portq check dc1 -p tcp:389,udp:389"),
            "{line}"
        );
        let line = assert_usage_error(&["-n", "dc1", "-r", "1:1024"]);
        assert!(line.contains("portq check dc1 -p tcp:1-1024"), "{line}");
    }

    #[test]
    fn piped_tables_fit_100_columns_or_columns_and_wide_does_not() {
        let widest = |out: &str| out.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        let (_, piped, _) = run(&["ports"]);
        // 100 columns, a little more only where the longest words of the columns need it.
        assert!(
            widest(&piped) <= 110,
            "piped table {} columns",
            widest(&piped)
        );
        let out = super::portq()
            .env("COLUMNS", "80")
            .args(["lookup", "--role", "rd-licensing"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        // Wider than 80 only as far as whole words need.
        assert!(widest(&text) <= 100, "{text}");
        // Words are wrapped whole: a long short name is never cut.
        assert!(text.contains("TermServLicensing"), "{text}");
        let (_, wide, _) = run(&["--wide", "ports"]);
        assert!(widest(&wide) > 100);
        assert!(
            !piped.contains('\u{1b}') && !wide.contains('\u{1b}'),
            "colour on a pipe"
        );
    }
}
