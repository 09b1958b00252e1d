//! The Samba DC lab lock, shared by the test binaries that use the lab DC (include it
//! with `#[path = ".../tests/lab/lab_lock.rs"] mod lab_lock;`).
//!
//! Tests that only talk to the DC take it SHARED, so they run together. A test that
//! changes what the DC answers (loads firewall rules into its namespace) takes it
//! EXCLUSIVE, so it never runs while another test expects the DC to answer normally.
//! The lock is an flock on `/tmp/portq-dc-lab.lock`, released when the guard is dropped
//! (or the process dies), so a failed assertion cannot leave it held.

#![allow(dead_code)]

use std::fs::{File, OpenOptions};

/// The lock file every DC-lab test agrees on.
pub const PATH: &str = "/tmp/portq-dc-lab.lock";

/// A held lab lock; dropping it releases the lock.
#[derive(Debug)]
pub struct LabLock {
    _file: File,
}

fn open() -> File {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(PATH)
        .unwrap_or_else(|e| panic!("cannot open the lab lock {PATH}: {e}"))
}

/// For tests that use the DC as it is: many may hold it at once. Blocks while a test
/// holds it exclusively.
pub fn shared() -> LabLock {
    let file = open();
    file.lock_shared()
        .unwrap_or_else(|e| panic!("cannot take the lab lock {PATH} (shared): {e}"));
    LabLock { _file: file }
}

/// For tests that change what the DC answers: waits until no other test uses the lab.
pub fn exclusive() -> LabLock {
    let file = open();
    file.lock()
        .unwrap_or_else(|e| panic!("cannot take the lab lock {PATH} (exclusive): {e}"));
    LabLock { _file: file }
}
