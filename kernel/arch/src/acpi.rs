//! ACPI tables through the `acpi` crate on the identity map: the processors of the MADT, for checking
//! the machine against the board file.

use crate::multiboot::BootInfo;
use acpi::madt::{Madt, MadtEntry};
use acpi::{AcpiError, AcpiHandler, AcpiTables, PhysicalMapping};
use core::ptr::NonNull;

/// The most processors `madt_cpus` reports.
pub const MAX_MADT_CPUS: usize = 64;

/// Maps ACPI tables at their physical address (all of RAM and firmware below 4 GiB is identity mapped).
#[derive(Clone, Copy, Debug)]
pub struct IdentityMapped;

impl AcpiHandler for IdentityMapped {
    unsafe fn map_physical_region<T>(
        &self,
        physical_address: usize,
        size: usize,
    ) -> PhysicalMapping<Self, T> {
        let end = physical_address as u64 + size as u64;
        let mapped_end = crate::paging::identity_map_end();
        if end > mapped_end {
            crate::halt::fatal(format_args!(
                "ACPI table at {physical_address:#x} lies past the boot identity map's end {mapped_end:#x} (the CPU has no 1 GiB pages: raise the image's boot_map_gib)"
            ));
        }
        let virtual_start =
            NonNull::new(physical_address as *mut T).expect("ACPI table at address 0");
        // SAFETY: the `acpi` crate guarantees `physical_address` holds a `T` of `size` bytes; with the
        // identity map the virtual address equals the physical one and stays valid for good.
        unsafe { PhysicalMapping::new(physical_address, virtual_start, size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// The ACPI tables found through the loader's copy of the RSDP.
pub fn tables(boot: &BootInfo) -> Result<AcpiTables<IdentityMapped>, AcpiError> {
    let rsdp = boot.rsdp_addr().ok_or(AcpiError::NoValidRsdp)?;
    // SAFETY: the address is the loader's RSDP copy inside the boot information (identity mapped);
    // `from_rsdp` validates its signature and checksum before following any pointer.
    unsafe { AcpiTables::from_rsdp(IdentityMapped, rsdp as usize) }
}

/// One processor local APIC (or x2APIC) entry of the MADT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MadtCpu {
    pub apic_id: u32,
    /// Flags bit 0: usable now.
    pub enabled: bool,
    /// Flags bit 1: may be brought online later.
    pub online_capable: bool,
}

/// Every processor the MADT lists, in table order (the firmware lists the boot CPU first).
pub fn madt_cpus(boot: &BootInfo) -> Result<heapless::Vec<MadtCpu, MAX_MADT_CPUS>, AcpiError> {
    let madt = tables(boot)?.find_table::<Madt>()?;
    let mut cpus = heapless::Vec::new();
    for entry in madt.get().entries() {
        let (apic_id, flags) = match entry {
            MadtEntry::LocalApic(e) => (e.apic_id as u32, e.flags),
            MadtEntry::LocalX2Apic(e) => (e.x2apic_id, e.flags),
            _ => continue,
        };
        let cpu = MadtCpu {
            apic_id,
            enabled: flags & 1 != 0,
            online_capable: flags & 2 != 0,
        };
        cpus.push(cpu)
            .map_err(|_| AcpiError::InvalidMadt(acpi::madt::MadtError::UnexpectedEntry))?;
    }
    Ok(cpus)
}
