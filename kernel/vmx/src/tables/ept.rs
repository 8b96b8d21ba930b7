//! Building a partition's 4-level EPT in pages the caller provides (the kernel takes them from its
//! heap; host tests from a Vec). The mapping rule is [`super::ept_pages`] (the planner sizes the
//! heap with it): every 2 MiB-aligned 2 MiB block a range covers completely becomes one 2 MiB
//! page, the rest 4 KiB pages, and a paging-structure page is taken only when first needed. So the
//! pages used equal the planner's count: 1 PML4 + 1 PDPT per 512 GiB touched + 1 PD per 1 GiB touched + 1 PT per 2 MiB
//! block holding 4 KiB mappings.

use super::ept_entry::{
    is_present, leaf_entry, table_entry, EptPermissions, MemoryType, ADDRESS_MASK,
    GUEST_PHYSICAL_LIMIT, LARGE_PAGE, PAGE_2M_BYTES, PAGE_4K_BYTES,
};

use super::page::PageWords;

/// A page the builder may use, with the host-physical address the processor will see for it.
#[derive(Debug)]
pub struct PageSlot<P> {
    pub phys: u64,
    pub page: P,
}

/// A guest-physical range to map onto host-physical memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EptMapping {
    pub guest_base: u64,
    pub host_base: u64,
    pub bytes: u64,
    pub permissions: EptPermissions,
    pub memory_type: MemoryType,
}

/// Why a mapping could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EptError {
    /// No page at all for the PML4.
    NoPages,
    /// A page slot's physical address is not 4 KiB aligned.
    SlotNotAligned { phys: u64 },
    /// Base or length not 4 KiB aligned.
    Unaligned {
        guest_base: u64,
        host_base: u64,
        bytes: u64,
    },
    /// The range reaches beyond the 48-bit guest-physical space of a 4-level EPT.
    AboveGuestLimit { guest_base: u64, bytes: u64 },
    /// A 2 MiB guest block maps to a host address that is not 2 MiB aligned (the plan counts a 2 MiB page).
    HostNot2MiBAligned { guest: u64, host: u64 },
    /// The guest page is already mapped (ranges must be disjoint).
    AlreadyMapped { guest: u64 },
    /// Every provided page is in use: the plan counted fewer pages than this mapping needs.
    OutOfPages { guest: u64, pages: usize },
    /// Two slots claim the same physical address.
    DuplicateSlot { phys: u64 },
    /// A table entry points at a page that is not one of the builder's slots.
    UnknownTable { phys: u64 },
}

impl core::fmt::Display for EptError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            EptError::NoPages => f.write_str("no page for the PML4"),
            EptError::SlotNotAligned { phys } => {
                write!(f, "page slot {phys:#x} is not 4 KiB aligned")
            }
            EptError::Unaligned {
                guest_base,
                host_base,
                bytes,
            } => write!(
                f,
                "range of {bytes:#x} bytes at guest {guest_base:#x}, host {host_base:#x} is not 4 KiB aligned"
            ),
            EptError::AboveGuestLimit { guest_base, bytes } => write!(
                f,
                "range of {bytes:#x} bytes at guest {guest_base:#x} reaches past the 48-bit guest-physical space"
            ),
            EptError::HostNot2MiBAligned { guest, host } => write!(
                f,
                "2 MiB guest block {guest:#x} maps to host {host:#x}, which is not 2 MiB aligned"
            ),
            EptError::AlreadyMapped { guest } => {
                write!(f, "guest page {guest:#x} is mapped already")
            }
            EptError::OutOfPages { guest, pages } => write!(
                f,
                "all {pages} pages used at guest {guest:#x}: the plan counted fewer than the mapping needs"
            ),
            EptError::DuplicateSlot { phys } => {
                write!(f, "two page slots at {phys:#x}")
            }
            EptError::UnknownTable { phys } => {
                write!(f, "an entry points at {phys:#x}, which is none of the builder's pages")
            }
        }
    }
}

/// Fills caller-provided pages with an EPT. Slot 0 becomes the PML4.
pub struct EptBuilder<'s, P: PageWords> {
    slots: &'s mut [PageSlot<P>],
    used: usize,
}

/// Paging-structure levels, leaf-most last.
const SHIFTS: [u32; 4] = [39, 30, 21, 12];

impl<'s, P: PageWords> EptBuilder<'s, P> {
    /// Starts an empty EPT in `slots[0]` (zeroed here, like every page taken later).
    pub fn new(slots: &'s mut [PageSlot<P>]) -> Result<Self, EptError> {
        check_slots(slots)?;
        let first = slots.first_mut().ok_or(EptError::NoPages)?;
        first.page.fill_words(0);
        Ok(EptBuilder { slots, used: 1 })
    }

    /// Host-physical address of the PML4 (for [`super::eptp`]).
    pub fn pml4_phys(&self) -> u64 {
        self.slots[0].phys
    }

    /// Paging-structure pages used so far (compare with the plan).
    pub fn pages_used(&self) -> usize {
        self.used
    }

    /// Where `guest` lands in the EPT built so far (see [`super::translate`]).
    pub fn translate(&self, guest: u64) -> Option<super::Translation> {
        let read = |phys, index| {
            let slot = self.slots[..self.used]
                .iter()
                .find(|slot| slot.phys == phys)?;
            Some(slot.page.read_word(index))
        };
        super::translate(read, self.pml4_phys(), guest)
    }

    /// Maps `mapping` with 2 MiB pages where the guest block is aligned and covered, else 4 KiB pages.
    pub fn map(&mut self, mapping: &EptMapping) -> Result<(), EptError> {
        validate(mapping)?;
        let mut offset = 0;
        while offset < mapping.bytes {
            let (guest, host) = (mapping.guest_base + offset, mapping.host_base + offset);
            let large =
                guest.is_multiple_of(PAGE_2M_BYTES) && mapping.bytes - offset >= PAGE_2M_BYTES;
            if large && !host.is_multiple_of(PAGE_2M_BYTES) {
                return Err(EptError::HostNot2MiBAligned { guest, host });
            }
            let entry = leaf_entry(host, mapping.permissions, mapping.memory_type, large);
            self.set_leaf(guest, if large { 2 } else { 3 }, entry)?;
            offset += if large { PAGE_2M_BYTES } else { PAGE_4K_BYTES };
        }
        Ok(())
    }

    /// Walks from the PML4 to `leaf_level` (2 = PD, 3 = PT), taking pages as needed, and writes `entry`.
    fn set_leaf(&mut self, guest: u64, leaf_level: usize, entry: u64) -> Result<(), EptError> {
        let mut table = 0;
        for &shift in &SHIFTS[..leaf_level] {
            table = self.next_table(table, index(guest, shift), guest)?;
        }
        let (page, at) = (
            &mut self.slots[table].page,
            index(guest, SHIFTS[leaf_level]),
        );
        if is_present(page.read_word(at)) {
            return Err(EptError::AlreadyMapped { guest });
        }
        page.write_word(at, entry);
        Ok(())
    }

    /// The slot of the table that entry `at` of slot `table` points to, creating it when absent.
    fn next_table(&mut self, table: usize, at: usize, guest: u64) -> Result<usize, EptError> {
        let entry = self.slots[table].page.read_word(at);
        if !is_present(entry) {
            let fresh = self.take_page(guest)?;
            let fresh_entry = table_entry(self.slots[fresh].phys);
            self.slots[table].page.write_word(at, fresh_entry);
            return Ok(fresh);
        }
        if entry & LARGE_PAGE != 0 {
            return Err(EptError::AlreadyMapped { guest });
        }
        let phys = entry & ADDRESS_MASK;
        let used = &self.slots[..self.used];
        used.iter()
            .position(|slot| slot.phys == phys)
            .ok_or(EptError::UnknownTable { phys })
    }

    /// The next unused slot, zeroed.
    fn take_page(&mut self, guest: u64) -> Result<usize, EptError> {
        let pages = self.slots.len();
        let slot = self
            .slots
            .get_mut(self.used)
            .ok_or(EptError::OutOfPages { guest, pages })?;
        slot.page.fill_words(0);
        self.used += 1;
        Ok(self.used - 1)
    }
}

/// The 9-bit table index of `guest` at the level whose entries map `1 << shift` bytes.
const fn index(guest: u64, shift: u32) -> usize {
    ((guest >> shift) & 0x1FF) as usize
}

/// Every slot 4 KiB aligned and at its own address.
fn check_slots<P>(slots: &[PageSlot<P>]) -> Result<(), EptError> {
    for (i, slot) in slots.iter().enumerate() {
        if !slot.phys.is_multiple_of(PAGE_4K_BYTES) {
            return Err(EptError::SlotNotAligned { phys: slot.phys });
        }
        if slots[..i].iter().any(|earlier| earlier.phys == slot.phys) {
            return Err(EptError::DuplicateSlot { phys: slot.phys });
        }
    }
    Ok(())
}

fn validate(m: &EptMapping) -> Result<(), EptError> {
    if !(m.guest_base | m.host_base | m.bytes).is_multiple_of(PAGE_4K_BYTES) {
        return Err(EptError::Unaligned {
            guest_base: m.guest_base,
            host_base: m.host_base,
            bytes: m.bytes,
        });
    }
    if m.guest_base
        .checked_add(m.bytes)
        .is_none_or(|end| end > GUEST_PHYSICAL_LIMIT)
    {
        return Err(EptError::AboveGuestLimit {
            guest_base: m.guest_base,
            bytes: m.bytes,
        });
    }
    Ok(())
}
