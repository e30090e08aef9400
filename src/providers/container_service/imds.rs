use crate::arm::{ArmError, Request, Response};
use crate::world::World;
pub fn token(_w: &World, _req: &Request) -> Response {
    ArmError::not_found("NotFound", "IMDS").into()
}
