//! Which received license a plan's `[entitlement]` means: by product, license ARN or agreement.

use crate::model::RolloutPlan;
use crate::model::agreement::AgreementInfo;
use crate::model::grant::{LicenseInfo, LicenseStatus};
use crate::model::plan::{Diagnostic, EntitlementSelector, PlanFileErrors, nearest};

/// Why the entitlement names no usable license.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntitlementError {
    /// No received Marketplace license has this product id.
    #[error("no Marketplace license for product `{product}` was received by this account")]
    NoLicenseForProduct {
        /// The product id of the plan.
        product: String,
        /// The products that do have a license.
        available: Vec<String>,
    },
    /// The license ARN is not among the received Marketplace licenses.
    #[error("license `{arn}` is not among the Marketplace licenses this account received")]
    UnknownLicense {
        /// The ARN of the plan.
        arn: String,
    },
    /// The agreement has ended.
    #[error("agreement `{id}` is `{status}`, not ACTIVE")]
    AgreementNotActive {
        /// The agreement id.
        id: String,
        /// Its status.
        status: String,
    },
    /// Neither the agreement's entitlements nor its products lead to a received license.
    #[error("agreement `{id}` leads to no license this account received")]
    AgreementWithoutLicense {
        /// The agreement id.
        id: String,
    },
}

impl EntitlementError {
    /// The problem where the plan names the entitlement (line and column of its value), with
    /// the hint and, for an unknown product, the nearest product that has a license.
    pub fn located(&self, rollout: &RolloutPlan) -> PlanFileErrors {
        let near = match self {
            Self::NoLicenseForProduct { product, available } => {
                nearest(product, available.iter().map(String::as_str))
                    .map(|near| format!("did you mean `{near}`? "))
            }
            _ => None,
        };
        let hint = match (near, self.hint()) {
            (Some(near), Some(hint)) => Some(format!("{near}{hint}")),
            (near, hint) => near.or(hint),
        };
        PlanFileErrors {
            diagnostics: vec![
                Diagnostic::at(
                    &rollout.source,
                    rollout.entitlement.selector_span,
                    self.to_string(),
                )
                .maybe_hint(hint),
            ],
        }
    }

    /// What a person can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::NoLicenseForProduct { available, .. } if available.is_empty() => Some(
                "subscribe to the product in AWS Marketplace from the management account first; no Marketplace license is \
                 here at all"
                    .to_owned(),
            ),
            Self::NoLicenseForProduct { available, .. } => {
                Some(format!("licenses exist for: {}", available.join(", ")))
            }
            Self::UnknownLicense { .. } => {
                Some("use `product = \"prod-...\"` to let entitle find the license".to_owned())
            }
            Self::AgreementNotActive { status, .. }
                if crate::planner::cleanup::agreement_ended(status) =>
            {
                Some("`entitle cleanup --agreement ID` deletes the grants an ended agreement left behind".to_owned())
            }
            // RENEWED, REPLACED, SUPERSEDED: the subscription goes on under another agreement,
            // and cleanup leaves this one's grants alone.
            Self::AgreementNotActive { .. } => Some(
                "the subscription goes on under another agreement: name that one in `[entitlement]`, or the product                  (`product = \"prod-...\"`)"
                    .to_owned(),
            ),
            Self::AgreementWithoutLicense { .. } => None,
        }
    }
}

/// Picks the license the entitlement means among the received Marketplace licenses. For a
/// product with several licenses (an old cancelled subscription and a new one), the AVAILABLE
/// one wins; the planner refuses a license that is not AVAILABLE, with its own message.
pub fn choose_license(
    selector: &EntitlementSelector,
    licenses: &[LicenseInfo],
    agreement: Option<&AgreementInfo>,
) -> Result<LicenseInfo, EntitlementError> {
    let best_of = |matching: Vec<&LicenseInfo>| {
        matching
            .iter()
            .find(|license| license.status == LicenseStatus::Available)
            .or(matching.first())
            .map(|license| (*license).clone())
    };
    match selector {
        EntitlementSelector::Product(product) => best_of(
            licenses
                .iter()
                .filter(|license| &license.product_sku == product)
                .collect(),
        )
        .ok_or_else(|| {
            let mut available: Vec<String> = licenses
                .iter()
                .map(|license| license.product_sku.clone())
                .collect();
            available.sort();
            available.dedup();
            EntitlementError::NoLicenseForProduct {
                product: product.clone(),
                available,
            }
        }),
        EntitlementSelector::LicenseArn(arn) => licenses
            .iter()
            .find(|license| &license.arn == arn)
            .cloned()
            .ok_or_else(|| EntitlementError::UnknownLicense { arn: arn.clone() }),
        EntitlementSelector::Agreement(id) => {
            let Some(agreement) = agreement else {
                return Err(EntitlementError::AgreementWithoutLicense { id: id.clone() });
            };
            if agreement.status != "ACTIVE" {
                return Err(EntitlementError::AgreementNotActive {
                    id: id.clone(),
                    status: agreement.status.clone(),
                });
            }
            let by_entitlement = licenses
                .iter()
                .filter(|license| agreement.license_arns.contains(&license.arn))
                .collect();
            best_of(by_entitlement)
                // Older agreements carry no entitlements: the license's ProductSKU is the product id.
                .or_else(|| {
                    best_of(
                        licenses
                            .iter()
                            .filter(|license| agreement.products.contains(&license.product_sku))
                            .collect(),
                    )
                })
                .ok_or_else(|| EntitlementError::AgreementWithoutLicense { id: id.clone() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::fixtures::license;

    #[test]
    fn the_available_license_of_a_product_wins() {
        let licenses = [
            license("arn:old", "prod-a", LicenseStatus::from_aws("DELETED")),
            license("arn:new", "prod-a", LicenseStatus::Available),
        ];
        let chosen = choose_license(
            &EntitlementSelector::Product("prod-a".into()),
            &licenses,
            None,
        )
        .unwrap();
        assert_eq!(chosen.arn, "arn:new");
        let missing = choose_license(
            &EntitlementSelector::Product("prod-b".into()),
            &licenses,
            None,
        )
        .unwrap_err();
        assert_eq!(missing.hint().unwrap(), "licenses exist for: prod-a");
    }

    #[test]
    fn agreements_must_be_active_and_lead_to_a_license() {
        let licenses = [license("arn:new", "prod-a", LicenseStatus::Available)];
        let mut agreement = AgreementInfo {
            id: "agmt-1".into(),
            status: "ACTIVE".into(),
            products: vec!["prod-a".into()],
            license_arns: vec![],
        };
        let selector = EntitlementSelector::Agreement("agmt-1".into());
        assert_eq!(
            choose_license(&selector, &licenses, Some(&agreement))
                .unwrap()
                .arn,
            "arn:new"
        );
        agreement.license_arns = vec!["arn:other".into()];
        assert_eq!(
            choose_license(&selector, &licenses, Some(&agreement))
                .unwrap()
                .arn,
            "arn:new",
            "an agreement whose entitlements name no received license falls back to its products"
        );
        agreement.products = vec!["prod-b".into()];
        assert_eq!(
            choose_license(&selector, &licenses, Some(&agreement)),
            Err(EntitlementError::AgreementWithoutLicense {
                id: "agmt-1".into()
            })
        );
        assert_eq!(
            choose_license(&selector, &licenses, None),
            Err(EntitlementError::AgreementWithoutLicense {
                id: "agmt-1".into()
            })
        );
        agreement.status = "CANCELLED".into();
        assert_eq!(
            choose_license(&selector, &licenses, Some(&agreement))
                .unwrap_err()
                .to_string(),
            "agreement `agmt-1` is `CANCELLED`, not ACTIVE"
        );
    }

    #[test]
    fn a_license_arn_names_exactly_that_license() {
        let licenses = [
            license("arn:a", "prod-a", LicenseStatus::Available),
            license("arn:b", "prod-a", LicenseStatus::Available),
        ];
        let selector = EntitlementSelector::LicenseArn("arn:b".into());
        assert_eq!(
            choose_license(&selector, &licenses, None).unwrap().arn,
            "arn:b"
        );
        let unknown = choose_license(
            &EntitlementSelector::LicenseArn("arn:c".into()),
            &licenses,
            None,
        )
        .unwrap_err();
        assert_eq!(
            unknown,
            EntitlementError::UnknownLicense {
                arn: "arn:c".into()
            }
        );
        assert_eq!(
            unknown.hint().as_deref(),
            Some("use `product = \"prod-...\"` to let entitle find the license")
        );
    }

    #[test]
    fn each_error_has_the_hint_a_person_can_act_on() {
        let nothing_here = EntitlementError::NoLicenseForProduct {
            product: "prod-a".into(),
            available: Vec::new(),
        };
        assert!(
            nothing_here
                .hint()
                .unwrap()
                .starts_with("subscribe to the product in AWS Marketplace")
        );
        let ended = EntitlementError::AgreementNotActive {
            id: "agmt-1".into(),
            status: "CANCELLED".into(),
        };
        assert_eq!(
            ended.hint().as_deref(),
            Some(
                "`entitle cleanup --agreement ID` deletes the grants an ended agreement left behind"
            )
        );
        let renewed = EntitlementError::AgreementNotActive {
            id: "agmt-1".into(),
            status: "RENEWED".into(),
        };
        assert!(
            renewed
                .hint()
                .unwrap()
                .starts_with("the subscription goes on under another agreement")
        );
        let without = EntitlementError::AgreementWithoutLicense {
            id: "agmt-1".into(),
        };
        assert_eq!(without.hint(), None);
    }

    #[test]
    fn an_unknown_product_is_located_with_its_near_miss() {
        let rollout = crate::model::parse_plan(
            "version = 1\nname = \"r\"\n[entitlement]\nproduct = \"prod-mxcfnwvpd6kc4\"\n[[phase]]\nname = \"p\"\norganization = true\n",
            "r.toml",
        )
        .unwrap();
        let licenses = [
            license("arn:a", "prod-mxcfnwvpd6kb4", LicenseStatus::Available),
            license("arn:b", "prod-cx7ovbu5wex7g", LicenseStatus::Available),
        ];
        let error = choose_license(&rollout.entitlement.selector, &licenses, None).unwrap_err();
        let located = error.located(&rollout);
        let diagnostic = &located.diagnostics[0];
        let location = diagnostic.location.as_ref().unwrap();
        assert_eq!((location.line, location.column), (4, 11));
        assert_eq!(
            diagnostic.hint.as_deref(),
            Some(
                "did you mean `prod-mxcfnwvpd6kb4`? licenses exist for: prod-cx7ovbu5wex7g, prod-mxcfnwvpd6kb4"
            )
        );
    }
}
