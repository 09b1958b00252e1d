//! A bounds-checked reader over untrusted bytes.
//!
//! All decoders read through [`Reader`], so no decoder indexes a slice directly and
//! every read that runs past the end becomes [`WireError::Truncated`].

use crate::WireError;

/// A cursor over a byte slice where every read is checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unconsumed bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        if n > self.remaining() {
            return Err(WireError::Truncated {
                what,
                needed: n,
                available: self.remaining(),
            });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize, what: &'static str) -> Result<(), WireError> {
        self.take(n, what).map(|_| ())
    }

    /// Skips forward so that the position is a multiple of `align` (NDR alignment).
    pub fn align(&mut self, align: usize, what: &'static str) -> Result<(), WireError> {
        let pad = (align - self.pos % align) % align;
        self.skip(pad, what)
    }

    /// Takes exactly `N` bytes as an array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Reads one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads a big-endian u16.
    pub fn u16_be(&mut self, what: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// Reads a little-endian u16.
    pub fn u16_le(&mut self, what: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    /// Reads a big-endian u32.
    pub fn u32_be(&mut self, what: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// Reads a little-endian u32.
    pub fn u32_le(&mut self, what: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// Reads a little-endian u64.
    pub fn u64_le(&mut self, what: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Reads a big-endian u64.
    pub fn u64_be(&mut self, what: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }
}

/// Checks a count or length from the wire against a cap before anything is allocated for it.
pub fn check_cap(what: &'static str, value: usize, limit: usize) -> Result<usize, WireError> {
    if value > limit {
        Err(WireError::TooLarge { what, value, limit })
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_past_the_end_are_errors() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16_be("x"), Ok(0x0102));
        assert_eq!(
            r.u16_le("y"),
            Err(WireError::Truncated {
                what: "y",
                needed: 2,
                available: 1
            })
        );
        assert_eq!(r.u8("z"), Ok(3));
        assert!(r.is_empty());
    }

    #[test]
    fn align_pads_to_multiple() {
        let mut r = Reader::new(&[0; 8]);
        r.skip(1, "a").unwrap();
        r.align(4, "pad").unwrap();
        assert_eq!(r.position(), 4);
        r.align(4, "pad").unwrap();
        assert_eq!(r.position(), 4);
    }

    #[test]
    fn cap_rejects_large_values() {
        assert!(check_cap("n", 10, 5).is_err());
        assert_eq!(check_cap("n", 5, 5), Ok(5));
    }
}
