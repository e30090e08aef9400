//! What every provider shares: resource ids, errors, api-version gating, paging, `$filter`,
//! long-running operations, timestamps and the request/response values handlers see.
//!
//! This is the ground floor: nothing here imports anything else of azemu.

pub(crate) mod api_version;
pub(crate) mod error;
pub(crate) mod filter;
pub(crate) mod glob;
pub(crate) mod id;
pub(crate) mod lro;
pub(crate) mod paging;
pub(crate) mod regions;
pub(crate) mod request;
pub(crate) mod time;

pub(crate) use error::{ArmError, ArmResult};
pub(crate) use request::{Body, Headers, Request, Response};
