//! LDAPv3 (RFC 4511) and CLDAP as Active Directory uses them: the rootDSE search on
//! TCP 389/636/3268, the "LDAP ping" for the Netlogon attribute on UDP 389, and the
//! decoders for their replies including NETLOGON_SAM_LOGON_RESPONSE_EX ([MS-ADTS] 6.3.1.9).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

use uuid::Uuid;

use crate::WireError;
use crate::ber::{self, Ber, Class, Tag};
use crate::dns;
use crate::reader::{Reader, check_cap};

/// Most attributes read from one entry.
pub const MAX_ATTRIBUTES: usize = 256;
/// Most values read for one attribute.
pub const MAX_VALUES: usize = 1024;
/// Most LDAP messages read from one buffer or datagram.
pub const MAX_MESSAGES: usize = 64;
/// Most referral URIs kept.
pub const MAX_REFERRALS: usize = 32;

/// NETLOGON_NT_VERSION_1.
pub const NETLOGON_NT_VERSION_1: u32 = 0x0000_0001;
/// NETLOGON_NT_VERSION_5.
pub const NETLOGON_NT_VERSION_5: u32 = 0x0000_0002;
/// NETLOGON_NT_VERSION_5EX.
pub const NETLOGON_NT_VERSION_5EX: u32 = 0x0000_0004;
/// NETLOGON_NT_VERSION_5EX_WITH_IP: the reply carries the DC's socket address.
pub const NETLOGON_NT_VERSION_5EX_WITH_IP: u32 = 0x0000_0008;
/// NETLOGON_NT_VERSION_WITH_CLOSEST_SITE: the reply carries NextClosestSiteName.
pub const NETLOGON_NT_VERSION_WITH_CLOSEST_SITE: u32 = 0x0000_0010;
/// The NtVer the probe sends: V5 | V5EX.
pub const PROBE_NT_VERSION: u32 = NETLOGON_NT_VERSION_5 | NETLOGON_NT_VERSION_5EX;

/// The rootDSE attributes the probe asks for.
pub const ROOTDSE_ATTRIBUTES: [&str; 12] = [
    "defaultNamingContext",
    "namingContexts",
    "vendorName",
    "vendorVersion",
    "dnsHostName",
    "ldapServiceName",
    "supportedLDAPVersion",
    "domainFunctionality",
    "rootDomainNamingContext",
    "serverName",
    "isGlobalCatalogReady",
    "currentTime",
];

/// Search scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The base object only.
    BaseObject,
    /// One level below the base.
    SingleLevel,
    /// The whole subtree.
    WholeSubtree,
}

impl Scope {
    fn value(self) -> i64 {
        match self {
            Scope::BaseObject => 0,
            Scope::SingleLevel => 1,
            Scope::WholeSubtree => 2,
        }
    }
}

/// The subset of search filters portq sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `(&...)`.
    And(Vec<Filter>),
    /// `(|...)`.
    Or(Vec<Filter>),
    /// `(!...)`.
    Not(Box<Filter>),
    /// `(attr=value)` with a raw value.
    Equality(String, Vec<u8>),
    /// `(attr=*)`.
    Present(String),
}

impl Filter {
    /// BER encoding of the filter.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Filter::And(fs) => ber::context_constructed(
                0,
                &fs.iter().flat_map(Filter::encode).collect::<Vec<u8>>(),
            ),
            Filter::Or(fs) => ber::context_constructed(
                1,
                &fs.iter().flat_map(Filter::encode).collect::<Vec<u8>>(),
            ),
            Filter::Not(f) => ber::context_constructed(2, &f.encode()),
            Filter::Equality(attr, value) => ber::context_constructed(
                3,
                &[ber::octet_string(attr.as_bytes()), ber::octet_string(value)].concat(),
            ),
            Filter::Present(attr) => ber::context_primitive(7, attr.as_bytes()),
        }
    }
}

/// An LDAPMessage carrying a SearchRequest (sizeLimit 0, timeLimit 0, typesOnly false,
/// derefAliases never).
pub fn search_request(
    message_id: i32,
    base: &str,
    scope: Scope,
    filter: &Filter,
    attributes: &[&str],
) -> Vec<u8> {
    let attrs: Vec<u8> = attributes
        .iter()
        .flat_map(|a| ber::octet_string(a.as_bytes()))
        .collect();
    let body = [
        ber::octet_string(base.as_bytes()),
        ber::enumerated(scope.value()),
        ber::enumerated(0),
        ber::integer(0),
        ber::integer(0),
        ber::boolean(false),
        filter.encode(),
        ber::sequence(&attrs),
    ]
    .concat();
    ber::sequence(
        &[
            ber::integer(i64::from(message_id)),
            ber::application(3, true, &body),
        ]
        .concat(),
    )
}

/// The anonymous rootDSE search: base "", scope base, `(objectClass=*)`,
/// [`ROOTDSE_ATTRIBUTES`].
pub fn rootdse_request(message_id: i32) -> Vec<u8> {
    search_request(
        message_id,
        "",
        Scope::BaseObject,
        &Filter::Present("objectClass".into()),
        &ROOTDSE_ATTRIBUTES,
    )
}

/// The CLDAP "LDAP ping": base "", filter `(&(DnsDomain=..)(NtVer=..))` (DnsDomain
/// optional), attribute `Netlogon`.
pub fn netlogon_ping_request(
    message_id: i32,
    dns_domain: Option<&str>,
    nt_version: u32,
) -> Vec<u8> {
    let mut terms = Vec::new();
    if let Some(domain) = dns_domain {
        terms.push(Filter::Equality(
            "DnsDomain".into(),
            domain.as_bytes().to_vec(),
        ));
    }
    terms.push(Filter::Equality(
        "NtVer".into(),
        nt_version.to_le_bytes().to_vec(),
    ));
    search_request(
        message_id,
        "",
        Scope::BaseObject,
        &Filter::And(terms),
        &["Netlogon"],
    )
}

/// How many bytes the LDAP message at the start of `prefix` occupies, once the prefix
/// holds its BER header; `None` while more bytes are needed.
///
/// `None` is also returned for a prefix that can never start an LDAP message (not a
/// SEQUENCE, indefinite length); use [`ldap_message_len_checked`] to tell the two apart.
pub fn ldap_message_len(prefix: &[u8]) -> Option<usize> {
    ldap_message_len_checked(prefix).ok().flatten()
}

/// Like [`ldap_message_len`] but reports a header that can never be valid as an error.
pub fn ldap_message_len_checked(prefix: &[u8]) -> Result<Option<usize>, WireError> {
    match prefix.first() {
        None => Ok(None),
        Some(0x30) => ber::element_len(prefix),
        Some(b) => Err(WireError::Unexpected {
            what: "LDAPMessage",
            got: format!("first octet {b:#04x}"),
        }),
    }
}

/// An LDAP result code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResultCode(pub i64);

impl ResultCode {
    /// success (0).
    pub const SUCCESS: ResultCode = ResultCode(0);

    /// The RFC 4511 name, e.g. `noSuchObject`.
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "success",
            1 => "operationsError",
            2 => "protocolError",
            3 => "timeLimitExceeded",
            4 => "sizeLimitExceeded",
            5 => "compareFalse",
            6 => "compareTrue",
            7 => "authMethodNotSupported",
            8 => "strongerAuthRequired",
            10 => "referral",
            11 => "adminLimitExceeded",
            12 => "unavailableCriticalExtension",
            13 => "confidentialityRequired",
            14 => "saslBindInProgress",
            16 => "noSuchAttribute",
            17 => "undefinedAttributeType",
            18 => "inappropriateMatching",
            19 => "constraintViolation",
            20 => "attributeOrValueExists",
            21 => "invalidAttributeSyntax",
            32 => "noSuchObject",
            33 => "aliasProblem",
            34 => "invalidDNSyntax",
            36 => "aliasDereferencingProblem",
            48 => "inappropriateAuthentication",
            49 => "invalidCredentials",
            50 => "insufficientAccessRights",
            51 => "busy",
            52 => "unavailable",
            53 => "unwillingToPerform",
            54 => "loopDetect",
            64 => "namingViolation",
            65 => "objectClassViolation",
            66 => "notAllowedOnNonLeaf",
            67 => "notAllowedOnRDN",
            68 => "entryAlreadyExists",
            69 => "objectClassModsProhibited",
            71 => "affectsMultipleDSAs",
            80 => "other",
            _ => "unknown",
        }
    }
}

impl fmt::Display for ResultCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// LDAPResult.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapResult {
    /// resultCode.
    pub code: ResultCode,
    /// matchedDN.
    pub matched_dn: String,
    /// diagnosticMessage (AD puts a Win32 error and text here).
    pub diagnostic: String,
    /// Referral URIs, if any.
    pub referrals: Vec<String>,
}

/// One attribute of an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Attribute description.
    pub name: String,
    /// Raw values.
    pub values: Vec<Vec<u8>>,
}

impl Attribute {
    /// Values as text (UTF-8, invalid sequences replaced).
    pub fn texts(&self) -> Vec<String> {
        self.values
            .iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    }
}

/// SearchResultEntry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchEntry {
    /// objectName (DN; empty for the rootDSE).
    pub object_name: String,
    /// Attributes in the order sent.
    pub attributes: Vec<Attribute>,
}

impl SearchEntry {
    /// The attribute named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The first value of `name`, as text.
    pub fn first_text(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(|a| a.values.first())
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }
}

/// The protocolOp of a message sent by a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtocolOp {
    /// BindResponse.
    BindResponse(LdapResult),
    /// SearchResultEntry.
    SearchResultEntry(SearchEntry),
    /// SearchResultDone.
    SearchResultDone(LdapResult),
    /// SearchResultReference URIs.
    SearchResultReference(Vec<String>),
    /// ExtendedResponse (e.g. the unsolicited Notice of Disconnection).
    ExtendedResponse {
        /// The result.
        result: LdapResult,
        /// responseName OID, if present.
        name: Option<String>,
    },
    /// SearchRequest (only decoded to read the probe's own requests back).
    SearchRequest {
        /// baseObject.
        base: String,
        /// Requested attributes.
        attributes: Vec<String>,
    },
    /// Any other operation: its application tag number.
    Other {
        /// Application tag number.
        tag: u32,
    },
}

/// One LDAPMessage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapMessage {
    /// messageID.
    pub id: i64,
    /// protocolOp.
    pub op: ProtocolOp,
}

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

fn read_uris(b: &mut Ber<'_>) -> Result<Vec<String>, WireError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let uri = b.octet_string("LDAP URI")?;
        if out.len() < MAX_REFERRALS {
            out.push(text(uri));
        }
    }
    Ok(out)
}

fn read_result(b: &mut Ber<'_>) -> Result<LdapResult, WireError> {
    let code = ResultCode(b.enumerated("LDAP resultCode")?);
    let matched_dn = text(b.octet_string("LDAP matchedDN")?);
    let diagnostic = text(b.octet_string("LDAP diagnosticMessage")?);
    let referrals = match b.optional(Tag::context(3, true))? {
        Some(tlv) => read_uris(&mut tlv.contents()?)?,
        None => Vec::new(),
    };
    Ok(LdapResult {
        code,
        matched_dn,
        diagnostic,
        referrals,
    })
}

fn read_entry(b: &mut Ber<'_>) -> Result<SearchEntry, WireError> {
    let object_name = text(b.octet_string("LDAP objectName")?);
    let mut list = b.sequence("LDAP attribute list")?;
    let mut attributes = Vec::new();
    while !list.is_empty() {
        check_cap("LDAP attributes", attributes.len() + 1, MAX_ATTRIBUTES)?;
        let mut pa = list.sequence("LDAP attribute")?;
        let name = text(pa.octet_string("LDAP attribute type")?);
        let mut vals = pa.expect(Tag::SET, "LDAP attribute values")?.contents()?;
        let mut values = Vec::new();
        while !vals.is_empty() {
            check_cap("LDAP attribute values", values.len() + 1, MAX_VALUES)?;
            values.push(vals.octet_string("LDAP attribute value")?.to_vec());
        }
        attributes.push(Attribute { name, values });
    }
    Ok(SearchEntry {
        object_name,
        attributes,
    })
}

fn read_search_request(b: &mut Ber<'_>) -> Result<ProtocolOp, WireError> {
    let base = text(b.octet_string("LDAP baseObject")?);
    b.enumerated("LDAP scope")?;
    b.enumerated("LDAP derefAliases")?;
    b.integer("LDAP sizeLimit")?;
    b.integer("LDAP timeLimit")?;
    b.boolean("LDAP typesOnly")?;
    let filter = b.read()?;
    if filter.tag.class != Class::Context {
        return Err(WireError::Unexpected {
            what: "LDAP filter",
            got: filter.tag.to_string(),
        });
    }
    let mut attrs = b.sequence("LDAP attribute selection")?;
    let mut attributes = Vec::new();
    while !attrs.is_empty() {
        check_cap("LDAP attributes", attributes.len() + 1, MAX_ATTRIBUTES)?;
        attributes.push(text(attrs.octet_string("LDAP attribute selector")?));
    }
    Ok(ProtocolOp::SearchRequest { base, attributes })
}

/// Decodes the LDAPMessage at the start of `buf`; returns it and the bytes it used.
pub fn decode_message(buf: &[u8]) -> Result<(LdapMessage, usize), WireError> {
    let mut top = Ber::new(buf);
    let seq = top.expect(Tag::SEQUENCE, "LDAPMessage")?;
    let used = top.position();
    let mut m = seq.contents()?;
    let id = m.integer("LDAP messageID")?;
    let op = m.read()?;
    if op.tag.class != Class::Application || !op.tag.constructed {
        return Err(WireError::Unexpected {
            what: "LDAP protocolOp",
            got: op.tag.to_string(),
        });
    }
    let mut body = op.contents()?;
    let op = match op.tag.number {
        1 => ProtocolOp::BindResponse(read_result(&mut body)?),
        3 => read_search_request(&mut body)?,
        4 => ProtocolOp::SearchResultEntry(read_entry(&mut body)?),
        5 => ProtocolOp::SearchResultDone(read_result(&mut body)?),
        19 => ProtocolOp::SearchResultReference(read_uris(&mut body)?),
        24 => {
            let result = read_result(&mut body)?;
            let name = body
                .optional(Tag::context(10, false))?
                .map(|t| text(t.value));
            ProtocolOp::ExtendedResponse { result, name }
        }
        tag => ProtocolOp::Other { tag },
    };
    Ok((LdapMessage { id, op }, used))
}

/// Decodes every LDAPMessage in `buf` (a CLDAP datagram, or bytes read from TCP).
pub fn decode_messages(buf: &[u8]) -> Result<Vec<LdapMessage>, WireError> {
    let mut out = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        check_cap("LDAP messages", out.len() + 1, MAX_MESSAGES)?;
        let (msg, used) = decode_message(rest)?;
        out.push(msg);
        rest = rest.get(used..).unwrap_or_default();
    }
    Ok(out)
}

/// The replies to one search: entries and references, then the SearchResultDone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchReply {
    /// messageID of the Done message.
    pub id: i64,
    /// SearchResultEntry messages.
    pub entries: Vec<SearchEntry>,
    /// SearchResultReference URIs.
    pub references: Vec<String>,
    /// The SearchResultDone result.
    pub done: LdapResult,
}

/// Decodes a complete search reply; the last message must be SearchResultDone.
///
/// A Notice of Disconnection or other result-carrying message instead of Done is
/// reported as [`WireError::Unexpected`] with its result code.
pub fn decode_search_reply(buf: &[u8]) -> Result<SearchReply, WireError> {
    let mut entries = Vec::new();
    let mut references = Vec::new();
    for msg in decode_messages(buf)? {
        match msg.op {
            ProtocolOp::SearchResultEntry(e) => entries.push(e),
            ProtocolOp::SearchResultReference(r) => references.extend(r),
            ProtocolOp::SearchResultDone(done) => {
                return Ok(SearchReply {
                    id: msg.id,
                    entries,
                    references,
                    done,
                });
            }
            ProtocolOp::ExtendedResponse { result, .. } | ProtocolOp::BindResponse(result) => {
                return Err(WireError::Unexpected {
                    what: "SearchResultDone",
                    got: format!("{} {}", result.code, result.diagnostic),
                });
            }
            other => {
                return Err(WireError::Unexpected {
                    what: "search result",
                    got: format!("{other:?}"),
                });
            }
        }
    }
    Err(WireError::Truncated {
        what: "LDAP SearchResultDone",
        needed: 1,
        available: 0,
    })
}

/// The rootDSE attributes portq shows as evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootDse {
    /// defaultNamingContext.
    pub default_naming_context: Option<String>,
    /// rootDomainNamingContext.
    pub root_domain_naming_context: Option<String>,
    /// dnsHostName.
    pub dns_host_name: Option<String>,
    /// namingContexts values (every directory has them; AD also has defaultNamingContext).
    pub naming_contexts: Vec<String>,
    /// vendorName (RFC 3045; OpenLDAP, 389 DS and others set it, AD does not).
    pub vendor_name: Option<String>,
    /// vendorVersion (RFC 3045).
    pub vendor_version: Option<String>,
    /// ldapServiceName.
    pub ldap_service_name: Option<String>,
    /// serverName.
    pub server_name: Option<String>,
    /// supportedLDAPVersion values.
    pub supported_ldap_versions: Vec<String>,
    /// domainFunctionality.
    pub domain_functionality: Option<String>,
    /// isGlobalCatalogReady.
    pub is_global_catalog_ready: Option<bool>,
    /// currentTime (GeneralizedTime text).
    pub current_time: Option<String>,
}

impl RootDse {
    /// Picks the known attributes out of a rootDSE entry.
    pub fn from_entry(e: &SearchEntry) -> RootDse {
        RootDse {
            default_naming_context: e.first_text("defaultNamingContext"),
            root_domain_naming_context: e.first_text("rootDomainNamingContext"),
            dns_host_name: e.first_text("dnsHostName"),
            naming_contexts: e
                .get("namingContexts")
                .map(Attribute::texts)
                .unwrap_or_default(),
            vendor_name: e.first_text("vendorName"),
            vendor_version: e.first_text("vendorVersion"),
            ldap_service_name: e.first_text("ldapServiceName"),
            server_name: e.first_text("serverName"),
            supported_ldap_versions: e
                .get("supportedLDAPVersion")
                .map(Attribute::texts)
                .unwrap_or_default(),
            domain_functionality: e.first_text("domainFunctionality"),
            is_global_catalog_ready: e
                .first_text("isGlobalCatalogReady")
                .map(|v| v.eq_ignore_ascii_case("TRUE")),
            current_time: e.first_text("currentTime"),
        }
    }

    /// Evidence line, e.g. `dc1.example.test, DC=example,DC=test, LDAP 3,2, GC ready`.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(h) = &self.dns_host_name {
            parts.push(h.clone());
        }
        if let Some(nc) = &self.default_naming_context {
            parts.push(nc.clone());
        }
        if !self.supported_ldap_versions.is_empty() {
            parts.push(format!("LDAP {}", self.supported_ldap_versions.join(",")));
        }
        if let Some(f) = &self.domain_functionality {
            parts.push(format!("domain functionality {f}"));
        }
        match self.is_global_catalog_ready {
            Some(true) => parts.push("GC ready".into()),
            Some(false) => parts.push("GC not ready".into()),
            None => {}
        }
        if let Some(t) = &self.current_time {
            parts.push(format!("time {t}"));
        }
        parts.join(", ")
    }
}

/// Decodes the reply to [`rootdse_request`] (entry then done).
pub fn decode_rootdse_reply(buf: &[u8]) -> Result<RootDse, WireError> {
    let reply = decode_search_reply(buf)?;
    match reply.entries.first() {
        Some(e) => Ok(RootDse::from_entry(e)),
        None => Err(WireError::Unexpected {
            what: "rootDSE entry",
            got: format!("none, result {}", reply.done.code),
        }),
    }
}

/// Netlogon response opcodes ([MS-ADTS] 6.3.1.4).
pub mod opcode {
    /// LOGON_SAM_LOGON_RESPONSE (NtVer V5 without V5EX).
    pub const LOGON_SAM_LOGON_RESPONSE: u16 = 19;
    /// LOGON_SAM_PAUSE_RESPONSE.
    pub const LOGON_SAM_PAUSE_RESPONSE: u16 = 20;
    /// LOGON_SAM_USER_UNKNOWN.
    pub const LOGON_SAM_USER_UNKNOWN: u16 = 21;
    /// LOGON_SAM_LOGON_RESPONSE_EX.
    pub const LOGON_SAM_LOGON_RESPONSE_EX: u16 = 23;
    /// LOGON_SAM_PAUSE_RESPONSE_EX.
    pub const LOGON_SAM_PAUSE_RESPONSE_EX: u16 = 24;
    /// LOGON_SAM_USER_UNKNOWN_EX.
    pub const LOGON_SAM_USER_UNKNOWN_EX: u16 = 25;
}

/// DS_*_FLAG bits of the netlogon Flags field and their names.
pub const DS_FLAGS: [(u32, &str); 21] = [
    (0x0000_0001, "PDC"),
    (0x0000_0004, "GC"),
    (0x0000_0008, "LDAP"),
    (0x0000_0010, "DS"),
    (0x0000_0020, "KDC"),
    (0x0000_0040, "TIMESERV"),
    (0x0000_0080, "CLOSEST"),
    (0x0000_0100, "WRITABLE"),
    (0x0000_0200, "GOOD_TIMESERV"),
    (0x0000_0400, "NDNC"),
    (0x0000_0800, "SELECT_SECRET_DOMAIN_6"),
    (0x0000_1000, "FULL_SECRET_DOMAIN_6"),
    (0x0000_2000, "WS"),
    (0x0000_4000, "DS_8"),
    (0x0000_8000, "DS_9"),
    (0x0001_0000, "DS_10"),
    (0x0002_0000, "KEY_LIST"),
    (0x0004_0000, "DS_13"),
    (0x2000_0000, "DNS_CONTROLLER"),
    (0x4000_0000, "DNS_DOMAIN"),
    (0x8000_0000, "DNS_FOREST"),
];

/// A decoded NETLOGON_SAM_LOGON_RESPONSE_EX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetlogonResponse {
    /// Opcode (23 normal, 24 paused, 25 user unknown).
    pub opcode: u16,
    /// DS_*_FLAG bits.
    pub flags: u32,
    /// Domain GUID.
    pub domain_guid: Uuid,
    /// DnsForestName.
    pub dns_forest_name: String,
    /// DnsDomainName.
    pub dns_domain_name: String,
    /// DnsHostName.
    pub dns_host_name: String,
    /// NetbiosDomainName.
    pub netbios_domain_name: String,
    /// NetbiosComputerName.
    pub netbios_computer_name: String,
    /// UserName (empty unless the ping named a user).
    pub user_name: String,
    /// DcSiteName.
    pub dc_site_name: String,
    /// ClientSiteName.
    pub client_site_name: String,
    /// DcSockAddr, when the request's NtVer had 5EX_WITH_IP.
    pub dc_sock_addr: Option<SocketAddrV4>,
    /// NextClosestSiteName, when the request's NtVer had WITH_CLOSEST_SITE.
    pub next_closest_site_name: Option<String>,
    /// NtVersion of the response.
    pub nt_version: u32,
    /// LmNtToken (0xFFFF).
    pub lm_nt_token: u16,
    /// Lm20Token (0xFFFF).
    pub lm20_token: u16,
}

impl NetlogonResponse {
    /// Name of the opcode.
    pub fn opcode_name(&self) -> &'static str {
        match self.opcode {
            opcode::LOGON_SAM_LOGON_RESPONSE_EX => "LOGON_SAM_LOGON_RESPONSE_EX",
            opcode::LOGON_SAM_PAUSE_RESPONSE_EX => "LOGON_SAM_PAUSE_RESPONSE_EX",
            opcode::LOGON_SAM_USER_UNKNOWN_EX => "LOGON_SAM_USER_UNKNOWN_EX",
            _ => "UNKNOWN",
        }
    }

    /// Names of the DS_*_FLAG bits set.
    pub fn flag_names(&self) -> Vec<&'static str> {
        DS_FLAGS
            .iter()
            .filter(|(bit, _)| self.flags & bit != 0)
            .map(|(_, n)| *n)
            .collect()
    }

    /// Evidence line, e.g.
    /// `dc1.example.test (EXAMPLE\DC1) domain example.test forest example.test, site
    /// Default-First-Site-Name, flags PDC|GC|...`.
    pub fn summary(&self) -> String {
        format!(
            "{} ({}\\{}) domain {} forest {}, site {}, flags {}",
            self.dns_host_name,
            self.netbios_domain_name,
            self.netbios_computer_name,
            self.dns_domain_name,
            self.dns_forest_name,
            self.dc_site_name,
            self.flag_names().join("|")
        )
    }
}

/// Decodes the value of the `Netlogon` attribute returned for a ping with NtVer
/// `requested_nt_version` (which decides whether the optional fields are present).
/// Bytes after Lm20Token are ignored.
pub fn decode_netlogon(
    blob: &[u8],
    requested_nt_version: u32,
) -> Result<NetlogonResponse, WireError> {
    let mut r = Reader::new(blob);
    let op = r.u16_le("netlogon opcode")?;
    if !matches!(
        op,
        opcode::LOGON_SAM_LOGON_RESPONSE_EX
            | opcode::LOGON_SAM_PAUSE_RESPONSE_EX
            | opcode::LOGON_SAM_USER_UNKNOWN_EX
    ) {
        return Err(WireError::Unexpected {
            what: "NETLOGON_SAM_LOGON_RESPONSE_EX",
            got: format!("opcode {op}"),
        });
    }
    r.skip(2, "netlogon Sbz")?;
    let flags = r.u32_le("netlogon flags")?;
    let domain_guid = Uuid::from_bytes_le(r.array::<16>("netlogon domain GUID")?);
    let mut name = || dns::read_name_at(blob, &mut r);
    let dns_forest_name = name()?;
    let dns_domain_name = name()?;
    let dns_host_name = name()?;
    let netbios_domain_name = name()?;
    let netbios_computer_name = name()?;
    let user_name = name()?;
    let dc_site_name = name()?;
    let client_site_name = name()?;
    // DcSockAddrSize + DcSockAddr and NextClosestSiteName are present only when the
    // request's NtVer asked for them; the response's own NtVersion does not say.
    let mut dc_sock_addr = None;
    if requested_nt_version & NETLOGON_NT_VERSION_5EX_WITH_IP != 0 {
        let size = usize::from(r.u8("netlogon DcSockAddrSize")?);
        let mut sa = Reader::new(r.take(size, "netlogon DcSockAddr")?);
        let family = sa.u16_le("sockaddr family")?;
        let port = sa.u16_be("sockaddr port")?;
        let addr = Ipv4Addr::from(sa.array::<4>("sockaddr address")?);
        if family == 2 {
            dc_sock_addr = Some(SocketAddrV4::new(addr, port));
        }
    }
    // NextClosestSiteName may still be left out (Samba does, and clears the flag in its
    // NtVersion): the fixed tail after it is 8 bytes, so a name is there only if more remain.
    const TAIL_LEN: usize = 4 + 2 + 2;
    let asked_site = requested_nt_version & NETLOGON_NT_VERSION_WITH_CLOSEST_SITE != 0;
    let mut next_closest_site_name = None;
    if asked_site && r.remaining() > TAIL_LEN {
        next_closest_site_name = Some(dns::read_name_at(blob, &mut r)?);
    }
    let nt_version = r.u32_le("netlogon NtVersion")?;
    let lm_nt_token = r.u16_le("netlogon LmNtToken")?;
    let lm20_token = r.u16_le("netlogon Lm20Token")?;
    // A name left out must still end in the tokens [MS-ADTS] fixes at 0xFFFF; otherwise
    // the bytes were a cut-off name, not a tail.
    if asked_site
        && next_closest_site_name.is_none()
        && (lm_nt_token, lm20_token) != (0xFFFF, 0xFFFF)
    {
        return Err(WireError::Truncated {
            what: "netlogon NextClosestSiteName",
            needed: TAIL_LEN + 1,
            available: TAIL_LEN,
        });
    }
    Ok(NetlogonResponse {
        opcode: op,
        flags,
        domain_guid,
        dns_forest_name,
        dns_domain_name,
        dns_host_name,
        netbios_domain_name,
        netbios_computer_name,
        user_name,
        dc_site_name,
        client_site_name,
        dc_sock_addr,
        next_closest_site_name,
        nt_version,
        lm_nt_token,
        lm20_token,
    })
}

/// Decodes a CLDAP datagram answering [`netlogon_ping_request`] sent with NtVer
/// `requested_nt_version`: a SearchResultEntry with the `Netlogon` attribute, then
/// SearchResultDone.
pub fn decode_netlogon_ping_reply(
    datagram: &[u8],
    requested_nt_version: u32,
) -> Result<NetlogonResponse, WireError> {
    let reply = decode_search_reply(datagram)?;
    let value = reply
        .entries
        .iter()
        .filter_map(|e| e.get("Netlogon"))
        .find_map(|a| a.values.first());
    match value {
        Some(blob) => decode_netlogon(blob, requested_nt_version),
        None => Err(WireError::Unexpected {
            what: "Netlogon attribute",
            got: format!("none, result {} {}", reply.done.code, reply.done.diagnostic),
        }),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn samba_omits_next_closest_site_name() {
        // A real Samba reply to NtVer 5 | 5EX | 5EX_WITH_IP | WITH_CLOSEST_SITE (fuzz seed):
        // no NextClosestSiteName, and 0x10 cleared in the reply's NtVersion.
        let blob = include_bytes!("../../../fuzz/corpus/seed_ldap_netlogon/samba_netlogon_ip_site");
        let nt = PROBE_NT_VERSION
            | NETLOGON_NT_VERSION_5EX_WITH_IP
            | NETLOGON_NT_VERSION_WITH_CLOSEST_SITE;
        let r = decode_netlogon(blob, nt).unwrap();
        assert_eq!((r.next_closest_site_name, r.nt_version), (None, 0x0d));
        assert!(r.dc_sock_addr.is_some());
    }

    use super::*;
    use proptest::prelude::*;

    /// NETLOGON_SAM_LOGON_RESPONSE_EX for DC1 in EXAMPLE.TEST, as Samba sends it.
    fn netlogon_blob() -> Vec<u8> {
        let mut b = vec![
            0x17, 0x00, // opcode 23 LOGON_SAM_LOGON_RESPONSE_EX
            0x00, 0x00, // Sbz
            0xFD, 0xF3, 0x01, 0x00, // flags 0x0001F3FD
        ];
        b.extend_from_slice(&[
            0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE, // DomainGuid (LE parts)
            0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF,
        ]);
        b.extend_from_slice(b"\x07example\x04test\x00"); // 24: DnsForestName
        b.extend_from_slice(&[0xC0, 0x18]); // 38: DnsDomainName -> 24
        b.extend_from_slice(b"\x03dc1\xC0\x18"); // 40: DnsHostName dc1 + -> 24
        b.extend_from_slice(b"\x07EXAMPLE\x00"); // 46: NetbiosDomainName
        b.extend_from_slice(b"\x03DC1\x00"); // 55: NetbiosComputerName
        b.push(0x00); // 60: UserName (empty)
        b.extend_from_slice(b"\x17Default-First-Site-Name\x00"); // 61: DcSiteName
        b.extend_from_slice(&[0xC0, 0x3D]); // 86: ClientSiteName -> 61
        b.extend_from_slice(&[0x05, 0x00, 0x00, 0x00]); // 88: NtVersion V1 | V5EX
        b.extend_from_slice(&[0xFF, 0xFF]); // LmNtToken
        b.extend_from_slice(&[0xFF, 0xFF]); // Lm20Token
        assert_eq!(b.len(), 96);
        b
    }

    /// The CLDAP datagram: SearchResultEntry (short-form lengths) then a
    /// SearchResultDone in Windows' four-octet length style.
    fn cldap_reply() -> Vec<u8> {
        let mut m = vec![
            0x30, 0x79, // LDAPMessage, 121 bytes
            0x02, 0x01, 0x01, // messageID 1
            0x64, 0x74, // [APPLICATION 4] SearchResultEntry, 116 bytes
            0x04, 0x00, // objectName ""
            0x30, 0x70, // attributes, 112 bytes
            0x30, 0x6E, // PartialAttribute, 110 bytes
            0x04, 0x08, b'N', b'e', b't', b'l', b'o', b'g', b'o', b'n', // type
            0x31, 0x62, // vals SET, 98 bytes
            0x04, 0x60, // OCTET STRING, 96 bytes
        ];
        m.extend_from_slice(&netlogon_blob());
        m.extend_from_slice(&[
            0x30, 0x84, 0x00, 0x00, 0x00, 0x10, // LDAPMessage, 16 bytes
            0x02, 0x01, 0x01, // messageID 1
            0x65, 0x84, 0x00, 0x00, 0x00, 0x07, // SearchResultDone, 7 bytes
            0x0A, 0x01, 0x00, // resultCode success
            0x04, 0x00, // matchedDN
            0x04, 0x00, // diagnosticMessage
        ]);
        m
    }

    fn t(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
        let body = parts.concat();
        let mut out = vec![tag];
        ber::write_len(&mut out, body.len());
        out.extend_from_slice(&body);
        out
    }

    fn attr(name: &str, values: &[&str]) -> Vec<u8> {
        let vals: Vec<Vec<u8>> = values.iter().map(|v| t(0x04, &[v.as_bytes()])).collect();
        let refs: Vec<&[u8]> = vals.iter().map(|v| v.as_slice()).collect();
        t(0x30, &[&t(0x04, &[name.as_bytes()]), &t(0x31, &refs)])
    }

    fn rootdse_reply() -> Vec<u8> {
        let attrs = [
            attr("currentTime", &["20240101120000.0Z"]),
            attr("defaultNamingContext", &["DC=example,DC=test"]),
            attr("dnsHostName", &["dc1.example.test"]),
            attr("supportedLDAPVersion", &["3", "2"]),
            attr("domainFunctionality", &["7"]),
            attr("isGlobalCatalogReady", &["TRUE"]),
        ];
        let refs: Vec<&[u8]> = attrs.iter().map(|v| v.as_slice()).collect();
        let entry = t(
            0x30, // LDAPMessage
            &[
                &[0x02, 0x01, 0x07],                         // messageID 7
                &t(0x64, &[&[0x04, 0x00], &t(0x30, &refs)]), // SearchResultEntry
            ],
        );
        let done = t(
            0x30,
            &[
                &[0x02, 0x01, 0x07],
                &[0x65, 0x07, 0x0A, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00],
            ],
        );
        [entry, done].concat()
    }

    #[test]
    fn rootdse_request_bytes() {
        let q = rootdse_request(7);
        assert_eq!(q[0], 0x30);
        assert_eq!(ldap_message_len(&q), Some(q.len()));
        assert_eq!(q[1], 0x81); // long-form length, one octet
        assert_eq!(usize::from(q[2]) + 3, q.len());
        assert_eq!(&q[3..6], &[0x02, 0x01, 0x07]); // messageID
        assert_eq!(q[6], 0x63); // [APPLICATION 3] SearchRequest
        // baseObject "", scope base, deref never, limits 0, typesOnly false, (objectClass=*)
        let body_start = if q[7] & 0x80 != 0 {
            8 + usize::from(q[7] & 0x7F)
        } else {
            8
        };
        assert_eq!(
            &q[body_start..body_start + 30],
            &[
                0x04, 0x00, 0x0A, 0x01, 0x00, 0x0A, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00,
                0x01, 0x01, 0x00, 0x87, 0x0B, b'o', b'b', b'j', b'e', b'c', b't', b'C', b'l', b'a',
                b's', b's'
            ]
        );
        let (m, used) = decode_message(&q).unwrap();
        assert_eq!(used, q.len());
        assert_eq!(m.id, 7);
        assert_eq!(
            m.op,
            ProtocolOp::SearchRequest {
                base: String::new(),
                attributes: ROOTDSE_ATTRIBUTES.iter().map(|s| s.to_string()).collect()
            }
        );
    }

    #[test]
    fn netlogon_ping_bytes() {
        let q = netlogon_ping_request(1, Some("example.test"), PROBE_NT_VERSION);
        let f = Filter::And(vec![
            Filter::Equality("DnsDomain".into(), b"example.test".to_vec()),
            Filter::Equality("NtVer".into(), vec![6, 0, 0, 0]),
        ])
        .encode();
        assert_eq!(f[0], 0xA0); // and
        assert_eq!(f[2], 0xA3); // equalityMatch
        let tail = [
            0x04, 0x05, b'N', b't', b'V', b'e', b'r', 0x04, 0x04, 0x06, 0x00, 0x00, 0x00,
        ];
        assert!(f.ends_with(&tail));
        assert!(q.windows(f.len()).any(|w| w == f.as_slice()));
        assert!(q.ends_with(&[
            0x30, 0x0A, 0x04, 0x08, b'N', b'e', b't', b'l', b'o', b'g', b'o', b'n'
        ]));
        let (m, _) = decode_message(&q).unwrap();
        assert_eq!(
            m.op,
            ProtocolOp::SearchRequest {
                base: String::new(),
                attributes: vec!["Netlogon".into()]
            }
        );
        // NtVer only
        let q = netlogon_ping_request(2, None, PROBE_NT_VERSION);
        assert!(!q.windows(9).any(|w| w == b"DnsDomain"));
        assert!(decode_message(&q).is_ok());
        let other = Filter::Or(vec![Filter::Not(Box::new(Filter::Present("a".into())))]).encode();
        assert_eq!(other, vec![0xA1, 0x05, 0xA2, 0x03, 0x87, 0x01, b'a']);
    }

    #[test]
    fn message_len_framing() {
        let q = rootdse_request(1);
        assert_eq!(ldap_message_len(&[]), None);
        assert_eq!(ldap_message_len(&q[..1]), None);
        assert_eq!(ldap_message_len(&q[..2]), None); // long-form length needs one more
        assert_eq!(ldap_message_len(&q[..3]), Some(q.len()));
        assert_eq!(ldap_message_len(&[0x30, 0x84, 0x00, 0x00]), None);
        assert_eq!(
            ldap_message_len(&[0x30, 0x84, 0x00, 0x00, 0x01, 0x00]),
            Some(0x106)
        );
        assert!(ldap_message_len_checked(&[0x31, 0x00]).is_err());
        assert!(ldap_message_len_checked(&[0x30, 0x80]).is_err());
        assert_eq!(ldap_message_len(&[0x30, 0x80]), None);
    }

    #[test]
    fn decodes_cldap_netlogon() {
        let n = decode_netlogon_ping_reply(&cldap_reply(), PROBE_NT_VERSION).unwrap();
        assert_eq!(n.opcode, 23);
        assert_eq!(n.opcode_name(), "LOGON_SAM_LOGON_RESPONSE_EX");
        assert_eq!(n.flags, 0x0001_F3FD);
        assert_eq!(
            n.flag_names(),
            vec![
                "PDC",
                "GC",
                "LDAP",
                "DS",
                "KDC",
                "TIMESERV",
                "CLOSEST",
                "WRITABLE",
                "GOOD_TIMESERV",
                "FULL_SECRET_DOMAIN_6",
                "WS",
                "DS_8",
                "DS_9",
                "DS_10"
            ]
        );
        assert_eq!(
            n.domain_guid,
            Uuid::parse_str("76543210-ba98-fedc-0123-456789abcdef").unwrap()
        );
        assert_eq!(n.dns_forest_name, "example.test");
        assert_eq!(n.dns_domain_name, "example.test");
        assert_eq!(n.dns_host_name, "dc1.example.test");
        assert_eq!(n.netbios_domain_name, "EXAMPLE");
        assert_eq!(n.netbios_computer_name, "DC1");
        assert_eq!(n.user_name, "");
        assert_eq!(n.dc_site_name, "Default-First-Site-Name");
        assert_eq!(n.client_site_name, "Default-First-Site-Name");
        assert_eq!(n.dc_sock_addr, None);
        assert_eq!(n.next_closest_site_name, None);
        assert_eq!(n.nt_version, 5);
        assert_eq!((n.lm_nt_token, n.lm20_token), (0xFFFF, 0xFFFF));
        assert!(n.summary().starts_with(
            "dc1.example.test (EXAMPLE\\DC1) domain example.test forest example.test, site Default-First-Site-Name, flags PDC|GC"
        ));
    }

    #[test]
    fn netlogon_with_ip_and_closest_site() {
        let mut b = netlogon_blob();
        b.truncate(88);
        b.push(16); // DcSockAddrSize
        b.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, 192, 0, 2, 10]); // AF_INET, port 0, addr
        b.extend_from_slice(&[0; 8]); // sin_zero
        b.extend_from_slice(&[0xC0, 0x3D]); // NextClosestSiteName -> 61
        b.extend_from_slice(&[0x1D, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF]); // V1|5EX|IP|SITE
        let requested = PROBE_NT_VERSION | 0x18;
        let n = decode_netlogon(&b, requested).unwrap();
        assert_eq!(
            n.dc_sock_addr,
            Some(SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 10), 0))
        );
        assert_eq!(
            n.next_closest_site_name.as_deref(),
            Some("Default-First-Site-Name")
        );
        for i in 0..b.len() {
            assert!(decode_netlogon(&b[..i], requested).is_err(), "prefix {i}");
        }
    }

    #[test]
    fn netlogon_hostile() {
        let mut b = netlogon_blob();
        b[39] = 0x30; // DnsDomainName pointer forward, to offset 48
        assert!(decode_netlogon(&b, PROBE_NT_VERSION).is_err());
        let mut b = netlogon_blob();
        b[0] = 19; // old-style response
        assert!(matches!(
            decode_netlogon(&b, PROBE_NT_VERSION),
            Err(WireError::Unexpected { .. })
        ));
        // a pointer loop in a netlogon blob
        let mut b = netlogon_blob()[..24].to_vec();
        b.extend_from_slice(&[0xC0, 0x18]);
        b.extend_from_slice(&[0; 8]);
        assert!(decode_netlogon(&b, PROBE_NT_VERSION).is_err());
    }

    #[test]
    fn truncation_at_every_offset_is_an_error() {
        let m = cldap_reply();
        for i in 0..m.len() {
            assert!(
                decode_netlogon_ping_reply(&m[..i], PROBE_NT_VERSION).is_err(),
                "prefix {i}"
            );
        }
        let b = netlogon_blob();
        for i in 0..b.len() {
            assert!(
                decode_netlogon(&b[..i], PROBE_NT_VERSION).is_err(),
                "blob prefix {i}"
            );
        }
        let r = rootdse_reply();
        for i in 0..r.len() {
            assert!(decode_rootdse_reply(&r[..i]).is_err(), "rootDSE prefix {i}");
        }
    }

    #[test]
    fn decodes_rootdse() {
        let d = decode_rootdse_reply(&rootdse_reply()).unwrap();
        assert_eq!(
            d.default_naming_context.as_deref(),
            Some("DC=example,DC=test")
        );
        assert_eq!(d.dns_host_name.as_deref(), Some("dc1.example.test"));
        assert_eq!(d.supported_ldap_versions, vec!["3", "2"]);
        assert_eq!(d.domain_functionality.as_deref(), Some("7"));
        assert_eq!(d.is_global_catalog_ready, Some(true));
        assert_eq!(d.current_time.as_deref(), Some("20240101120000.0Z"));
        assert_eq!(
            d.summary(),
            "dc1.example.test, DC=example,DC=test, LDAP 3,2, domain functionality 7, GC ready, time 20240101120000.0Z"
        );
        let msgs = decode_messages(&rootdse_reply()).unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[1].id, 7);
    }

    #[test]
    fn search_done_errors_and_notice_of_disconnection() {
        // SearchResultDone: noSuchObject with matchedDN and message
        let done = [
            0x30, 0x1A, // LDAPMessage
            0x02, 0x01, 0x02, // messageID 2
            0x65, 0x15, // SearchResultDone
            0x0A, 0x01, 0x20, // resultCode 32 noSuchObject
            0x04, 0x04, b'D', b'C', b'=', b'x', // matchedDN
            0x04, 0x0A, b'0', b'0', b'0', b'0', b'2', b'0', b'8', b'D', b':', b' ', // diag
        ];
        let r = decode_search_reply(&done).unwrap();
        assert!(r.entries.is_empty());
        assert_eq!(r.done.code, ResultCode(32));
        assert_eq!(r.done.code.to_string(), "noSuchObject (32)");
        assert_eq!(r.done.matched_dn, "DC=x");
        // Notice of Disconnection: ExtendedResponse, messageID 0, unavailable, responseName
        let notice = [
            0x30, 0x24, // LDAPMessage
            0x02, 0x01, 0x00, // messageID 0
            0x78, 0x1F, // [APPLICATION 24] ExtendedResponse
            0x0A, 0x01, 0x34, // resultCode 52 unavailable
            0x04, 0x00, // matchedDN
            0x04, 0x00, // diagnosticMessage
            0x8A, 0x16, // [10] responseName 1.3.6.1.4.1.1466.20036
            b'1', b'.', b'3', b'.', b'6', b'.', b'1', b'.', b'4', b'.', b'1', b'.', b'1', b'4',
            b'6', b'6', b'.', b'2', b'0', b'0', b'3', b'6',
        ];
        let (m, _) = decode_message(&notice).unwrap();
        assert_eq!(
            m.op,
            ProtocolOp::ExtendedResponse {
                result: LdapResult {
                    code: ResultCode(52),
                    matched_dn: String::new(),
                    diagnostic: String::new(),
                    referrals: vec![]
                },
                name: Some("1.3.6.1.4.1.1466.20036".into())
            }
        );
        assert!(matches!(
            decode_search_reply(&notice),
            Err(WireError::Unexpected { .. })
        ));
        // entry without done
        let full = cldap_reply();
        assert!(decode_netlogon_ping_reply(&full[..123], PROBE_NT_VERSION).is_err());
    }

    #[test]
    fn caps_apply() {
        // an entry with more attributes than allowed
        let many: Vec<Vec<u8>> = (0..MAX_ATTRIBUTES + 1).map(|_| attr("a", &["b"])).collect();
        let refs: Vec<&[u8]> = many.iter().map(|v| v.as_slice()).collect();
        let m = t(
            0x30,
            &[
                &[0x02, 0x01, 0x01],
                &t(0x64, &[&[0x04, 0x00], &t(0x30, &refs)]),
            ],
        );
        assert!(matches!(
            decode_message(&m),
            Err(WireError::TooLarge { .. })
        ));
    }

    proptest! {
        #[test]
        fn decoders_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_messages(&buf);
            let _ = decode_netlogon(&buf, PROBE_NT_VERSION);
            let _ = decode_netlogon(&buf, 0x1E);
            let _ = decode_netlogon_ping_reply(&buf, PROBE_NT_VERSION);
            let _ = ldap_message_len(&buf);
        }

        #[test]
        fn mutated_netlogon_never_panics(pos in 0usize..96, val in any::<u8>()) {
            let mut b = netlogon_blob();
            b[pos] = val;
            let _ = decode_netlogon(&b, PROBE_NT_VERSION);
        }

        #[test]
        fn search_request_round_trip(id in 0i32..i32::MAX, base in "[a-zA-Z=,]{0,40}", attrs in proptest::collection::vec("[a-zA-Z]{1,20}", 0..10)) {
            let refs: Vec<&str> = attrs.iter().map(String::as_str).collect();
            let q = search_request(id, &base, Scope::WholeSubtree, &Filter::Present("cn".into()), &refs);
            prop_assert_eq!(ldap_message_len(&q), Some(q.len()));
            let (m, used) = decode_message(&q).unwrap();
            prop_assert_eq!(used, q.len());
            prop_assert_eq!(m.id, i64::from(id));
            prop_assert_eq!(m.op, ProtocolOp::SearchRequest { base, attributes: attrs });
        }
    }
}
