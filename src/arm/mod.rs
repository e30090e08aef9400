//! What every provider shares: resource ids, errors, api-version gating, paging, `$filter`,
//! long-running operations, timestamps and the request/response values handlers see.
//!
//! This is the ground floor: nothing here imports anything else of azemu.

pub mod api_version;
pub mod error;
pub mod filter;
pub mod glob;
pub mod id;
pub mod lro;
pub mod paging;
pub mod regions;
pub mod request;
pub mod time;

pub use error::{ArmError, ArmResult};
pub use request::{Body, Request, Response};
