"""The market: sellable bundles made from a patient's own stored windows, registered on-chain by
the patient's authorised custodian, and what buyers use to fetch and verify them (docs/market.md)."""
