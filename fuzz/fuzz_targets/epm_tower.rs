//! `Tower::decode` on arbitrary bytes: never panics, the accessors never panic, and
//! a decoded tower re-encodes to one that decodes equal.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portq_wire::epm::Tower;

fuzz_target!(|data: &[u8]| {
    if let Ok(tower) = Tower::decode(data) {
        let _ = (tower.protseq(), tower.endpoint(), tower.binding());
        let _ = (tower.port(), tower.address(), tower.interface());
        let again = Tower::decode(&tower.encode()).expect("a re-encoded tower decodes");
        assert_eq!(again, tower);
    }
});
