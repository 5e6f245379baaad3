//! The one list of vendors. Everything that enumerates vendors (the
//! [`VendorName`](crate::VendorName) enum and `ALL`, secret parsing, client
//! dispatch, each vendor's profile) is generated from this list, so a sixth
//! vendor is one line here plus its folder under `src/vendors/`.
//!
//! Each line is `Variant => module`: the variant of `VendorName`, and the
//! vendor's folder (`src/vendors/<module>/`), whose name is also the vendor's
//! name in `VENDORS`, secret names, the ledger and the sandbox prefix.
//! `tests/registry.rs` fails when `template.yaml`, the local stack or the
//! README disagree with this list.

/// Calls `$callback!` with every vendor, in the order runs and reports use.
macro_rules! vendor_registry {
    ($callback:ident) => {
        $callback! {
            Datatheorem => datatheorem,
            Skyhigh => skyhigh,
            Cloudcraft => cloudcraft,
            Risken => risken,
            Stellarcyber => stellarcyber,
        }
    };
}
