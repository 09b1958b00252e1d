//! The statics that `build.rs` generates from `data/`.
#![allow(clippy::all)]

use crate::abbrev::Abbreviation;
use crate::iana::IanaRow;
use crate::model::*;
use crate::rpc::RpcInterface;

include!(concat!(env!("OUT_DIR"), "/catalog_data.rs"));
