//! The small part of NDR 2.0 (C706 chapter 14) that the endpoint mapper needs.
//!
//! [`NdrReader`] reads aligned primitives in either integer byte order, UUIDs,
//! context handles, pointer referent ids and the headers of conformant and varying
//! arrays. Every count it returns has been checked against a caller-supplied cap and
//! against the bytes still present, so a caller may allocate `count` elements.
//! [`NdrWriter`] is its counterpart and writes aligned primitives with zero padding.
//!
//! Alignment is relative to the start of the buffer the reader or writer was created
//! over; for a DCE/RPC stub that is the first stub byte, which the PDU layout keeps on
//! an 8-byte boundary.

use uuid::Uuid;

use crate::WireError;
use crate::reader::{Reader, check_cap};

/// Size in bytes of an NDR context handle (`policy_handle`): attributes + UUID.
pub const CONTEXT_HANDLE_LEN: usize = 20;

/// Integer byte order of a data representation (the high nibble of `drep[0]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntRep {
    /// Least significant byte first (drep nibble 1); what portq sends.
    #[default]
    LittleEndian,
    /// Most significant byte first (drep nibble 0).
    BigEndian,
}

/// An opaque 20-byte context handle, echoed back to the server byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ContextHandle(pub [u8; CONTEXT_HANDLE_LEN]);

impl ContextHandle {
    /// The all-zero handle: "no context yet" on input, "enumeration finished" on output.
    pub const NULL: ContextHandle = ContextHandle([0; CONTEXT_HANDLE_LEN]);

    /// True when every byte is zero.
    pub fn is_null(&self) -> bool {
        self.0.iter().all(|b| *b == 0)
    }
}

/// The bounds sent in front of a conformant varying array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArrayBounds {
    /// `max_count`: the allocated size of the array.
    pub max_count: u32,
    /// `offset`: index of the first transmitted element.
    pub offset: u32,
    /// `actual_count`: number of transmitted elements (checked against cap and bytes).
    pub actual_count: usize,
}

/// A cursor over NDR-encoded bytes in a given integer byte order.
#[derive(Debug, Clone)]
pub struct NdrReader<'a> {
    inner: Reader<'a>,
    rep: IntRep,
}

impl<'a> NdrReader<'a> {
    /// Starts reading at the beginning of `buf` with integer order `rep`.
    pub fn new(buf: &'a [u8], rep: IntRep) -> Self {
        NdrReader {
            inner: Reader::new(buf),
            rep,
        }
    }

    /// The integer byte order in use.
    pub fn rep(&self) -> IntRep {
        self.rep
    }

    /// Bytes consumed so far (alignment is relative to position 0).
    pub fn position(&self) -> usize {
        self.inner.position()
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.inner.remaining()
    }

    /// True when every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }

    /// The unconsumed bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.inner.rest()
    }

    /// Skips padding up to the next multiple of `align`.
    pub fn align(&mut self, align: usize, what: &'static str) -> Result<(), WireError> {
        self.inner.align(align, what)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize, what: &'static str) -> Result<(), WireError> {
        self.inner.skip(n, what)
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        self.inner.take(n, what)
    }

    /// Reads one byte (no alignment).
    pub fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        self.inner.u8(what)
    }

    /// Reads a 2-aligned u16 in the stream's byte order.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        self.inner.align(2, what)?;
        self.u16_unaligned(what)
    }

    /// Reads a u16 in the stream's byte order at the current position.
    pub fn u16_unaligned(&mut self, what: &'static str) -> Result<u16, WireError> {
        match self.rep {
            IntRep::LittleEndian => self.inner.u16_le(what),
            IntRep::BigEndian => self.inner.u16_be(what),
        }
    }

    /// Reads a 4-aligned u32 in the stream's byte order.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        self.inner.align(4, what)?;
        self.u32_unaligned(what)
    }

    /// Reads a u32 in the stream's byte order at the current position.
    pub fn u32_unaligned(&mut self, what: &'static str) -> Result<u32, WireError> {
        match self.rep {
            IntRep::LittleEndian => self.inner.u32_le(what),
            IntRep::BigEndian => self.inner.u32_be(what),
        }
    }

    /// Reads a 4-aligned `uuid_t` (u32, u16, u16, 8 bytes) in the stream's byte order.
    pub fn uuid(&mut self, what: &'static str) -> Result<Uuid, WireError> {
        self.inner.align(4, what)?;
        self.uuid_unaligned(what)
    }

    /// Reads a `uuid_t` at the current position, without alignment.
    pub fn uuid_unaligned(&mut self, what: &'static str) -> Result<Uuid, WireError> {
        let d1 = self.u32_unaligned(what)?;
        let d2 = self.u16_unaligned(what)?;
        let d3 = self.u16_unaligned(what)?;
        let d4: [u8; 8] = self.inner.array(what)?;
        Ok(Uuid::from_fields(d1, d2, d3, &d4))
    }

    /// Reads a 4-aligned 20-byte context handle.
    pub fn context_handle(&mut self, what: &'static str) -> Result<ContextHandle, WireError> {
        self.inner.align(4, what)?;
        Ok(ContextHandle(self.inner.array(what)?))
    }

    /// Reads a unique or full pointer's referent id; `None` for a NULL pointer.
    pub fn pointer(&mut self, what: &'static str) -> Result<Option<u32>, WireError> {
        let id = self.u32(what)?;
        Ok((id != 0).then_some(id))
    }

    /// Reads the `max_count` of a conformant array and checks it against `cap` and
    /// against the bytes left, given that each element takes at least `min_elem_size`.
    pub fn conformance(
        &mut self,
        what: &'static str,
        cap: usize,
        min_elem_size: usize,
    ) -> Result<usize, WireError> {
        let count = self.u32(what)? as usize;
        self.check_count(what, count, cap, min_elem_size)
    }

    /// Reads the `offset` and `actual_count` of a varying array; the count is checked
    /// against `cap` and the bytes left. Returns `(offset, actual_count)`.
    pub fn variance(
        &mut self,
        what: &'static str,
        cap: usize,
        min_elem_size: usize,
    ) -> Result<(u32, usize), WireError> {
        let offset = self.u32(what)?;
        let count = self.u32(what)? as usize;
        let count = self.check_count(what, count, cap, min_elem_size)?;
        Ok((offset, count))
    }

    /// Reads the three bounds of a conformant varying array and checks that the
    /// transmitted slice `offset .. offset + actual_count` lies within `max_count`.
    pub fn conformant_varying(
        &mut self,
        what: &'static str,
        cap: usize,
        min_elem_size: usize,
    ) -> Result<ArrayBounds, WireError> {
        let max_count = self.u32(what)?;
        let (offset, actual_count) = self.variance(what, cap, min_elem_size)?;
        let end = u64::from(offset) + actual_count as u64;
        if end > u64::from(max_count) {
            return Err(WireError::invalid(
                what,
                format!(
                    "offset {offset} + actual_count {actual_count} exceeds max_count {max_count}"
                ),
            ));
        }
        Ok(ArrayBounds {
            max_count,
            offset,
            actual_count,
        })
    }

    /// Reads an embedded `[string] char[]` (varying array of bytes) and returns the
    /// transmitted bytes, terminator included if the sender sent one.
    pub fn varying_bytes(&mut self, what: &'static str, cap: usize) -> Result<&'a [u8], WireError> {
        let (_offset, count) = self.variance(what, cap, 1)?;
        self.take(count, what)
    }

    fn check_count(
        &self,
        what: &'static str,
        count: usize,
        cap: usize,
        min_elem_size: usize,
    ) -> Result<usize, WireError> {
        check_cap(what, count, cap)?;
        let needed = count.saturating_mul(min_elem_size);
        if needed > self.remaining() {
            return Err(WireError::Truncated {
                what,
                needed,
                available: self.remaining(),
            });
        }
        Ok(count)
    }
}

/// Builds NDR-encoded bytes with zero padding for alignment.
#[derive(Debug, Clone, Default)]
pub struct NdrWriter {
    buf: Vec<u8>,
    rep: IntRep,
    next_referent: u32,
}

/// The first referent id [`NdrWriter::next_referent`] hands out (MIDL's habit).
const FIRST_REFERENT: u32 = 0x0002_0000;

impl NdrWriter {
    /// An empty writer using integer order `rep`.
    pub fn new(rep: IntRep) -> Self {
        NdrWriter {
            buf: Vec::new(),
            rep,
            next_referent: FIRST_REFERENT,
        }
    }

    /// The integer byte order in use.
    pub fn rep(&self) -> IntRep {
        self.rep
    }

    /// Bytes written so far.
    pub fn position(&self) -> usize {
        self.buf.len()
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// Consumes the writer and returns its bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// Writes zero bytes up to the next multiple of `align`.
    pub fn align(&mut self, align: usize) {
        let pad = (align - self.buf.len() % align) % align;
        self.buf.resize(self.buf.len() + pad, 0);
    }

    /// Writes raw bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Writes one byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// Writes a 2-aligned u16.
    pub fn u16(&mut self, v: u16) {
        self.align(2);
        self.u16_unaligned(v);
    }

    /// Writes a u16 at the current position.
    pub fn u16_unaligned(&mut self, v: u16) {
        match self.rep {
            IntRep::LittleEndian => self.buf.extend_from_slice(&v.to_le_bytes()),
            IntRep::BigEndian => self.buf.extend_from_slice(&v.to_be_bytes()),
        }
    }

    /// Writes a 4-aligned u32.
    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.u32_unaligned(v);
    }

    /// Writes a u32 at the current position.
    pub fn u32_unaligned(&mut self, v: u32) {
        match self.rep {
            IntRep::LittleEndian => self.buf.extend_from_slice(&v.to_le_bytes()),
            IntRep::BigEndian => self.buf.extend_from_slice(&v.to_be_bytes()),
        }
    }

    /// Overwrites a u16 previously written at `pos` (used for length fields).
    /// Does nothing if `pos` is not inside the written bytes.
    pub fn patch_u16(&mut self, pos: usize, v: u16) {
        let bytes = match self.rep {
            IntRep::LittleEndian => v.to_le_bytes(),
            IntRep::BigEndian => v.to_be_bytes(),
        };
        let Some(end) = pos.checked_add(2) else {
            return;
        };
        if let Some(slot) = self.buf.get_mut(pos..end) {
            slot.copy_from_slice(&bytes);
        }
    }

    /// Writes a 4-aligned `uuid_t`.
    pub fn uuid(&mut self, u: &Uuid) {
        self.align(4);
        self.uuid_unaligned(u);
    }

    /// Writes a `uuid_t` at the current position.
    pub fn uuid_unaligned(&mut self, u: &Uuid) {
        let (d1, d2, d3, d4) = u.as_fields();
        self.u32_unaligned(d1);
        self.u16_unaligned(d2);
        self.u16_unaligned(d3);
        self.buf.extend_from_slice(d4);
    }

    /// Writes a 4-aligned context handle.
    pub fn context_handle(&mut self, h: &ContextHandle) {
        self.align(4);
        self.buf.extend_from_slice(&h.0);
    }

    /// Returns a fresh non-zero referent id for a unique or full pointer.
    pub fn next_referent(&mut self) -> u32 {
        let id = self.next_referent;
        self.next_referent = self.next_referent.wrapping_add(4).max(FIRST_REFERENT);
        id
    }

    /// Writes a pointer: a fresh referent id when `present`, else NULL (0).
    /// Returns the id written.
    pub fn pointer(&mut self, present: bool) -> u32 {
        let id = if present { self.next_referent() } else { 0 };
        self.u32(id);
        id
    }

    /// Writes the bounds of a conformant varying array.
    pub fn conformant_varying(&mut self, max_count: u32, offset: u32, actual_count: u32) {
        self.u32(max_count);
        self.u32(offset);
        self.u32(actual_count);
    }

    /// Writes an embedded `[string] char[]`: offset 0, count, then the bytes.
    pub fn varying_bytes(&mut self, bytes: &[u8]) {
        self.u32(0);
        self.u32(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
        self.bytes(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_are_aligned_and_ordered() {
        let bytes = [
            0xAA, // u8
            0x00, // pad to 2
            0x34, 0x12, // u16 0x1234 LE
            0x78, 0x56, 0x34, 0x12, // u32 0x12345678 LE (already 4-aligned)
        ];
        let mut r = NdrReader::new(&bytes, IntRep::LittleEndian);
        assert_eq!(r.u8("a").unwrap(), 0xAA);
        assert_eq!(r.u16("b").unwrap(), 0x1234);
        assert_eq!(r.u32("c").unwrap(), 0x1234_5678);
        assert!(r.is_empty());

        let mut w = NdrWriter::new(IntRep::LittleEndian);
        w.u8(0xAA);
        w.u16(0x1234);
        w.u32(0x1234_5678);
        assert_eq!(w.as_slice(), &bytes);
    }

    #[test]
    fn big_endian_primitives_and_uuid() {
        let u = Uuid::from_u128(0x8a885d04_1ceb_11c9_9fe8_08002b104860);
        let bytes = [
            0x8a, 0x88, 0x5d, 0x04, // time_low, big-endian
            0x1c, 0xeb, // time_mid
            0x11, 0xc9, // time_hi_and_version
            0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60, // clock_seq + node
            0x00, 0x02, // u16 2, big-endian
        ];
        let mut r = NdrReader::new(&bytes, IntRep::BigEndian);
        assert_eq!(r.uuid("u").unwrap(), u);
        assert_eq!(r.u16("v").unwrap(), 2);

        let mut w = NdrWriter::new(IntRep::BigEndian);
        w.uuid(&u);
        w.u16(2);
        assert_eq!(w.as_slice(), &bytes);
    }

    #[test]
    fn little_endian_uuid_matches_uuid_crate_le_bytes() {
        let u = Uuid::from_u128(0xe1af8308_5d1f_11c9_91a4_08002b14a0fa);
        let mut w = NdrWriter::new(IntRep::LittleEndian);
        w.uuid(&u);
        assert_eq!(w.as_slice(), &u.to_bytes_le());
    }

    #[test]
    fn context_handle_null_detection() {
        assert!(ContextHandle::NULL.is_null());
        let mut h = [0u8; 20];
        h[19] = 1;
        assert!(!ContextHandle(h).is_null());
    }

    #[test]
    fn pointer_null_and_referent() {
        let bytes = [0, 0, 0, 0, 0x00, 0x00, 0x02, 0x00];
        let mut r = NdrReader::new(&bytes, IntRep::LittleEndian);
        assert_eq!(r.pointer("p").unwrap(), None);
        assert_eq!(r.pointer("q").unwrap(), Some(0x0002_0000));
    }

    #[test]
    fn conformant_varying_checks_counts() {
        // max_count 4, offset 0, actual 2, two 4-byte elements.
        let good = [4, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0];
        let mut r = NdrReader::new(&good, IntRep::LittleEndian);
        let b = r.conformant_varying("arr", 100, 4).unwrap();
        assert_eq!(b.actual_count, 2);

        // actual_count larger than the bytes present.
        let short = [9, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0];
        let mut r = NdrReader::new(&short, IntRep::LittleEndian);
        assert!(matches!(
            r.conformant_varying("arr", 100, 4),
            Err(WireError::Truncated { .. })
        ));

        // actual_count above the cap.
        let mut r = NdrReader::new(&good, IntRep::LittleEndian);
        assert!(matches!(
            r.conformant_varying("arr", 1, 4),
            Err(WireError::TooLarge { .. })
        ));

        // offset + actual beyond max_count.
        let bad = [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0];
        let mut r = NdrReader::new(&bad, IntRep::LittleEndian);
        assert!(matches!(
            r.conformant_varying("arr", 100, 1),
            Err(WireError::Invalid { .. })
        ));

        // Huge counts never overflow the byte computation.
        let huge = [0xff; 12];
        let mut r = NdrReader::new(&huge, IntRep::LittleEndian);
        assert!(r.conformant_varying("arr", usize::MAX, usize::MAX).is_err());
    }

    #[test]
    fn varying_bytes_round_trip() {
        let mut w = NdrWriter::new(IntRep::LittleEndian);
        w.u8(1);
        w.varying_bytes(b"abc\0");
        let bytes = w.into_bytes();
        assert_eq!(
            bytes,
            [
                1, 0, 0, 0, /* offset */ 0, 0, 0, 0, /* count */ 4, 0, 0, 0, b'a', b'b',
                b'c', 0
            ]
        );
        let mut r = NdrReader::new(&bytes, IntRep::LittleEndian);
        r.u8("x").unwrap();
        assert_eq!(r.varying_bytes("s", 64).unwrap(), b"abc\0");
    }

    #[test]
    fn referents_are_distinct_and_non_zero() {
        let mut w = NdrWriter::new(IntRep::LittleEndian);
        let a = w.next_referent();
        let b = w.next_referent();
        assert_ne!(a, 0);
        assert_ne!(a, b);
    }

    #[test]
    fn patch_outside_buffer_is_ignored() {
        let mut w = NdrWriter::new(IntRep::LittleEndian);
        w.u8(0);
        w.patch_u16(0, 7);
        assert_eq!(w.as_slice(), &[0]);
    }
}
