//! The build's data-file validation (`src/datafile.rs`, included as `build.rs` includes
//! it): the real files pass, and each rule about sources, disagreements and role options
//! rejects a file that breaks it.

#[allow(dead_code)]
#[path = "../src/datafile.rs"]
mod datafile;

use datafile::{Errors, Sources, parse_all};

const SERVICES: &str = include_str!("../data/services.toml");
const REQUIREMENTS: &str = include_str!("../data/requirements.csv");
const ROLES: &str = include_str!("../data/roles.toml");
const RPC_INTERFACES: &str = include_str!("../data/rpc-interfaces.csv");
const RPC_SERVICES: &str = include_str!("../data/rpc-services.csv");
const DOCUMENTS: &str = include_str!("../data/documents.toml");

/// Validates the real files with some of them replaced (the IANA table is left empty).
fn errors(requirements: &str, roles: &str, documents: &str) -> Errors {
    parse_all(&Sources {
        services: SERVICES,
        requirements,
        roles,
        rpc_interfaces: RPC_INTERFACES,
        rpc_services: RPC_SERVICES,
        iana: "service_name,port,protocol,description\n",
        documents,
    })
    .1
}

fn has(errors: &Errors, needle: &str) -> bool {
    errors.iter().any(|e| e.contains(needle))
}

#[test]
fn the_real_files_are_valid() {
    let e = errors(REQUIREMENTS, ROLES, DOCUMENTS);
    assert!(e.is_empty(), "{e:?}");
}

#[test]
fn a_row_without_a_source_is_rejected() {
    let bad = REQUIREMENTS.replace(
        "sshd,22,TCP,SSH,,rule OpenSSH-Server-In-TCP is created and enabled at install,,openssh-install#install=OpenSSH Server,",
        "sshd,22,TCP,SSH,,rule OpenSSH-Server-In-TCP is created and enabled at install,,,",
    );
    assert_ne!(bad, REQUIREMENTS, "the test row exists");
    let e = errors(&bad, ROLES, DOCUMENTS);
    assert!(has(&e, "every row needs a source"), "{e:?}");
    // ... and the document it was the only citation of is now cited by nothing.
    assert!(
        has(&e, "document openssh-install is cited by no row"),
        "{e:?}"
    );
}

#[test]
fn unknown_documents_and_sections_are_rejected() {
    let bad = REQUIREMENTS.replace("openssh-install#install=", "openssh-install#nowhere=");
    assert!(has(
        &errors(&bad, ROLES, DOCUMENTS),
        "has no section \"nowhere\""
    ));
    let bad = REQUIREMENTS.replace("openssh-install#install=", "no-such-doc#install=");
    assert!(has(
        &errors(&bad, ROLES, DOCUMENTS),
        "unknown document \"no-such-doc\""
    ));
}

#[test]
fn a_document_needs_a_real_date_or_a_reason() {
    let bad = DOCUMENTS.replace("date = \"2026-02-12\"", "date = \"2026-02-30\"");
    assert!(has(&errors(REQUIREMENTS, ROLES, &bad), "is not YYYY-MM-DD"));
    let bad = DOCUMENTS.replace("date_note = \"the stored copy carries no ms.date\"\n", "");
    assert!(has(
        &errors(REQUIREMENTS, ROLES, &bad),
        "needs a date, or a date_note"
    ));
}

#[test]
fn a_disagreement_keeps_one_current_and_one_superseded_fact() {
    let bad = REQUIREMENTS.replace("cluster-137:superseded", "cluster-137:current");
    assert!(has(
        &errors(&bad, ROLES, DOCUMENTS),
        "disagreement cluster-137 needs one current row and at least one superseded row (has 2 and 0)"
    ));
    let bad = REQUIREMENTS.replace("cluster-137:superseded", "cluster-137:maybe");
    assert!(has(
        &errors(&bad, ROLES, DOCUMENTS),
        "must end in :current or :superseded"
    ));
}

#[test]
fn every_role_option_switches_existing_rows_on() {
    // An option no requirement uses.
    let bad = ROLES.replace(
        "    { id = \"udp\", description = \"the UDP transport on 3391\", default = true },",
        "    { id = \"udp\", description = \"the UDP transport on 3391\", default = true },\n    { id = \"unused\", description = \"nothing\", default = false },",
    );
    assert_ne!(bad, ROLES);
    assert!(has(
        &errors(REQUIREMENTS, &bad, DOCUMENTS),
        "role rd-gateway, option \"unused\" switches no requirement on"
    ));
    // An option whose rows do not exist.
    let bad = ROLES.replace("ports = [\"3391/udp\"]", "ports = [\"3392/udp\"]");
    assert!(has(
        &errors(REQUIREMENTS, &bad, DOCUMENTS),
        "3392/udp matches no current, inbound catalogue requirement"
    ));
}

#[test]
fn roles_never_take_outbound_or_superseded_rows() {
    // entra-connect's only 5671 row is outbound: a role cannot select it.
    let bad = ROLES.replace(
        "[[role]]\nid = \"openssh-server\"",
        "[[role]]\nid = \"bad-outbound\"\nname = \"x\"\ndescription = \"x\"\n[[role.allow]]\nservice = \"entra-connect\"\nports = [\"5671/tcp\"]\ndirection = \"clients\"\n\n[[role]]\nid = \"openssh-server\"",
    );
    assert!(has(
        &errors(REQUIREMENTS, &bad, DOCUMENTS),
        "role bad-outbound, service entra-connect: 5671/tcp matches no current, inbound"
    ));
    // clussvc 137/tcp is the superseded side of cluster-137.
    let bad = ROLES.replace(
        "ports = [\"3343/udp\", \"3343/tcp\", \"445/tcp\", \"137/udp\", \"icmp\"]",
        "ports = [\"3343/udp\", \"3343/tcp\", \"445/tcp\", \"137/tcp\", \"icmp\"]",
    );
    assert_ne!(bad, ROLES);
    assert!(has(
        &errors(REQUIREMENTS, &bad, DOCUMENTS),
        "137/tcp matches no current"
    ));
}

#[test]
fn outbound_rows_say_so_in_their_notes() {
    let bad = REQUIREMENTS.replace(
        "outbound;optional,\"outbound: Connect Health agent",
        "outbound;optional,\"Connect Health agent",
    );
    assert_ne!(bad, REQUIREMENTS);
    assert!(has(
        &errors(&bad, ROLES, DOCUMENTS),
        "an outbound row's notes must start"
    ));
}
