//! The tables the processor reads on its own, built here and then sealed: an EPT, a pair of I/O
//! bitmaps, the MSR bitmaps and a PID-pointer table. Each builder fills its pages with
//! tessera-vmx's table builders and returns a sealed value that has no method writing the table.
//! Only these values can be installed in a VMCS (`ActiveVmcs::configure`; a vCPU switches between
//! its two installed MSR bitmaps with `ActiveVmcs::pass_tsc_deadline`), and once the first VMCS is
//! configured no builder runs any more (`Sealing::Installed`), so no page the processor uses can be
//! rewritten. The virtual-APIC page is the guest's register file, not a table: `VirtualApicPage`
//! reads and writes its registers by name.

use super::page::{Page, PageWriter, PAGE_BYTES};
use super::posted::set_pid_entry;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tessera_vmx::tables::{
    apic_offset, eptp, init_virtual_apic_page, EptBuilder, EptError, IoBitmaps, MsrBitmap,
    PageSlot, PortRangeTooLong, PostedInterruptDescriptor,
};

/// Set when the first VMCS is configured: from then on every table is in use and none is built.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Marks the tables as in use (`ActiveVmcs::configure`, before its first address VMWRITE).
pub(crate) fn mark_installed() {
    INSTALLED.store(true, Ordering::SeqCst);
}

/// Why a table was not built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableError {
    /// A VMCS is configured already: tables are built only before the first one is.
    Installed,
    Ept(EptError),
    /// The builder used a different number of pages than it was given.
    EptPages {
        used: usize,
        given: usize,
    },
    Ports(PortRangeTooLong),
    /// A PID-pointer table entry index beyond the table.
    PidEntry {
        index: usize,
    },
    /// The two MSR bitmaps of a set were given the same page.
    MsrBitmapPages,
    /// A PID-pointer table must be 4 KiB aligned with `last_index + 1` entries.
    PidTableShape {
        addr: u64,
        entries: usize,
        last_index: u16,
    },
}

impl core::fmt::Display for TableError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            TableError::Installed => {
                f.write_str("a VMCS is configured already (tables are built before the first)")
            }
            TableError::Ept(e) => write!(f, "EPT: {e}"),
            TableError::EptPages { used, given } => {
                write!(f, "EPT used {used} pages, the plan reserved {given}")
            }
            TableError::Ports(e) => write!(f, "I/O bitmaps: {e}"),
            TableError::MsrBitmapPages => {
                f.write_str("the MSR bitmaps trapping and passing IA32_TSC_DEADLINE share a page")
            }
            TableError::PidEntry { index } => {
                write!(f, "PID-pointer table entry {index} lies beyond the table")
            }
            TableError::PidTableShape {
                addr,
                entries,
                last_index,
            } => write!(
                f,
                "PID-pointer table at {addr:#x} has {entries} entries; wanted 4 KiB aligned with {} entries",
                u32::from(last_index) + 1
            ),
        }
    }
}

fn before_install() -> Result<(), TableError> {
    match INSTALLED.load(Ordering::SeqCst) {
        true => Err(TableError::Installed),
        false => Ok(()),
    }
}

/// A built EPT: only its pointer is left (memory type write-back, 4-level walk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ept {
    eptp: u64,
}

impl Ept {
    /// Builds an EPT in `pages` (at most `N`; the first is the PML4): `map` adds every mapping;
    /// the builder must use exactly the pages given.
    pub fn build<const N: usize>(
        pages: &'static [Page],
        map: impl FnOnce(&mut EptBuilder<'_, PageWriter<'static>>) -> Result<(), EptError>,
    ) -> Result<Ept, TableError> {
        before_install()?;
        let mut slots: heapless::Vec<PageSlot<PageWriter<'static>>, N> = pages
            .iter()
            .map(|page| PageSlot {
                phys: page.phys_addr(),
                page: PageWriter::new(page),
            })
            .collect();
        if slots.len() != pages.len() {
            return Err(TableError::EptPages {
                used: slots.len(),
                given: pages.len(),
            });
        }
        let root = pages.first().ok_or(TableError::Ept(EptError::NoPages))?;
        let mut ept = EptBuilder::new(&mut slots).map_err(TableError::Ept)?;
        map(&mut ept).map_err(TableError::Ept)?;
        let (used, given) = (ept.pages_used(), pages.len());
        if used != given {
            return Err(TableError::EptPages { used, given });
        }
        Ok(Ept {
            eptp: eptp(root.phys_addr()),
        })
    }

    /// The EPT pointer (for the VMCS and INVEPT).
    pub fn eptp(&self) -> u64 {
        self.eptp
    }
}

/// I/O bitmaps A and B, built: every port exits except the ranges granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IoBitmapPair {
    a: u64,
    b: u64,
}

impl IoBitmapPair {
    /// Builds bitmaps `a` and `b` passing the port ranges `granted` (base, count) only.
    pub fn build(
        a: &'static Page,
        b: &'static Page,
        granted: impl IntoIterator<Item = (u16, u32)>,
    ) -> Result<IoBitmapPair, TableError> {
        before_install()?;
        let mut io = IoBitmaps::deny_all(PageWriter::new(a), PageWriter::new(b));
        for (base, count) in granted {
            io.allow(base, count).map_err(TableError::Ports)?;
        }
        Ok(IoBitmapPair {
            a: a.phys_addr(),
            b: b.phys_addr(),
        })
    }

    pub(crate) fn addresses(&self) -> (u64, u64) {
        (self.a, self.b)
    }
}

/// Whether a guest's IA32_TSC_DEADLINE reads and writes exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TscDeadline {
    /// They exit: the trapped timer path, and a virtualizable timer while its LVT is not in
    /// TSC-deadline mode.
    Trapped,
    /// They reach APIC-timer virtualization without exiting.
    Passed,
}

/// An MSR bitmap, built and sealed (no method writes it): x2APIC accesses pass as tessera-vmx's
/// policy says (ICR writes only with IPIv), IA32_TSC_DEADLINE as built, everything else exits.
/// Nothing writes it at run time, so every vCPU whose policy it holds may share it.
#[derive(Debug, Clone, Copy)]
pub struct MsrBitmapPage {
    page: &'static Page,
}

impl MsrBitmapPage {
    fn build(
        page: &'static Page,
        ipiv: bool,
        tsc_deadline: TscDeadline,
    ) -> Result<MsrBitmapPage, TableError> {
        before_install()?;
        let mut bitmap = MsrBitmap::deny_all(PageWriter::new(page));
        bitmap.allow_x2apic(ipiv);
        bitmap.pass_tsc_deadline(tsc_deadline == TscDeadline::Passed);
        Ok(MsrBitmapPage { page })
    }

    /// Whether an access to `msr` exits (reads the bitmap; for checks and reports).
    pub fn exits(&self, msr: u32, write: bool) -> bool {
        tessera_vmx::tables::msr_access_exits(&PageWriter::new(self.page), msr, write)
    }

    pub fn phys_addr(&self) -> u64 {
        self.page.phys_addr()
    }
}

/// The MSR bitmaps a vCPU's VMCS may point at, built with one x2APIC policy: one that traps
/// IA32_TSC_DEADLINE and, for a vCPU whose timer may run on APIC-timer virtualization, one that
/// passes it. These are the only addresses `ActiveVmcs::configure` (the trapping one) and
/// `ActiveVmcs::pass_tsc_deadline` write to the VMCS's MSR-bitmap field.
#[derive(Debug, Clone, Copy)]
pub struct MsrBitmaps {
    trapped: MsrBitmapPage,
    passed: Option<MsrBitmapPage>,
}

impl MsrBitmaps {
    /// Builds the trapping bitmap in `trapped` and, when given, the passing one in `passed`
    /// (another page), both with the x2APIC policy for `ipiv`.
    pub fn build(
        trapped: &'static Page,
        passed: Option<&'static Page>,
        ipiv: bool,
    ) -> Result<MsrBitmaps, TableError> {
        if passed.is_some_and(|p| p.phys_addr() == trapped.phys_addr()) {
            return Err(TableError::MsrBitmapPages);
        }
        let trapped = MsrBitmapPage::build(trapped, ipiv, TscDeadline::Trapped)?;
        let passed = passed
            .map(|page| MsrBitmapPage::build(page, ipiv, TscDeadline::Passed))
            .transpose()?;
        Ok(MsrBitmaps { trapped, passed })
    }

    /// The same set without the passing bitmap: for a vCPU whose timer is never virtualized.
    pub fn trapped_only(self) -> MsrBitmaps {
        MsrBitmaps {
            passed: None,
            ..self
        }
    }

    /// The bitmap for `tsc_deadline`, if the set has it.
    pub fn get(&self, tsc_deadline: TscDeadline) -> Option<&MsrBitmapPage> {
        match tsc_deadline {
            TscDeadline::Trapped => Some(&self.trapped),
            TscDeadline::Passed => self.passed.as_ref(),
        }
    }
}

/// The memory of one PID-pointer table as the heap hands it out: zeroed 8-byte entries that
/// only [`PidPointerTable::build`] writes (valid entries point at real descriptors).
#[derive(Debug)]
pub struct PidTableMemory {
    entries: &'static [AtomicU64],
}

impl PidTableMemory {
    /// `entries`, owned by the caller alone (tessera-arch's fixed heap and static tables).
    pub(crate) fn new(entries: &'static [AtomicU64]) -> Self {
        PidTableMemory { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn phys_addr(&self) -> u64 {
        self.entries.as_ptr() as u64
    }

    /// The raw entry at `index`.
    pub fn get(&self, index: usize) -> Option<u64> {
        self.entries.get(index).map(|e| e.load(Ordering::SeqCst))
    }
}

/// A PID-pointer table, built: `last_index + 1` entries, valid ones pointing at descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidPointerTable {
    addr: u64,
    last_index: u16,
}

impl PidPointerTable {
    /// Fills `memory` (exactly `last_index + 1` entries, 4 KiB aligned): each `(index, pid)` of
    /// `entries` becomes a valid entry pointing at `pid`, the others stay zero (invalid).
    pub fn build(
        memory: &PidTableMemory,
        last_index: u16,
        entries: impl IntoIterator<Item = (usize, &'static PostedInterruptDescriptor)>,
    ) -> Result<PidPointerTable, TableError> {
        before_install()?;
        let addr = memory.phys_addr();
        let table = memory.entries;
        if table.len() != usize::from(last_index) + 1 || !addr.is_multiple_of(PAGE_BYTES as u64) {
            return Err(TableError::PidTableShape {
                addr,
                entries: table.len(),
                last_index,
            });
        }
        for (index, pid) in entries {
            set_pid_entry(table, index, pid).map_err(|_| TableError::PidEntry { index })?;
        }
        Ok(PidPointerTable { addr, last_index })
    }

    /// The highest virtual APIC ID the table covers (the VMCS's last PID-pointer index).
    pub fn last_index(&self) -> u16 {
        self.last_index
    }

    pub(crate) fn phys_addr(&self) -> u64 {
        self.addr
    }
}

/// A vCPU's virtual-APIC page: the APIC registers its guest reads without exiting, and the ones
/// the hypervisor stores for it. Registers are named by `tessera_vmx::tables::apic_offset`.
#[derive(Debug)]
pub struct VirtualApicPage {
    page: &'static Page,
}

impl VirtualApicPage {
    /// `page` reset to an x2APIC after reset with ID `apic_id`.
    pub fn init(page: &'static Page, apic_id: u32) -> VirtualApicPage {
        init_virtual_apic_page(&mut PageWriter::new(page), apic_id);
        VirtualApicPage { page }
    }

    /// The 32-bit register at `offset` (an `apic_offset` constant).
    #[inline]
    pub fn read_u32(&self, offset: usize) -> u32 {
        self.page.read_u32(offset)
    }

    /// Stores the 32-bit register at `offset` (an `apic_offset` constant).
    #[inline]
    pub fn write_u32(&self, offset: usize, value: u32) {
        self.page.write_u32(offset, value)
    }

    /// The 64-bit ICR as the guest wrote it (x2APIC: 8 bytes at `apic_offset::ICR`).
    #[inline]
    pub fn icr(&self) -> u64 {
        self.page.read_u64(apic_offset::ICR)
    }

    /// Stores an ICR value written through a WRMSR exit, so that the guest reads it back.
    #[inline]
    pub fn set_icr(&self, icr: u64) {
        self.page.write_u64(apic_offset::ICR, icr)
    }

    pub fn phys_addr(&self) -> u64 {
        self.page.phys_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_vmx::tables::{EptMapping, EptPermissions, MemoryType};

    static PAGES: [Page; 5] = [const { Page::zeroed() }; 5];

    #[test]
    fn tables_are_built_then_sealed() {
        let ept = Ept::build::<3>(&PAGES[..3], |ept| {
            ept.map(&EptMapping {
                guest_base: 0,
                host_base: 0x20_0000,
                bytes: 0x20_0000,
                permissions: EptPermissions::RAM,
                memory_type: MemoryType::WriteBack,
            })
        })
        .unwrap();
        assert_eq!(ept.eptp() & !0xFFF, PAGES[0].phys_addr());
        assert_eq!(
            MsrBitmaps::build(&PAGES[3], Some(&PAGES[3]), false).unwrap_err(),
            TableError::MsrBitmapPages
        );
        let msr = MsrBitmaps::build(&PAGES[3], Some(&PAGES[4]), false).unwrap();
        let deadline = tessera_vmx::msr::IA32_TSC_DEADLINE;
        let trapped = msr.get(TscDeadline::Trapped).unwrap();
        let passed = msr.get(TscDeadline::Passed).unwrap();
        assert!(trapped.exits(deadline, true) && trapped.exits(deadline, false));
        assert!(!passed.exits(deadline, true) && !passed.exits(deadline, false));
        let icr = tessera_vmx::msr::X2APIC_ICR;
        assert!(
            trapped.exits(icr, true) && passed.exits(icr, true),
            "no IPIv"
        );
        assert!(msr.trapped_only().get(TscDeadline::Passed).is_none());
        mark_installed();
        assert_eq!(
            MsrBitmaps::build(&PAGES[3], None, true).unwrap_err(),
            TableError::Installed
        );
        assert_eq!(
            IoBitmapPair::build(&PAGES[1], &PAGES[2], []).unwrap_err(),
            TableError::Installed
        );
    }
}
