//! The identity plumbing tools need before they call ARM: a stand-in Entra ID (OIDC
//! discovery, client-credentials tokens as signed JWTs), the directory of service principals,
//! and the Microsoft Graph look-ups the Azure CLI makes.

pub(crate) mod audience;
pub(crate) mod directory;
pub(crate) mod graph;
pub(crate) mod oidc;
pub(crate) mod principals;
pub(crate) mod token;

pub(crate) use directory::{Directory, Principal, PrincipalKind};
pub(crate) use token::{Caller, Signer};
