//! Arbitrary bytes fed to the `Reassembler` in arbitrary chunks: never panics, and
//! after every successful push at most one partial fragment stays buffered.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::dcerpc::{MAX_FRAG_LENGTH, Reassembler};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk sizes; the rest is the stream.
    let Some((&seed, stream)) = data.split_first() else {
        return;
    };
    let mut r = Reassembler::new();
    let mut rest = stream;
    let mut step = usize::from(seed % 31) + 1;
    while !rest.is_empty() {
        let n = step.min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        if r.push(chunk).is_err() {
            // Poisoned: every later push must fail too.
            assert!(r.push(&[]).is_err());
            return;
        }
        assert!(r.buffered() < MAX_FRAG_LENGTH);
        step = step * 7 % 61 + 1;
    }
});
