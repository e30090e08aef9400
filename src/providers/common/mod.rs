//! What providers share that needs the world: long-running operations over HTTP, request
//! validation with the `api-specs/` schemas, and tracked-resource helpers.

pub(crate) mod arm;
pub(crate) mod identities;
pub(crate) mod lro;
pub(crate) mod resource;
pub(crate) mod schema;
