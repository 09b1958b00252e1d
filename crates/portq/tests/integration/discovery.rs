//! `portq check --domain D` with no target: the domain controllers found in DNS (the DC
//! locator's SRV records), through the binary. Bad input and the dry run are offline;
//! the discovery itself runs against the Samba DC lab's own DNS (PORTQ_LAB_DC).

use serde_json::Value;

use crate::cli::{assert_usage_error, lab_dc, run};

#[test]
fn discovery_bad_input_is_one_line_and_exit_2() {
    let e = assert_usage_error(&["check", "--domain", "example.test", "--dns-server", "dc1"]);
    assert!(e.contains("invalid DNS server \"dc1\""), "{e}");
    assert_usage_error(&[
        "check",
        "--domain",
        "example.test",
        "--dns-server",
        "10.0.0.1:0",
    ]);
    assert_usage_error(&[
        "check",
        "--domain",
        "example.test",
        "--dns-server",
        "10.0.0.300",
    ]);
    // --site and --dns-server need --domain, and only apply without targets.
    let e = assert_usage_error(&["check", "--dns-server", "10.200.0.2", "--role", "dc"]);
    assert!(e.contains("--domain"), "{e}");
    let e = assert_usage_error(&[
        "check",
        "192.0.2.1",
        "--domain",
        "example.test",
        "--site",
        "S",
        "--role",
        "dc",
    ]);
    assert!(e.contains("no TARGET"), "{e}");
    assert_usage_error(&["check", "--domain", "example.test", "--site", "a.b"]);
    assert_usage_error(&["check", "--domain", "10.0.0.1", "--role", "dc"]);
    assert_usage_error(&["check", "--domain", "nodots", "--role", "dc"]);
    // Without --domain a target is still required.
    let e = assert_usage_error(&["check", "--role", "dc"]);
    assert!(e.contains("<TARGET>"), "{e}");
}

#[test]
fn discovery_dry_run_names_the_records_and_sends_nothing() {
    let (code, stdout, stderr) = run(&[
        "check",
        "--domain",
        "Example.Test",
        "--site",
        "Branch",
        "--role",
        "dc",
        "--dry-run",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let v: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(v["discovery"]["domain"], "example.test");
    let names: Vec<&str> = v["discovery"]["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "_ldap._tcp.Branch._sites.dc._msdcs.example.test",
            "_kerberos._tcp.Branch._sites.example.test",
            "_ldap._tcp.dc._msdcs.example.test",
            "_kerberos._tcp.example.test",
            "_gc._tcp.example.test",
        ]
    );
    assert_eq!(v["checks"], 0);
    // With a target, --domain is only the realm hint: nothing is discovered.
    let (code, stdout, _) = run(&[
        "check",
        "192.0.2.1",
        "--domain",
        "example.test",
        "--role",
        "dc",
        "--dry-run",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&stdout).expect("json");
    assert!(v["discovery"].is_null(), "{v}");
    assert!(v["checks"].as_u64().unwrap_or(0) > 0);
}

/// `portq check --domain example.test --dns-server DNS ARGS...`.
fn discover_through(dns: &str, args: &[&str]) -> (i32, String, String) {
    let mut all = vec![
        "--wide",
        "check",
        "--domain",
        "example.test",
        "--dns-server",
        dns,
    ];
    all.extend_from_slice(args);
    run(&all)
}

/// The lab's Samba DC serves its own zone: `--domain example.test --dns-server DC`
/// finds dc1 through it and checks it as a domain controller.
#[test]
fn discovery_finds_the_samba_dc_through_its_own_dns_and_checks_it() {
    let _lab = crate::lab_lock::shared();
    let Some(dc) = lab_dc() else {
        return;
    };
    let (code, stdout, stderr) = discover_through(&dc, &["--role", "dc", "--format", "json"]);
    // Samba runs no NTP and no ADWS, so not everything listens (exit 1, not 2 or 3).
    assert_eq!(code, 1, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    let d = &doc["discovery"];
    assert_eq!(d["domain"], "example.test");
    assert_eq!(d["dns_server"], format!("{dc}:53"));
    for r in d["records"].as_array().expect("records") {
        assert_eq!(r["state"], "present", "{r}");
        assert_eq!(r["targets"][0]["host"], "dc1.example.test", "{r}");
    }
    let controllers = d["controllers"].as_array().expect("controllers");
    assert_eq!(controllers.len(), 1, "{controllers:?}");
    assert_eq!(controllers[0]["host"], "dc1.example.test");
    assert_eq!(controllers[0]["addresses"][0], dc.as_str());
    // Every record's target answers on the port it advertises.
    let checks = d["checks"].as_array().expect("checks");
    assert_eq!(checks.len(), 3, "{checks:?}");
    for c in checks {
        assert_eq!(c["verdict"], "answers", "{c}");
        assert_eq!(c["states"][0]["state"], "listening", "{c}");
    }
    // The controller found is checked as a DC, under its DNS name.
    let findings = doc["findings"].as_array().expect("findings");
    for (port, proto) in [(88, "tcp"), (389, "tcp"), (445, "tcp"), (88, "udp")] {
        let f = findings
            .iter()
            .find(|f| f["port"] == port && f["protocol"] == proto)
            .unwrap_or_else(|| panic!("{port}/{proto} checked"));
        assert_eq!(f["host"], "dc1.example.test", "{f}");
        assert_eq!(f["address"], dc.as_str(), "{f}");
        assert_eq!(f["state"], "listening", "{f}");
    }
    assert!(
        stderr.contains(
            "DNS example.test: 3 of 3 DC locator records present; 1 domain controller found: dc1.example.test"
        ),
        "{stderr}"
    );

    // The table shows the records, their targets, priorities and weights first.
    let (_, table, _) = discover_through(&dc, &["-p", "tcp:389"]);
    let ldap = table
        .lines()
        .find(|l| l.contains("_ldap._tcp.dc._msdcs.example.test"))
        .unwrap_or_else(|| panic!("{table}"));
    let cells: Vec<&str> = ldap.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            "_ldap._tcp.dc._msdcs.example.test",
            "present",
            "dc1.example.test",
            "389",
            "0",
            "100",
            "-",
            dc.as_str(),
            "answers"
        ]
    );

    // A site the domain does not have: its records are missing (exit 1), and the
    // domain's controllers are still checked, as the DC locator falls back.
    let (code, stdout, stderr) = discover_through(
        &dc,
        &["--site", "NoSuchSite", "-p", "tcp:389", "--format", "json"],
    );
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "DNS _ldap._tcp.NoSuchSite._sites.dc._msdcs.example.test: missing (NXDOMAIN)"
        ),
        "{stderr}"
    );
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(doc["findings"][0]["host"], "dc1.example.test");
    assert_eq!(doc["findings"][0]["state"], "listening");
}
