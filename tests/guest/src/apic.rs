//! The guest's x2APIC (virtualized by Tessera): its APIC ID, end of interrupt, and IPIs through the
//! interrupt command register (MSR 0x830): fixed, NMI, INIT and start-up, to one APIC ID.

use crate::cpu::{read_msr, write_x2apic};
use tessera_vmx::msr::{X2APIC_EOI, X2APIC_ICR, X2APIC_ID, X2APIC_TPR};

/// First of the eight x2APIC interrupt request registers.
const X2APIC_IRR_FIRST: u32 = 0x820;

const DELIVERY_FIXED: u64 = 0b000 << 8;
const DELIVERY_NMI: u64 = 0b100 << 8;
const DELIVERY_INIT: u64 = 0b101 << 8;
const DELIVERY_STARTUP: u64 = 0b110 << 8;
const LEVEL_ASSERT: u64 = 1 << 14;

/// ICR value: physical destination `apic_id`, edge-triggered, level asserted.
pub const fn icr_value(apic_id: u32, delivery: u64, vector: u8) -> u64 {
    (apic_id as u64) << 32 | LEVEL_ASSERT | delivery | vector as u64
}

/// ICR value of a fixed IPI with `vector` to `apic_id`.
pub const fn fixed_icr(apic_id: u32, vector: u8) -> u64 {
    icr_value(apic_id, DELIVERY_FIXED, vector)
}

/// ICR value of an NMI to `apic_id`.
pub const fn nmi_icr(apic_id: u32) -> u64 {
    icr_value(apic_id, DELIVERY_NMI, 0)
}

/// ICR value of an INIT to `apic_id`.
pub const fn init_icr(apic_id: u32) -> u64 {
    icr_value(apic_id, DELIVERY_INIT, 0)
}

/// ICR value of a start-up IPI to `apic_id` (start page `vector` << 12, ignored by Tessera, which
/// starts the vCPU at the image's entry with its boot-info block).
pub const fn startup_icr(apic_id: u32, vector: u8) -> u64 {
    icr_value(apic_id, DELIVERY_STARTUP, vector)
}

/// The APIC ID this vCPU sees (its virtual APIC ID).
pub fn apic_id() -> u32 {
    read_msr(X2APIC_ID) as u32
}

/// Sets the task priority (x2APIC TPR, MSR 0x808): interrupts of priority class `tpr >> 4` and
/// below stay pending in the IRR instead of arriving.
pub fn set_task_priority(tpr: u8) {
    write_x2apic(X2APIC_TPR, u64::from(tpr));
}

/// The interrupt request register (MSRs 0x820-0x827): bit `v` of the 256 = vector `v` pending.
pub fn irr() -> [u32; 8] {
    core::array::from_fn(|i| read_msr(X2APIC_IRR_FIRST + i as u32) as u32)
}

/// Signals the end of the interrupt being handled.
pub fn eoi() {
    write_x2apic(X2APIC_EOI, 0);
}

/// Writes `value` to the ICR (sends the IPI it describes).
pub fn write_icr(value: u64) {
    write_x2apic(X2APIC_ICR, value);
}

/// Sends a fixed IPI with `vector` to `apic_id`.
pub fn send_fixed(apic_id: u32, vector: u8) {
    write_icr(fixed_icr(apic_id, vector));
}

/// Sends INIT, then two start-up IPIs, to `apic_id` (the bare-metal sequence, without its delays:
/// Tessera emulates it).
pub fn start_vcpu(apic_id: u32) {
    write_icr(init_icr(apic_id));
    write_icr(startup_icr(apic_id, 0x10));
    write_icr(startup_icr(apic_id, 0x10));
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_vmx::ipi::{DeliveryMode, Icr, Shorthand};

    #[test]
    fn fixed_ipis_decode_as_written() {
        let icr = Icr::decode(fixed_icr(0x13, 0x40));
        assert_eq!(icr.vector, 0x40);
        assert_eq!(icr.delivery, DeliveryMode::Fixed);
        assert_eq!(icr.destination, 0x13);
        assert_eq!(icr.shorthand, Shorthand::None);
        assert!(!icr.logical && !icr.level_triggered && icr.level_assert);
        assert!(!Icr::reserved_bits_set(fixed_icr(0x13, 0x40)));
    }

    #[test]
    fn init_startup_and_nmi_use_their_delivery_modes() {
        assert_eq!(Icr::decode(init_icr(3)).delivery, DeliveryMode::Init);
        let sipi = Icr::decode(startup_icr(3, 0x10));
        assert_eq!(sipi.delivery, DeliveryMode::StartUp);
        assert_eq!((sipi.vector, sipi.destination), (0x10, 3));
        assert_eq!(Icr::decode(nmi_icr(7)).delivery, DeliveryMode::Nmi);
    }
}
