//! ACPI tables through the `acpi` crate on the identity map: the processors of the MADT, for checking
//! the machine against the board file.

use crate::multiboot::BootInfo;
use acpi::madt::{Madt, MadtEntry};
use acpi::{AcpiError, AcpiHandler, AcpiTables, PhysicalMapping};
use core::ptr::NonNull;

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

/// Why the MADT's processors could not be listed.
#[derive(Debug)]
pub enum MadtError {
    /// The `acpi` crate refused the RSDP, a root table or the MADT.
    Acpi(AcpiError),
}

impl core::fmt::Display for MadtError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use acpi::madt::MadtError as M;
        let MadtError::Acpi(e) = self;
        match e {
            AcpiError::NoValidRsdp => f.write_str("no valid RSDP (none from the boot loader)"),
            AcpiError::RsdpIncorrectSignature => f.write_str("the RSDP's signature is wrong"),
            AcpiError::RsdpInvalidOemId => f.write_str("the RSDP's OEM ID is not text"),
            AcpiError::RsdpInvalidChecksum => f.write_str("the RSDP's checksum is wrong"),
            AcpiError::SdtInvalidSignature(s) => write!(f, "table {s}: wrong signature"),
            AcpiError::SdtInvalidOemId(s) => write!(f, "table {s}: OEM ID is not text"),
            AcpiError::SdtInvalidTableId(s) => write!(f, "table {s}: table ID is not text"),
            AcpiError::SdtInvalidChecksum(s) => write!(f, "table {s}: wrong checksum"),
            AcpiError::TableMissing(s) => write!(f, "table {s} is missing"),
            AcpiError::InvalidFacsAddress => f.write_str("invalid FACS address"),
            AcpiError::InvalidDsdtAddress => f.write_str("invalid DSDT address"),
            AcpiError::InvalidMadt(m) => f.write_str(match *m {
                M::UnexpectedEntry => "MADT: unexpected entry",
                M::InterruptOverrideEntryHasInvalidBus => {
                    "MADT: interrupt source override on a bus other than ISA"
                }
                M::InvalidLocalNmiLine => "MADT: invalid local APIC NMI line",
                M::MpsIntiInvalidPolarity => "MADT: invalid MPS INTI polarity",
                M::MpsIntiInvalidTriggerMode => "MADT: invalid MPS INTI trigger mode",
                M::WakeupApsTimeout => "MADT: timeout waking APs",
            }),
            AcpiError::InvalidGenericAddress => f.write_str("invalid generic address structure"),
            AcpiError::AllocError => f.write_str("allocation failed"),
        }
    }
}

/// The MADT, found and checked (signature, checksum) by the `acpi` crate.
pub struct MadtCpus {
    madt: PhysicalMapping<IdentityMapped, Madt>,
}

impl MadtCpus {
    /// Every processor the MADT lists, in table order (the firmware lists the boot CPU first),
    /// read from the table itself on each walk: no list of them is kept.
    pub fn iter(&self) -> impl Iterator<Item = MadtCpu> + '_ {
        self.madt.get().entries().filter_map(|entry| {
            let (apic_id, flags) = match entry {
                MadtEntry::LocalApic(e) => (e.apic_id as u32, e.flags),
                MadtEntry::LocalX2Apic(e) => (e.x2apic_id, e.flags),
                _ => return None,
            };
            Some(MadtCpu {
                apic_id,
                enabled: flags & 1 != 0,
                online_capable: flags & 2 != 0,
            })
        })
    }
}

/// The MADT's processors, or why the MADT cannot be read.
pub fn madt_cpus(boot: &BootInfo) -> Result<MadtCpus, MadtError> {
    let madt = tables(boot)
        .and_then(|t| t.find_table::<Madt>())
        .map_err(MadtError::Acpi)?;
    Ok(MadtCpus { madt })
}
