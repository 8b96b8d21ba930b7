//! The tables the processor reads on its own, built here and then sealed: an EPT, a pair of I/O
//! bitmaps, the MSR bitmaps and a PID-pointer table. Each builder consumes the typed handle of its
//! memory (`super::regions`: taken once from the heap or a pool, neither `Copy` nor `Clone`),
//! fills it with tessera-vmx's table builders and returns a sealed value that has no method
//! writing the table and is the only way to its address. Only these values can be installed in a
//! VMCS (`ActiveVmcs::configure`; a vCPU switches between its two installed MSR bitmaps with
//! `ActiveVmcs::pass_tsc_deadline`), and since the handle is gone once built, no builder can reach
//! a page the processor uses again:
//! ```compile_fail,E0382
//! use tessera_arch::vmx::{Ept, EptPages};
//! fn build_twice(pages: EptPages) {
//!     let _ = Ept::build::<4>(pages, |_| Ok(()));
//!     let _ = Ept::build::<4>(pages, |_| Ok(()));
//! }
//! ```
//! nor write through the sealed value:
//! ```compile_fail,E0599
//! fn rewrite(ept: tessera_arch::vmx::Ept) {
//!     let _ = ept.pages();
//! }
//! ```
//! The MSR bitmaps every partition shares are built once (a second build is refused) and handed
//! out by shared reference (`MsrBitmaps`). The virtual-APIC page is the guest's register file, not
//! a table: `VirtualApicPage` reads and writes its registers by name.

use super::page::{Page, PageWriter, PAGE_BYTES};
use super::posted::set_pid_entry;
use super::regions::{EptPages, IoBitmapRegions, MsrBitmapRegion, VirtualApicRegion};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tessera_vmx::tables::{
    apic_offset, eptp, init_virtual_apic_page, EptBuilder, EptError, IoBitmaps, MsrBitmap,
    PageSlot, PortRangeTooLong, PostedInterruptDescriptor,
};

/// Why a table was not built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableError {
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
    /// The shared MSR bitmaps are built already (they are built once).
    MsrBitmapsBuilt,
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
            TableError::Ept(e) => write!(f, "EPT: {e}"),
            TableError::EptPages { used, given } => {
                write!(f, "EPT used {used} pages, the plan reserved {given}")
            }
            TableError::Ports(e) => write!(f, "I/O bitmaps: {e}"),
            TableError::MsrBitmapsBuilt => f.write_str("the shared MSR bitmaps are built already"),
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

/// A built EPT: only its pointer is left (memory type write-back, 4-level walk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ept {
    eptp: u64,
}

impl Ept {
    /// Builds an EPT in `pages` (at most `N`; the first is the PML4): `map` adds every mapping;
    /// the builder must use exactly the pages given.
    pub fn build<const N: usize>(
        pages: EptPages,
        map: impl FnOnce(&mut EptBuilder<'_, PageWriter<'static>>) -> Result<(), EptError>,
    ) -> Result<Ept, TableError> {
        let pages: &'static [Page] = pages.pages();
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
    /// Builds bitmaps A and B in `pages` passing the port ranges `granted` (base, count) only.
    pub fn build(
        pages: IoBitmapRegions,
        granted: impl IntoIterator<Item = (u16, u32)>,
    ) -> Result<IoBitmapPair, TableError> {
        let [a, b] = pages.pages();
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
/// Neither `Copy` nor `Clone`: the one value of each shared bitmap stays in tessera-arch, and
/// every vCPU whose policy it holds uses it by shared reference ([`MsrBitmaps`]).
#[derive(Debug)]
pub struct MsrBitmapPage {
    page: &'static Page,
}

impl MsrBitmapPage {
    fn build(region: MsrBitmapRegion, ipiv: bool, tsc_deadline: TscDeadline) -> MsrBitmapPage {
        let page = region.page();
        let mut bitmap = MsrBitmap::deny_all(PageWriter::new(page));
        bitmap.allow_x2apic(ipiv);
        bitmap.pass_tsc_deadline(tsc_deadline == TscDeadline::Passed);
        MsrBitmapPage { page }
    }

    /// Whether an access to `msr` exits (reads the bitmap; for checks and reports).
    pub fn exits(&self, msr: u32, write: bool) -> bool {
        tessera_vmx::tables::msr_access_exits(&PageWriter::new(self.page), msr, write)
    }

    pub fn phys_addr(&self) -> u64 {
        self.page.phys_addr()
    }
}

/// The shared MSR bitmaps once built: the trapping one and, when built, the passing one.
type BuiltMsrBitmaps = (MsrBitmapPage, Option<MsrBitmapPage>);

/// Where the shared MSR bitmaps live once built: written once, by the one build that set `taken`,
/// and only read afterwards.
struct SharedMsrBitmaps {
    taken: AtomicBool,
    built: UnsafeCell<Option<BuiltMsrBitmaps>>,
}

// SAFETY: `built` is written only by the one `MsrBitmaps::build` call that swapped `taken` from
// false (no other call reaches it), before any reference to it exists; afterwards it is only read,
// and `MsrBitmapPage` is a shared reference to a volatile-access page.
unsafe impl Sync for SharedMsrBitmaps {}

static SHARED_MSR_BITMAPS: SharedMsrBitmaps = SharedMsrBitmaps {
    taken: AtomicBool::new(false),
    built: UnsafeCell::new(None),
};

/// The MSR bitmaps a vCPU's VMCS may point at, built with one x2APIC policy: one that traps
/// IA32_TSC_DEADLINE and, for a vCPU whose timer may run on APIC-timer virtualization, one that
/// passes it. These are the only addresses `ActiveVmcs::configure` (the trapping one) and
/// `ActiveVmcs::pass_tsc_deadline` write to the VMCS's MSR-bitmap field. A copy is a pair of
/// shared references to the bitmaps built once.
#[derive(Debug, Clone, Copy)]
pub struct MsrBitmaps {
    trapped: &'static MsrBitmapPage,
    passed: Option<&'static MsrBitmapPage>,
}

impl MsrBitmaps {
    /// Builds the trapping bitmap in `trapped` and, when given, the passing one in `passed`, both
    /// with the x2APIC policy for `ipiv`: once (`TableError::MsrBitmapsBuilt` afterwards, and
    /// the regions are dropped unused).
    pub fn build(
        trapped: MsrBitmapRegion,
        passed: Option<MsrBitmapRegion>,
        ipiv: bool,
    ) -> Result<MsrBitmaps, TableError> {
        if SHARED_MSR_BITMAPS.taken.swap(true, Ordering::AcqRel) {
            return Err(TableError::MsrBitmapsBuilt);
        }
        let trapped = MsrBitmapPage::build(trapped, ipiv, TscDeadline::Trapped);
        let passed = passed.map(|region| MsrBitmapPage::build(region, ipiv, TscDeadline::Passed));
        // SAFETY: this call swapped `taken` from false, so it is the only one ever to reach
        // `built`, and no reference to it exists yet; from here on it is only read.
        let built: &'static mut Option<BuiltMsrBitmaps> =
            unsafe { &mut *SHARED_MSR_BITMAPS.built.get() };
        let (trapped, passed) = built.insert((trapped, passed));
        Ok(MsrBitmaps {
            trapped,
            passed: passed.as_ref(),
        })
    }

    /// The same set without the passing bitmap: for a vCPU whose timer is never virtualized.
    pub fn trapped_only(self) -> MsrBitmaps {
        MsrBitmaps {
            passed: None,
            ..self
        }
    }

    /// The bitmap for `tsc_deadline`, if the set has it.
    pub fn get(&self, tsc_deadline: TscDeadline) -> Option<&'static MsrBitmapPage> {
        match tsc_deadline {
            TscDeadline::Trapped => Some(self.trapped),
            TscDeadline::Passed => self.passed,
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
        memory: PidTableMemory,
        last_index: u16,
        entries: impl IntoIterator<Item = (usize, &'static PostedInterruptDescriptor)>,
    ) -> Result<PidPointerTable, TableError> {
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

    /// The raw entry at `index` (a virtual APIC ID), for checks and reports.
    pub fn entry(&self, index: usize) -> Option<u64> {
        let entries = usize::from(self.last_index) + 1;
        // SAFETY: `addr` is the start of the `last_index + 1` static `AtomicU64`s of the
        // `PidTableMemory` this table was built in (`build` checked the length), which nothing
        // frees; reading an atomic is always sound.
        let table = unsafe { core::slice::from_raw_parts(self.addr as *const AtomicU64, entries) };
        table.get(index).map(|e| e.load(Ordering::SeqCst))
    }

    /// Physical address of the table (for the VMCS and checks).
    pub fn phys_addr(&self) -> u64 {
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
    /// `region` reset to an x2APIC after reset with ID `apic_id`.
    pub fn init(region: VirtualApicRegion, apic_id: u32) -> VirtualApicPage {
        let page = region.page();
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
    use crate::vmx::regions::{PageRegion, Token};
    use tessera_vmx::tables::{EptMapping, EptPermissions, MemoryType};

    static PAGES: [Page; 5] = [const { Page::zeroed() }; 5];

    #[test]
    fn tables_are_built_in_their_pages() {
        let ept = Ept::build::<3>(EptPages::new(&PAGES[..3]), |ept| {
            ept.map(&EptMapping {
                guest_base: 0,
                host_base: 0x20_0000,
                bytes: 0x20_0000,
                permissions: EptPermissions::READ,
                memory_type: MemoryType::WriteBack,
            })
        })
        .unwrap();
        assert_eq!(ept.eptp() & !0xFFF, PAGES[0].phys_addr());
        let region = |page| MsrBitmapRegion::from_page(page, Token::new());
        let msr = MsrBitmaps::build(region(&PAGES[3]), Some(region(&PAGES[4])), false).unwrap();
        let deadline = tessera_vmx::msr::IA32_TSC_DEADLINE;
        let trapped = msr.get(TscDeadline::Trapped).unwrap();
        let passed = msr.get(TscDeadline::Passed).unwrap();
        assert_eq!(trapped.phys_addr(), PAGES[3].phys_addr());
        assert_eq!(passed.phys_addr(), PAGES[4].phys_addr());
        assert!(trapped.exits(deadline, true) && trapped.exits(deadline, false));
        assert!(!passed.exits(deadline, true) && !passed.exits(deadline, false));
        let icr = tessera_vmx::msr::X2APIC_ICR;
        assert!(
            trapped.exits(icr, true) && passed.exits(icr, true),
            "no IPIv"
        );
        assert!(msr.trapped_only().get(TscDeadline::Passed).is_none());
        assert_eq!(
            MsrBitmaps::build(region(&PAGES[1]), None, true).unwrap_err(),
            TableError::MsrBitmapsBuilt,
            "built once"
        );
        let copy = msr;
        assert!(core::ptr::eq(
            copy.get(TscDeadline::Trapped).unwrap(),
            trapped
        ));
    }
}
