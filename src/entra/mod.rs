//! The identity plumbing tools need before they call ARM: a stand-in Entra ID (OIDC
//! discovery, client-credentials tokens as signed JWTs), the directory of service principals,
//! and the Microsoft Graph look-ups the Azure CLI makes.

pub mod audience;
pub mod directory;
pub mod graph;
pub mod oidc;
pub mod principals;
pub mod token;

pub use directory::{Directory, Principal, PrincipalKind};
pub use token::{Caller, Signer};
