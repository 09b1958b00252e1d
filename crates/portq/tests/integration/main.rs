//! The portq binary's integration tests, one test binary: the CLI (lookup, rules,
//! check, rpc, local, help snapshots, the bad-input matrix, interop with the Samba DC
//! lab), hostile peers, resource limits and scale in network namespaces, the firewall
//! verdict of `local`, and the web console.

#[path = "../../../../tests/lab/lab_lock.rs"]
mod lab_lock;

// Namespaces: Linux only.
#[cfg(unix)]
mod agreement;
mod check_rd_gateway;
mod cli;
mod discovery;
#[cfg(unix)]
mod estate;
mod exporter;
mod hostile;
// Network namespaces, setrlimit, /proc, signals and GNU time: Linux only.
#[cfg(unix)]
mod limits;
mod local_firewall;
mod netns;
#[cfg(unix)]
mod scale;
mod serve;
mod tables;
#[cfg(unix)]
mod timing;
mod trace;
// Namespaces and nft: Linux only.
#[cfg(unix)]
mod unreachable;

/// True when running under Wine (scripts/windows-test.sh sets `PORTQ_WINE=1`).
pub(crate) fn wine() -> bool {
    cfg!(windows) && std::env::var("PORTQ_WINE").as_deref() == Ok("1")
}

/// True under Wine: prints why `test` does not run there. Each caller says what Wine
/// does not emulate.
pub(crate) fn under_wine(test: &str, why: &str) -> bool {
    let wine = wine();
    if wine {
        eprintln!("NOT RUN under Wine: {test}: {why}");
    }
    wine
}

/// Runs `cmd`, a `portq check …`, with `--format json`: its findings. Panics with the
/// output when it is not the check's JSON.
pub(crate) fn check_findings(mut cmd: std::process::Command) -> Vec<serde_json::Value> {
    let out = cmd.args(["--format", "json"]).output().expect("run portq");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{cmd:?}: {e}: {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    match doc["findings"].as_array() {
        Some(rows) => rows.clone(),
        None => panic!("{cmd:?}: no findings: {doc}"),
    }
}
