//! Settings of the shop (items and purchases).

use super::ConfigError;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopSettings {
    /// The most items one purchase buys.
    pub purchase_quantity_max: u32,
    /// The most items the catalog holds (and so the longest item list or inventory).
    pub items_max: u32,
}

impl ShopSettings {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: &str| {
            Err(ConfigError {
                field,
                reason: reason.to_owned(),
            })
        };
        if !(1..=1_000_000).contains(&self.purchase_quantity_max) {
            return invalid("shop.purchase_quantity_max", "must be 1 to 1000000");
        }
        if !(1..=100_000).contains(&self.items_max) {
            return invalid("shop.items_max", "must be 1 to 100000");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_value_names_its_field() {
        let valid = ShopSettings {
            purchase_quantity_max: 100,
            items_max: 1000,
        };
        assert!(valid.validate().is_ok());
        let zero_quantity = ShopSettings {
            purchase_quantity_max: 0,
            ..valid.clone()
        };
        assert_eq!(
            zero_quantity.validate().unwrap_err().field,
            "shop.purchase_quantity_max"
        );
        let huge_catalog = ShopSettings {
            items_max: 100_001,
            ..valid
        };
        assert_eq!(huge_catalog.validate().unwrap_err().field, "shop.items_max");
    }
}
