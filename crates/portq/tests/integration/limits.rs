//! Limits, end to end through the `portq` binary, against hosts in network namespaces
//! these tests create (never loopback ranges):
//! - with the open-file limit at 256, a full 65,535-port sweep finds exactly the ports
//!   that listen;
//! - a check of 1,000 addresses of one namespace host gives the same results at any
//!   `--concurrency`.
//!
//! They need root (namespaces). Without it they print that they did not run, and fail
//! when `PORTQ_NETNS_REQUIRED=1` says they must run.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

pub(crate) fn root_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn can_run(test: &str) -> bool {
    let root = crate::netns::is_root();
    if !root {
        assert!(
            std::env::var_os("PORTQ_NETNS_REQUIRED").is_none(),
            "{test}: PORTQ_NETNS_REQUIRED is set but this is not root"
        );
        eprintln!("NOT RUN: {test} needs root to make a network namespace");
    }
    root
}

fn listening(json: &str) -> BTreeSet<(String, u16)> {
    let doc: Value = serde_json::from_str(json).expect("json");
    let rows = doc["findings"].as_array().expect("findings");
    rows.iter()
        .filter(|r| r["state"] == "listening")
        .map(|r| {
            (
                r["address"].as_str().unwrap().to_owned(),
                r["port"].as_u64().unwrap() as u16,
            )
        })
        .collect()
}

/// Stops the namespace host when the test ends, whatever happens.
pub(crate) struct Down(
    pub Vec<(String, String)>,
    pub &'static str,
    pub &'static str,
);

impl Drop for Down {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(root_dir().join(self.1))
            .arg(self.2)
            .envs(self.0.clone())
            .status();
    }
}

#[test]
fn full_sweep_with_256_open_files_finds_exactly_the_listeners() {
    if !can_run("full_sweep_with_256_open_files") {
        return;
    }
    let env: Vec<(String, String)> = [
        ("BENCH_NS", "portqlim"),
        ("BENCH_HOST_IF", "veth-pql-h"),
        ("BENCH_NS_IF", "veth-pql"),
        ("BENCH_HOST_IP", "10.206.0.1"),
        ("BENCH_IP", "10.206.0.2"),
        ("BENCH_COUNT", "300"),
        ("BENCH_SEED", "7"),
        ("BENCH_LIFETIME", "600"),
        ("BENCH_STATE", "/tmp/portqlimits"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    let up = Command::new("bash")
        .arg(root_dir().join("tests/lab/bench-host-up.sh"))
        .envs(env.clone())
        .status()
        .unwrap();
    let _down = Down(env, "tests/lab/bench-host-down.sh", "");
    assert!(up.success(), "bench-host-up.sh failed");
    let expected: BTreeSet<(String, u16)> = std::fs::read_to_string("/tmp/portqlimits/ports.txt")
        .unwrap()
        .lines()
        .map(|l| ("10.206.0.2".to_owned(), l.trim().parse().unwrap()))
        .collect();
    assert_eq!(expected.len(), 300);
    let bin = assert_cmd::cargo::cargo_bin("portq");
    for run in 0..2 {
        let out = Command::new("bash")
            .arg("-c")
            .arg("ulimit -n 256 && exec \"$0\" check 10.206.0.2 -p 1-65535 --format json")
            .arg(&bin)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "run {run}: {stderr}");
        assert!(
            !stderr.to_lowercase().contains("too many open files"),
            "{stderr}"
        );
        assert_eq!(
            listening(&String::from_utf8_lossy(&out.stdout)),
            expected,
            "run {run}"
        );
    }
}

#[test]
fn a_thousand_addresses_give_the_same_results_at_any_concurrency() {
    if !can_run("a_thousand_addresses") {
        return;
    }
    let script = root_dir().join("tests/lab/many-host.sh");
    let up = Command::new("bash")
        .arg(&script)
        .arg("up")
        .status()
        .unwrap();
    let _down = Down(Vec::new(), "tests/lab/many-host.sh", "down");
    assert!(up.success(), "many-host.sh up failed");
    let bin = assert_cmd::cargo::cargo_bin("portq");
    let mut results = Vec::new();
    for concurrency in ["1", "7", "64", ""] {
        let mut cmd = Command::new(&bin);
        cmd.args([
            "check",
            "10.207.0.0-10.207.3.231",
            "-p",
            "tcp:7001,7002",
            "--all",
            "--format",
            "json",
        ]);
        if !concurrency.is_empty() {
            cmd.args(["--concurrency", concurrency]);
        }
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let rows = doc["findings"].as_array().unwrap();
        assert_eq!(rows.len(), 2000, "concurrency {concurrency:?}");
        let states: BTreeSet<(String, u64, String)> = rows
            .iter()
            .map(|r| {
                (
                    r["address"].as_str().unwrap().to_owned(),
                    r["port"].as_u64().unwrap(),
                    r["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            states
                .iter()
                .filter(|s| s.1 == 7001 && s.2 == "listening")
                .count(),
            1000
        );
        assert_eq!(
            states
                .iter()
                .filter(|s| s.1 == 7002 && s.2 == "not_listening")
                .count(),
            1000
        );
        results.push(states);
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]));
}
