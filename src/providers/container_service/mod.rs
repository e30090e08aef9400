//! `Microsoft.ContainerService` (placeholder while the provider is written).
use crate::arm::ArmResult;
use crate::providers::{ProviderInfo, TypeInfo};
use crate::routing::Route;
use crate::store::Record;
use crate::world::World;
pub mod imds;
pub const KIND: &str = "Microsoft.ContainerService/managedClusters";
pub const PROVIDER: ProviderInfo = ProviderInfo {
    namespace: "Microsoft.ContainerService",
    types: &[TypeInfo {
        name: "managedClusters",
        api_versions: &["2026-06-01"],
        global: false,
    }],
};
pub const ROUTES: &[Route] = &[];
pub fn seed(_w: &World) {}
pub fn on_removed(_w: &World, _rec: &Record) {}
pub fn validate_move(_w: &World, _rec: &Record, _cross_tenant: bool) -> ArmResult<()> {
    Ok(())
}
pub mod control {
    use crate::arm::{ArmResult, Request, Response};
    use crate::world::World;
    pub fn get(_w: &World, _req: &Request, _segs: &[&str]) -> Option<ArmResult<Response>> {
        None
    }
    pub fn write(_w: &World, _req: &Request, _segs: &[&str]) -> Option<ArmResult<Response>> {
        None
    }
}
