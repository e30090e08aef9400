//! `GET .../registries/{name}/replications`: the registry's geo-replications. azemu serves no
//! geo-replication, so the list is empty (Azure lists a Premium registry's home region here;
//! azurerm leaves the home region out when it reads `georeplications`, so both read the same).
//! Terraform's azurerm reads this list on every refresh of `azurerm_container_registry`
//! (`container_registry_resource.go` `resourceContainerRegistryRead`).

use super::{KIND, NAMESPACE};
use crate::arm::{paging, ArmResult, Response};
use crate::providers::common::resource;
use crate::routing::Ctx;
use crate::world::Tx;

pub(crate) fn list(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let parent = resource::parent_group(w, ctx)?;
    let name = ctx.name(0);
    let rid = resource::tracked_id(&parent, NAMESPACE, "registries", name);
    resource::get_or_404(w, ctx, &rid, KIND, name)?;
    Ok(Response::ok(paging::page(ctx.req, Vec::new())?))
}
