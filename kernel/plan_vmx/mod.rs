//! Adapters from the plan to tessera-vmx's types: the IPI routing view of a partition and the
//! boot-info block of a vCPU. tessera-vmx knows nothing of the plan; this is where the two meet.

mod boot_info;
mod routing;

#[cfg(test)]
mod boot_info_tests;
#[cfg(test)]
mod routing_tests;
#[cfg(test)]
mod test_plans;

pub use boot_info::fill_boot_info;
// The IPI exit handler (bare-metal only) is its user.
#[cfg_attr(not(target_os = "none"), allow(unused_imports))]
pub use routing::PlanView;
