//! `trace::wire::parse` on arbitrary datagrams, as a raw socket hands them over: never
//! panics (a quoted header that claims more bytes than it carries is refused, not
//! sliced), and whatever it reads comes from inside the bytes given: a time-exceeded
//! or unreachable carries a whole quote, a segment its ports.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_probe::trace::wire::{Reply, parse};

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        None => {}
        Some(Reply::Icmp { .. }) => {
            // Outer header (20+) + ICMP header (8) + quoted header (20+) + 8 bytes.
            assert!(data.len() >= 56, "a quote read from {} bytes", data.len());
        }
        Some(Reply::Tcp { .. }) => assert!(data.len() >= 34),
        Some(Reply::Udp { .. }) => assert!(data.len() >= 24),
    }
});
