//! Minimal BER/DER: a bounds-checked TLV reader and a writer for what LDAP, SNMP and
//! Kerberos need.
//!
//! The reader accepts definite lengths only (short form, or long form with one to four
//! length octets, minimal or not, since Active Directory always writes four), tag numbers
//! up to 28 bits, and descends at most [`MAX_DEPTH`] levels of constructed elements. Every
//! length is checked against the bytes present before a slice is taken.

use std::fmt;

use crate::WireError;
use crate::reader::{Reader, check_cap};

/// Deepest nesting of constructed elements a [`Ber`] reader will enter.
pub const MAX_DEPTH: usize = 32;
/// Most length octets accepted in the long form of a length.
pub const MAX_LENGTH_OCTETS: usize = 4;
/// Largest tag number accepted (four subsequent tag octets of seven bits).
pub const MAX_TAG_NUMBER: u32 = (1 << 28) - 1;
/// Most arcs accepted in an OBJECT IDENTIFIER.
pub const MAX_OID_ARCS: usize = 128;

/// The class bits of a BER tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Types defined by X.680 itself (INTEGER, SEQUENCE, ...).
    Universal,
    /// Types defined by an application protocol (`[APPLICATION n]`).
    Application,
    /// Context-specific tags (`[n]`).
    Context,
    /// Private-use tags.
    Private,
}

impl Class {
    fn bits(self) -> u8 {
        match self {
            Class::Universal => 0x00,
            Class::Application => 0x40,
            Class::Context => 0x80,
            Class::Private => 0xC0,
        }
    }
}

/// A BER tag: class, primitive/constructed bit and tag number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tag {
    /// Tag class.
    pub class: Class,
    /// True for a constructed encoding (the value holds further TLVs).
    pub constructed: bool,
    /// Tag number.
    pub number: u32,
}

impl Tag {
    /// BOOLEAN.
    pub const BOOLEAN: Tag = Tag::universal(1, false);
    /// INTEGER.
    pub const INTEGER: Tag = Tag::universal(2, false);
    /// BIT STRING.
    pub const BIT_STRING: Tag = Tag::universal(3, false);
    /// OCTET STRING.
    pub const OCTET_STRING: Tag = Tag::universal(4, false);
    /// NULL.
    pub const NULL: Tag = Tag::universal(5, false);
    /// OBJECT IDENTIFIER.
    pub const OID: Tag = Tag::universal(6, false);
    /// ENUMERATED.
    pub const ENUMERATED: Tag = Tag::universal(10, false);
    /// UTF8String.
    pub const UTF8_STRING: Tag = Tag::universal(12, false);
    /// SEQUENCE / SEQUENCE OF (always constructed).
    pub const SEQUENCE: Tag = Tag::universal(16, true);
    /// SET / SET OF (always constructed).
    pub const SET: Tag = Tag::universal(17, true);
    /// PrintableString.
    pub const PRINTABLE_STRING: Tag = Tag::universal(19, false);
    /// IA5String.
    pub const IA5_STRING: Tag = Tag::universal(22, false);
    /// GeneralizedTime.
    pub const GENERALIZED_TIME: Tag = Tag::universal(24, false);
    /// GeneralString (used by Kerberos for KerberosString).
    pub const GENERAL_STRING: Tag = Tag::universal(27, false);

    /// A universal tag.
    pub const fn universal(number: u32, constructed: bool) -> Tag {
        Tag {
            class: Class::Universal,
            constructed,
            number,
        }
    }

    /// An application tag, `[APPLICATION number]`.
    pub const fn application(number: u32, constructed: bool) -> Tag {
        Tag {
            class: Class::Application,
            constructed,
            number,
        }
    }

    /// A context-specific tag, `[number]`.
    pub const fn context(number: u32, constructed: bool) -> Tag {
        Tag {
            class: Class::Context,
            constructed,
            number,
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let form = if self.constructed {
            "constructed"
        } else {
            "primitive"
        };
        match self.class {
            Class::Universal => write!(f, "UNIVERSAL {} ({form})", self.number),
            Class::Application => write!(f, "[APPLICATION {}] ({form})", self.number),
            Class::Context => write!(f, "[{}] ({form})", self.number),
            Class::Private => write!(f, "[PRIVATE {}] ({form})", self.number),
        }
    }
}

/// One decoded element: its tag and the value octets, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The element's tag.
    pub tag: Tag,
    /// The value octets (contents), exactly as long as the encoded length.
    pub value: &'a [u8],
    depth: usize,
}

/// A reader over a sequence of BER elements (the top level or a constructed value).
#[derive(Debug, Clone)]
pub struct Ber<'a> {
    r: Reader<'a>,
    depth: usize,
}

fn read_tag(r: &mut Reader<'_>) -> Result<Tag, WireError> {
    let first = r.u8("BER tag")?;
    let class = match first >> 6 {
        0 => Class::Universal,
        1 => Class::Application,
        2 => Class::Context,
        _ => Class::Private,
    };
    let constructed = first & 0x20 != 0;
    let low = u32::from(first & 0x1F);
    if low != 0x1F {
        return Ok(Tag {
            class,
            constructed,
            number: low,
        });
    }
    let mut number: u32 = 0;
    for i in 0..4 {
        let b = r.u8("BER tag number")?;
        if i == 0 && b == 0x80 {
            return Err(WireError::invalid(
                "BER tag number",
                "leading zero bits in a long-form tag",
            ));
        }
        number = (number << 7) | u32::from(b & 0x7F);
        if b & 0x80 == 0 {
            if number < 31 {
                return Err(WireError::invalid(
                    "BER tag number",
                    format!("tag {number} must use the short form"),
                ));
            }
            return Ok(Tag {
                class,
                constructed,
                number,
            });
        }
    }
    Err(WireError::invalid(
        "BER tag number",
        "longer than four octets",
    ))
}

fn read_len(r: &mut Reader<'_>) -> Result<usize, WireError> {
    let first = r.u8("BER length")?;
    if first < 0x80 {
        return Ok(usize::from(first));
    }
    if first == 0x80 {
        return Err(WireError::invalid(
            "BER length",
            "indefinite length is not accepted",
        ));
    }
    let n = check_cap(
        "BER length octets",
        usize::from(first & 0x7F),
        MAX_LENGTH_OCTETS,
    )?;
    let mut len: u64 = 0;
    for _ in 0..n {
        len = (len << 8) | u64::from(r.u8("BER length")?);
    }
    usize::try_from(len).map_err(|_| WireError::TooLarge {
        what: "BER length",
        value: usize::MAX,
        limit: usize::MAX,
    })
}

/// How many bytes the BER element starting at `prefix` occupies (header plus value).
///
/// `Ok(None)` means the prefix is too short to hold the whole header yet; an error means
/// no number of further bytes can make this a valid element (indefinite length, too many
/// length octets, bad tag).
pub fn element_len(prefix: &[u8]) -> Result<Option<usize>, WireError> {
    let mut r = Reader::new(prefix);
    let header = read_tag(&mut r).and_then(|_| read_len(&mut r));
    match header {
        Ok(len) => len
            .checked_add(r.position())
            .map(Some)
            .ok_or_else(|| WireError::invalid("BER length", "overflows")),
        Err(WireError::Truncated { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

impl<'a> Ber<'a> {
    /// Starts reading top-level elements from `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Ber {
            r: Reader::new(buf),
            depth: 0,
        }
    }

    /// True when no bytes are left.
    pub fn is_empty(&self) -> bool {
        self.r.is_empty()
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.r.remaining()
    }

    /// Bytes read so far from the start of this reader's buffer.
    pub fn position(&self) -> usize {
        self.r.position()
    }

    /// Nesting depth of this reader (0 for the top level).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Reads the next element.
    pub fn read(&mut self) -> Result<Tlv<'a>, WireError> {
        let tag = read_tag(&mut self.r)?;
        let len = read_len(&mut self.r)?;
        let value = self.r.take(len, "BER value")?;
        Ok(Tlv {
            tag,
            value,
            depth: self.depth,
        })
    }

    /// The tag of the next element, without consuming it (`None` at the end or on a bad tag).
    pub fn peek_tag(&self) -> Option<Tag> {
        let mut r = self.r.clone();
        read_tag(&mut r).ok()
    }

    /// Reads the next element and checks its tag.
    pub fn expect(&mut self, tag: Tag, what: &'static str) -> Result<Tlv<'a>, WireError> {
        let tlv = self.read()?;
        if tlv.tag != tag {
            return Err(WireError::Unexpected {
                what,
                got: tlv.tag.to_string(),
            });
        }
        Ok(tlv)
    }

    /// Reads the next element only if it carries `tag`.
    pub fn optional(&mut self, tag: Tag) -> Result<Option<Tlv<'a>>, WireError> {
        if self.peek_tag() == Some(tag) {
            self.read().map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads a SEQUENCE and returns a reader over its contents.
    pub fn sequence(&mut self, what: &'static str) -> Result<Ber<'a>, WireError> {
        self.expect(Tag::SEQUENCE, what)?.contents()
    }

    /// Reads an explicitly tagged `[n]` element and returns a reader over its contents.
    pub fn explicit(&mut self, n: u32, what: &'static str) -> Result<Ber<'a>, WireError> {
        self.expect(Tag::context(n, true), what)?.contents()
    }

    /// Like [`Ber::explicit`] but returns `None` when the next element is not `[n]`.
    pub fn optional_explicit(&mut self, n: u32) -> Result<Option<Ber<'a>>, WireError> {
        match self.optional(Tag::context(n, true))? {
            Some(tlv) => tlv.contents().map(Some),
            None => Ok(None),
        }
    }

    /// Reads an INTEGER that fits in an `i64`.
    pub fn integer(&mut self, what: &'static str) -> Result<i64, WireError> {
        self.expect(Tag::INTEGER, what)?.as_i64()
    }

    /// Reads an ENUMERATED value.
    pub fn enumerated(&mut self, what: &'static str) -> Result<i64, WireError> {
        self.expect(Tag::ENUMERATED, what)?.as_i64()
    }

    /// Reads a BOOLEAN.
    pub fn boolean(&mut self, what: &'static str) -> Result<bool, WireError> {
        self.expect(Tag::BOOLEAN, what)?.as_bool()
    }

    /// Reads an OCTET STRING (primitive encoding only).
    pub fn octet_string(&mut self, what: &'static str) -> Result<&'a [u8], WireError> {
        Ok(self.expect(Tag::OCTET_STRING, what)?.value)
    }

    /// Reads an OBJECT IDENTIFIER.
    pub fn oid(&mut self, what: &'static str) -> Result<Oid, WireError> {
        self.expect(Tag::OID, what)?.as_oid()
    }
}

impl<'a> Tlv<'a> {
    /// A reader over the elements inside this constructed element.
    pub fn contents(&self) -> Result<Ber<'a>, WireError> {
        if !self.tag.constructed {
            return Err(WireError::invalid(
                "BER element",
                format!("{} is primitive, expected constructed", self.tag),
            ));
        }
        let depth = check_cap("BER nesting depth", self.depth + 1, MAX_DEPTH)?;
        Ok(Ber {
            r: Reader::new(self.value),
            depth,
        })
    }

    fn primitive(&self, what: &'static str) -> Result<&'a [u8], WireError> {
        if self.tag.constructed {
            return Err(WireError::invalid(what, "constructed encoding"));
        }
        Ok(self.value)
    }

    /// The value as a signed integer (INTEGER, ENUMERATED or an implicitly tagged one).
    pub fn as_i64(&self) -> Result<i64, WireError> {
        decode_i64(self.primitive("INTEGER")?)
    }

    /// The value as a non-negative integer of up to 64 bits (one extra leading zero allowed).
    pub fn as_u64(&self) -> Result<u64, WireError> {
        decode_u64(self.primitive("INTEGER")?)
    }

    /// The value as a BOOLEAN.
    pub fn as_bool(&self) -> Result<bool, WireError> {
        let mut r = Reader::new(self.primitive("BOOLEAN")?);
        let b = r.u8("BOOLEAN")?;
        if !r.is_empty() {
            return Err(WireError::invalid("BOOLEAN", "longer than one octet"));
        }
        Ok(b != 0)
    }

    /// The value as an OBJECT IDENTIFIER.
    pub fn as_oid(&self) -> Result<Oid, WireError> {
        Oid::decode_value(self.primitive("OBJECT IDENTIFIER")?)
    }

    /// The value as text (UTF-8, with invalid sequences replaced).
    pub fn as_text(&self) -> String {
        String::from_utf8_lossy(self.value).into_owned()
    }
}

fn decode_i64(v: &[u8]) -> Result<i64, WireError> {
    let Some(&first) = v.first() else {
        return Err(WireError::invalid("INTEGER", "no content octets"));
    };
    check_cap("INTEGER octets", v.len(), 8)?;
    let mut n: i64 = if first & 0x80 != 0 { -1 } else { 0 };
    for &b in v {
        n = (n << 8) | i64::from(b);
    }
    Ok(n)
}

fn decode_u64(v: &[u8]) -> Result<u64, WireError> {
    let Some(&first) = v.first() else {
        return Err(WireError::invalid("INTEGER", "no content octets"));
    };
    if first & 0x80 != 0 {
        return Err(WireError::invalid(
            "INTEGER",
            "negative where unsigned expected",
        ));
    }
    let digits = if first == 0 && v.len() > 1 {
        v.get(1..).unwrap_or_default()
    } else {
        v
    };
    check_cap("INTEGER octets", digits.len(), 8)?;
    Ok(digits.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b)))
}

/// An OBJECT IDENTIFIER as its list of arcs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Oid(Vec<u64>);

impl Oid {
    /// Builds an OID from arcs, checking the X.690 rules for the first two.
    pub fn new(arcs: &[u64]) -> Result<Oid, WireError> {
        check_cap("OID arcs", arcs.len(), MAX_OID_ARCS)?;
        match arcs {
            [first, second, ..] => {
                let ok = match first {
                    0 | 1 => *second < 40,
                    2 => *second <= u64::MAX - 80,
                    _ => false,
                };
                if !ok {
                    return Err(WireError::invalid(
                        "OID",
                        format!("first arcs {first}.{second} cannot be encoded"),
                    ));
                }
                Ok(Oid(arcs.to_vec()))
            }
            _ => Err(WireError::invalid("OID", "fewer than two arcs")),
        }
    }

    /// Parses dotted text such as `1.3.6.1.2.1.1.1.0`.
    pub fn parse(text: &str) -> Result<Oid, WireError> {
        let arcs = text
            .split('.')
            .map(|a| {
                a.parse::<u64>()
                    .map_err(|_| WireError::invalid("OID", format!("bad arc {a:?}")))
            })
            .collect::<Result<Vec<u64>, WireError>>()?;
        Oid::new(&arcs)
    }

    /// The arcs.
    pub fn arcs(&self) -> &[u64] {
        &self.0
    }

    /// The content octets of this OID (without tag and length).
    pub fn encode_value(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut arcs = self.0.iter().copied();
        let first = arcs.next().unwrap_or(0);
        let second = arcs.next().unwrap_or(0);
        push_base128(&mut out, first * 40 + second);
        for arc in arcs {
            push_base128(&mut out, arc);
        }
        out
    }

    /// Decodes the content octets of an OID.
    pub fn decode_value(v: &[u8]) -> Result<Oid, WireError> {
        if v.is_empty() {
            return Err(WireError::invalid("OID", "no content octets"));
        }
        let mut arcs = Vec::new();
        let mut r = Reader::new(v);
        while !r.is_empty() {
            let mut n: u64 = 0;
            let mut first_octet = true;
            loop {
                let b = r.u8("OID subidentifier")?;
                if first_octet && b == 0x80 {
                    return Err(WireError::invalid(
                        "OID",
                        "subidentifier with leading zero bits",
                    ));
                }
                first_octet = false;
                if n > (u64::MAX >> 7) {
                    return Err(WireError::invalid("OID", "subidentifier exceeds 64 bits"));
                }
                n = (n << 7) | u64::from(b & 0x7F);
                if b & 0x80 == 0 {
                    break;
                }
            }
            if arcs.is_empty() {
                let (a, b) = match n {
                    0..40 => (0, n),
                    40..80 => (1, n - 40),
                    _ => (2, n - 80),
                };
                arcs.push(a);
                arcs.push(b);
            } else {
                arcs.push(n);
            }
            check_cap("OID arcs", arcs.len(), MAX_OID_ARCS)?;
        }
        Ok(Oid(arcs))
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arc) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{arc}")?;
        }
        Ok(())
    }
}

fn push_base128(out: &mut Vec<u8>, mut v: u64) {
    let mut groups = [0u8; 10];
    let mut n = 0;
    loop {
        groups[n] = (v & 0x7F) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        let more = if i > 0 { 0x80 } else { 0 };
        out.push(groups[i] | more);
    }
}

// ---------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------

/// Appends the encoding of `tag`.
pub fn write_tag(out: &mut Vec<u8>, tag: Tag) {
    let lead = tag.class.bits() | if tag.constructed { 0x20 } else { 0 };
    if tag.number < 31 {
        out.push(lead | tag.number as u8);
    } else {
        out.push(lead | 0x1F);
        push_base128(out, u64::from(tag.number));
    }
}

/// Appends a definite length in the shortest form.
pub fn write_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = (len as u64).to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let digits = bytes.get(skip..).unwrap_or_default();
    out.push(0x80 | digits.len() as u8);
    out.extend_from_slice(digits);
}

/// One element: tag, length and `value`.
pub fn tlv(tag: Tag, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    write_tag(&mut out, tag);
    write_len(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

/// Concatenates already encoded elements (the contents of a SEQUENCE, say).
pub fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The minimal two's-complement content octets of `v`.
pub fn integer_value(v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (cur, next) = (bytes[start], bytes[start + 1]);
        let redundant = (cur == 0x00 && next & 0x80 == 0) || (cur == 0xFF && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    bytes[start..].to_vec()
}

/// INTEGER.
pub fn integer(v: i64) -> Vec<u8> {
    tlv(Tag::INTEGER, &integer_value(v))
}

/// INTEGER holding an unsigned value (e.g. a Kerberos UInt32 nonce).
pub fn unsigned(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take(7).take_while(|&&b| b == 0).count();
    let mut value = Vec::with_capacity(9);
    if bytes[skip] & 0x80 != 0 {
        value.push(0);
    }
    value.extend_from_slice(&bytes[skip..]);
    tlv(Tag::INTEGER, &value)
}

/// ENUMERATED.
pub fn enumerated(v: i64) -> Vec<u8> {
    tlv(Tag::ENUMERATED, &integer_value(v))
}

/// BOOLEAN (true is written as 0xFF, as DER requires).
pub fn boolean(v: bool) -> Vec<u8> {
    tlv(Tag::BOOLEAN, &[if v { 0xFF } else { 0x00 }])
}

/// NULL.
pub fn null() -> Vec<u8> {
    tlv(Tag::NULL, &[])
}

/// OCTET STRING.
pub fn octet_string(v: &[u8]) -> Vec<u8> {
    tlv(Tag::OCTET_STRING, v)
}

/// OBJECT IDENTIFIER.
pub fn oid(v: &Oid) -> Vec<u8> {
    tlv(Tag::OID, &v.encode_value())
}

/// BIT STRING with `unused` trailing bits in the last octet.
pub fn bit_string(unused: u8, bits: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(bits.len() + 1);
    value.push(unused);
    value.extend_from_slice(bits);
    tlv(Tag::BIT_STRING, &value)
}

/// GeneralizedTime from its text form, e.g. `20370913024805Z`.
pub fn generalized_time(text: &str) -> Vec<u8> {
    tlv(Tag::GENERALIZED_TIME, text.as_bytes())
}

/// GeneralString (Kerberos' KerberosString).
pub fn general_string(text: &str) -> Vec<u8> {
    tlv(Tag::GENERAL_STRING, text.as_bytes())
}

/// SEQUENCE around already encoded contents.
pub fn sequence(contents: &[u8]) -> Vec<u8> {
    tlv(Tag::SEQUENCE, contents)
}

/// SET around already encoded contents.
pub fn set(contents: &[u8]) -> Vec<u8> {
    tlv(Tag::SET, contents)
}

/// Explicit context tag `[n]` around one encoded element.
pub fn explicit(n: u32, inner: &[u8]) -> Vec<u8> {
    tlv(Tag::context(n, true), inner)
}

/// Implicit primitive context tag `[n]` over raw content octets.
pub fn context_primitive(n: u32, value: &[u8]) -> Vec<u8> {
    tlv(Tag::context(n, false), value)
}

/// Implicit constructed context tag `[n]` over encoded contents.
pub fn context_constructed(n: u32, contents: &[u8]) -> Vec<u8> {
    tlv(Tag::context(n, true), contents)
}

/// Application tag `[APPLICATION n]`.
pub fn application(n: u32, constructed: bool, contents: &[u8]) -> Vec<u8> {
    tlv(Tag::application(n, constructed), contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Walks every element, descending into constructed ones; stops at the depth cap.
    fn walk(ber: &mut Ber<'_>, count: &mut usize) -> Result<(), WireError> {
        while !ber.is_empty() {
            let tlv = ber.read()?;
            *count += 1;
            if tlv.tag.constructed {
                walk(&mut tlv.contents()?, count)?;
            }
        }
        Ok(())
    }

    #[test]
    fn short_and_long_lengths() {
        // SEQUENCE, length 3, INTEGER 1 byte 5
        let mut b = Ber::new(&[0x30, 0x03, 0x02, 0x01, 0x05]);
        let mut s = b.sequence("seq").unwrap();
        assert_eq!(s.integer("i").unwrap(), 5);
        assert!(s.is_empty() && b.is_empty());

        // OCTET STRING with a four-octet long-form length (Active Directory style)
        let buf = [0x04, 0x84, 0x00, 0x00, 0x00, 0x02, b'h', b'i'];
        assert_eq!(Ber::new(&buf).octet_string("s").unwrap(), b"hi");

        // 200-byte value uses 0x81 0xC8
        let enc = octet_string(&[7u8; 200]);
        assert_eq!(&enc[..3], &[0x04, 0x81, 0xC8]);
        assert_eq!(element_len(&enc[..3]).unwrap(), Some(203));
        assert_eq!(element_len(&enc[..2]).unwrap(), None);
    }

    #[test]
    fn rejects_indefinite_and_overlong_lengths() {
        assert!(matches!(
            Ber::new(&[0x30, 0x80, 0x00, 0x00]).read(),
            Err(WireError::Invalid { .. })
        ));
        assert!(matches!(
            Ber::new(&[0x04, 0x85, 0, 0, 0, 0, 1, 0]).read(),
            Err(WireError::TooLarge { .. })
        ));
        assert!(element_len(&[0x30, 0x80]).is_err());
    }

    #[test]
    fn hostile_length_ffffffff() {
        // OCTET STRING claiming 0xFFFFFFFF value bytes with three present
        let buf = [0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3];
        match Ber::new(&buf).read() {
            Err(WireError::Truncated {
                needed, available, ..
            }) => {
                assert_eq!(needed, 0xFFFF_FFFF);
                assert_eq!(available, 3);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn multi_byte_tags() {
        // [APPLICATION 200] primitive: 0x5F, 0x81 0x48, length 1, value
        let enc = tlv(Tag::application(200, false), &[9]);
        assert_eq!(enc, vec![0x5F, 0x81, 0x48, 0x01, 0x09]);
        let t = Ber::new(&enc).read().unwrap();
        assert_eq!(t.tag, Tag::application(200, false));
        assert_eq!(t.value, &[9]);
        // long form for a small number is rejected, as is a leading 0x80
        assert!(Ber::new(&[0x1F, 0x05, 0x00]).read().is_err());
        assert!(Ber::new(&[0x1F, 0x80, 0x01, 0x00]).read().is_err());
        // five tag-number octets
        assert!(
            Ber::new(&[0x1F, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00])
                .read()
                .is_err()
        );
    }

    #[test]
    fn depth_is_capped() {
        let mut enc = null();
        for _ in 0..40 {
            enc = sequence(&enc);
        }
        let mut count = 0;
        let err = walk(&mut Ber::new(&enc), &mut count).unwrap_err();
        assert!(matches!(
            err,
            WireError::TooLarge {
                what: "BER nesting depth",
                ..
            }
        ));
        // the top level plus MAX_DEPTH nested levels are read
        assert_eq!(count, MAX_DEPTH + 1);
    }

    #[test]
    fn integers() {
        assert_eq!(integer(0), vec![0x02, 0x01, 0x00]);
        assert_eq!(integer(127), vec![0x02, 0x01, 0x7F]);
        assert_eq!(integer(128), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(-1), vec![0x02, 0x01, 0xFF]);
        assert_eq!(integer(-129), vec![0x02, 0x02, 0xFF, 0x7F]);
        assert_eq!(
            unsigned(0xFFFF_FFFF),
            vec![0x02, 0x05, 0x00, 0xFF, 0xFF, 0xFF, 0xFF]
        );
        let enc = unsigned(u64::MAX);
        let t = Ber::new(&enc).read().unwrap();
        assert_eq!(t.as_u64().unwrap(), u64::MAX);
        assert!(t.as_i64().is_err());
        assert!(Ber::new(&[0x02, 0x00]).integer("i").is_err());
        assert_eq!(boolean(true), vec![0x01, 0x01, 0xFF]);
        assert!(Ber::new(&boolean(true)).boolean("b").unwrap());
    }

    #[test]
    fn oids() {
        let o = Oid::parse("1.3.6.1.2.1.1.1.0").unwrap();
        assert_eq!(oid(&o), vec![0x06, 0x08, 0x2B, 6, 1, 2, 1, 1, 1, 0]);
        assert_eq!(Ber::new(&oid(&o)).oid("o").unwrap(), o);
        assert_eq!(o.to_string(), "1.3.6.1.2.1.1.1.0");
        // 2.999 encodes as one subidentifier 1079 = 0x88 0x37
        let o = Oid::parse("2.999.3").unwrap();
        assert_eq!(o.encode_value(), vec![0x88, 0x37, 0x03]);
        assert_eq!(Oid::decode_value(&[0x88, 0x37, 0x03]).unwrap(), o);
        assert!(Oid::parse("3.1").is_err());
        assert!(Oid::parse("1.40").is_err());
        assert!(Oid::decode_value(&[0x2B, 0x86]).is_err());
        assert!(Oid::decode_value(&[0xFF; 12]).is_err());
    }

    fn arb_tag() -> impl Strategy<Value = Tag> {
        (0u8..4, any::<bool>(), 0u32..=MAX_TAG_NUMBER).prop_map(|(c, constructed, number)| Tag {
            class: match c {
                0 => Class::Universal,
                1 => Class::Application,
                2 => Class::Context,
                _ => Class::Private,
            },
            constructed,
            number,
        })
    }

    fn arb_oid() -> impl Strategy<Value = Oid> {
        (
            0u64..3,
            any::<u64>(),
            proptest::collection::vec(any::<u64>(), 0..20),
        )
            .prop_map(|(first, second, rest)| {
                let second = if first < 2 {
                    second % 40
                } else {
                    second % (u64::MAX - 80)
                };
                let mut arcs = vec![first, second];
                arcs.extend(rest);
                Oid::new(&arcs).unwrap()
            })
    }

    proptest! {
        #[test]
        fn tlv_round_trip(tag in arb_tag(), value in proptest::collection::vec(any::<u8>(), 0..300)) {
            let enc = tlv(tag, &value);
            prop_assert_eq!(element_len(&enc).unwrap(), Some(enc.len()));
            let mut b = Ber::new(&enc);
            let t = b.read().unwrap();
            prop_assert_eq!(t.tag, tag);
            prop_assert_eq!(t.value, &value[..]);
            prop_assert!(b.is_empty());
        }

        #[test]
        fn integer_round_trip(v in any::<i64>()) {
            prop_assert_eq!(Ber::new(&integer(v)).integer("i").unwrap(), v);
            prop_assert_eq!(Ber::new(&enumerated(v)).enumerated("e").unwrap(), v);
        }

        #[test]
        fn unsigned_round_trip(v in any::<u64>()) {
            prop_assert_eq!(Ber::new(&unsigned(v)).read().unwrap().as_u64().unwrap(), v);
        }

        #[test]
        fn oid_round_trip(o in arb_oid()) {
            prop_assert_eq!(Ber::new(&oid(&o)).oid("o").unwrap(), o.clone());
            prop_assert_eq!(Oid::parse(&o.to_string()).unwrap(), o);
        }

        #[test]
        fn arbitrary_bytes_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut count = 0;
            let _ = walk(&mut Ber::new(&buf), &mut count);
            let _ = element_len(&buf);
            let mut b = Ber::new(&buf);
            if let Ok(t) = b.read() {
                let _ = t.as_i64();
                let _ = t.as_u64();
                let _ = t.as_oid();
                let _ = t.as_bool();
            }
        }
    }
}
