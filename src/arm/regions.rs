//! Azure's regions: the names ARM accepts in `location` and their display names.
//!
//! Display names are normalised too: `"East US"` and `"eastus"` are the same location, as in
//! ARM. The China regions are served as well so that the AKS rules that refuse them can be
//! exercised in one azemu.

/// (name, displayName, geography group)
pub(crate) const REGIONS: &[(&str, &str, &str)] = &[
    ("eastus", "East US", "US"),
    ("eastus2", "East US 2", "US"),
    ("southcentralus", "South Central US", "US"),
    ("westus2", "West US 2", "US"),
    ("westus3", "West US 3", "US"),
    ("australiaeast", "Australia East", "Asia Pacific"),
    ("southeastasia", "Southeast Asia", "Asia Pacific"),
    ("northeurope", "North Europe", "Europe"),
    ("swedencentral", "Sweden Central", "Europe"),
    ("uksouth", "UK South", "Europe"),
    ("westeurope", "West Europe", "Europe"),
    ("centralus", "Central US", "US"),
    ("southafricanorth", "South Africa North", "Africa"),
    ("centralindia", "Central India", "Asia Pacific"),
    ("eastasia", "East Asia", "Asia Pacific"),
    ("indonesiacentral", "Indonesia Central", "Asia Pacific"),
    ("japaneast", "Japan East", "Asia Pacific"),
    ("japanwest", "Japan West", "Asia Pacific"),
    ("koreacentral", "Korea Central", "Asia Pacific"),
    ("malaysiawest", "Malaysia West", "Asia Pacific"),
    ("newzealandnorth", "New Zealand North", "Asia Pacific"),
    ("canadacentral", "Canada Central", "Canada"),
    ("austriaeast", "Austria East", "Europe"),
    ("belgiumcentral", "Belgium Central", "Europe"),
    ("francecentral", "France Central", "Europe"),
    ("germanywestcentral", "Germany West Central", "Europe"),
    ("italynorth", "Italy North", "Europe"),
    ("norwayeast", "Norway East", "Europe"),
    ("polandcentral", "Poland Central", "Europe"),
    ("spaincentral", "Spain Central", "Europe"),
    ("switzerlandnorth", "Switzerland North", "Europe"),
    ("mexicocentral", "Mexico Central", "Mexico"),
    ("uaenorth", "UAE North", "Middle East"),
    ("brazilsouth", "Brazil South", "South America"),
    ("chilecentral", "Chile Central", "South America"),
    ("israelcentral", "Israel Central", "Middle East"),
    ("qatarcentral", "Qatar Central", "Middle East"),
    ("northcentralus", "North Central US", "US"),
    ("westus", "West US", "US"),
    ("westcentralus", "West Central US", "US"),
    ("southafricawest", "South Africa West", "Africa"),
    ("australiacentral", "Australia Central", "Asia Pacific"),
    ("australiacentral2", "Australia Central 2", "Asia Pacific"),
    ("australiasoutheast", "Australia Southeast", "Asia Pacific"),
    ("jioindiacentral", "Jio India Central", "Asia Pacific"),
    ("jioindiawest", "Jio India West", "Asia Pacific"),
    ("koreasouth", "Korea South", "Asia Pacific"),
    ("southindia", "South India", "Asia Pacific"),
    ("westindia", "West India", "Asia Pacific"),
    ("canadaeast", "Canada East", "Canada"),
    ("francesouth", "France South", "Europe"),
    ("germanynorth", "Germany North", "Europe"),
    ("norwaywest", "Norway West", "Europe"),
    ("switzerlandwest", "Switzerland West", "Europe"),
    ("ukwest", "UK West", "Europe"),
    ("uaecentral", "UAE Central", "Middle East"),
    ("brazilsoutheast", "Brazil Southeast", "South America"),
    ("chinaeast", "China East", "Asia Pacific"),
    ("chinaeast2", "China East 2", "Asia Pacific"),
    ("chinaeast3", "China East 3", "Asia Pacific"),
    ("chinanorth", "China North", "Asia Pacific"),
    ("chinanorth2", "China North 2", "Asia Pacific"),
    ("chinanorth3", "China North 3", "Asia Pacific"),
];

/// The canonical region name for `location` (`"East US"`, `"EASTUS"` → `eastus`).
pub(crate) fn normalize(location: &str) -> Option<&'static str> {
    let squashed: String = location
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    REGIONS
        .iter()
        .find(|(name, _, _)| *name == squashed)
        .map(|(name, _, _)| *name)
}

/// `name1,name2,...` as ARM lists available regions in its messages.
pub(crate) fn names_csv() -> String {
    REGIONS.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(",")
}

/// Display names joined as `NoRegisteredProviderFound` lists them.
pub(crate) fn display_names_csv() -> String {
    REGIONS.iter().map(|(_, d, _)| *d).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_normalise() {
        assert_eq!(normalize("East US"), Some("eastus"));
        assert_eq!(normalize("WESTUS2"), Some("westus2"));
        assert_eq!(normalize("Atlantis"), None);
    }
}
