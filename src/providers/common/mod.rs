//! What providers share that needs the world: long-running operations over HTTP, request
//! validation with the `api-specs/` schemas, and tracked-resource helpers.

pub mod arm;
pub mod identities;
pub mod lro;
pub mod resource;
pub mod schema;
