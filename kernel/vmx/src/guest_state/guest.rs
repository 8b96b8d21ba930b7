//! The guest-state area for a vCPU's first VM entry: 64-bit mode, paging on the boot area's page
//! tables, flat segments from its GDT, interrupts off, no IDT yet (SDM Vol. 3C 25.4 "Guest-State
//! Area", 26.3.1 checks). RDI (the boot-info address) is a general register, set by the caller.

use super::gdt::{
    CODE_ACCESS_RIGHTS, CODE_SELECTOR, DATA_ACCESS_RIGHTS, DATA_SELECTOR, GDT_LIMIT,
    TSS_ACCESS_RIGHTS, TSS_LIMIT, TSS_SELECTOR, UNUSABLE_ACCESS_RIGHTS,
};
use super::layout::GuestBootLayout;
use super::writes::{FieldSink, FieldWrites};
use crate::fields::{
    Field16Guest as G16, Field32Guest as G32, Field64Guest as G64, NaturalGuest as GN,
};

/// CR0: PE, MP, ET, NE, WP, PG.
pub const GUEST_CR0: u64 = 1 << 0 | 1 << 1 | 1 << 4 | 1 << 5 | 1 << 16 | 1 << 31;
/// CR4: PAE, OSFXSR, OSXMMEXCPT (VMXE is added by the fixed bits and hidden by the read shadow).
pub const GUEST_CR4: u64 = 1 << 5 | 1 << 9 | 1 << 10;
/// EFER: LME and LMA.
pub const GUEST_EFER: u64 = 1 << 8 | 1 << 10;
/// EFER.NXE: execute-disable page-table bits allowed (uhyve starts Hermit with it set; Hermit's
/// application processors use NX-mapped stacks before they set it themselves).
pub const EFER_NXE: u64 = 1 << 11;
/// IA32_PAT after reset.
pub const GUEST_PAT: u64 = 0x0007_0406_0007_0406;
/// RFLAGS: only the reserved bit 1 (interrupts off).
pub const GUEST_RFLAGS: u64 = 1 << 1;
/// DR7 after reset.
pub const GUEST_DR7: u64 = 0x400;

/// Activity state at entry (SDM Vol. 3C 25.4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    Active = 0,
    /// Waits for the guest's INIT/SIPI (vCPUs the manifest does not start at boot).
    WaitForSipi = 3,
}

/// A control register's fixed bits in VMX operation (IA32_VMX_CR0/CR4_FIXED0/1, SDM Vol. 3D A.7-A.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedBits {
    pub fixed0: u64,
    pub fixed1: u64,
}

impl FixedBits {
    /// `value` with every must-be-1 bit set and every must-be-0 bit cleared.
    pub const fn apply(&self, value: u64) -> u64 {
        (value | self.fixed0) & self.fixed1
    }
}

/// What the first entry of one vCPU depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GuestEntry {
    pub rip: u64,
    /// 0 is fine: the guest's entry code sets its stack.
    pub rsp: u64,
    pub activity: Activity,
    pub cr0_fixed: FixedBits,
    pub cr4_fixed: FixedBits,
}

/// Every guest-state field for the first entry of a vCPU of the partition laid out by `layout`.
pub fn guest_state_writes(layout: &GuestBootLayout, entry: &GuestEntry) -> FieldWrites {
    let mut w = FieldWrites::new();
    guest_state_fields(layout, entry, &mut w);
    w
}

/// The writes of [`guest_state_writes`] into `w`, one by one.
pub fn guest_state_fields(layout: &GuestBootLayout, entry: &GuestEntry, w: &mut impl FieldSink) {
    control_registers(w, layout, entry);
    segments(w, layout);
    w.push(GN::Rip.encoding(), entry.rip);
    w.push(GN::Rsp.encoding(), entry.rsp);
    w.push(GN::Rflags.encoding(), GUEST_RFLAGS);
    w.push(G64::Ia32Efer.encoding(), GUEST_EFER);
    w.push(G64::Ia32Pat.encoding(), GUEST_PAT);
    w.push(G64::Ia32Debugctl.encoding(), 0);
    w.push(G64::VmcsLinkPointer.encoding(), u64::MAX);
    w.push(G32::InterruptibilityState.encoding(), 0);
    w.push(G32::ActivityState.encoding(), entry.activity as u64);
    w.push(GN::PendingDebugExceptions.encoding(), 0);
    w.push(G16::InterruptStatus.encoding(), 0);
    w.push(G32::Ia32SysenterCs.encoding(), 0);
    w.push(GN::Ia32SysenterEsp.encoding(), 0);
    w.push(GN::Ia32SysenterEip.encoding(), 0);
}

fn control_registers(w: &mut impl FieldSink, layout: &GuestBootLayout, entry: &GuestEntry) {
    w.push(GN::Cr0.encoding(), entry.cr0_fixed.apply(GUEST_CR0));
    w.push(GN::Cr3.encoding(), layout.pml4_guest());
    w.push(GN::Cr4.encoding(), entry.cr4_fixed.apply(GUEST_CR4));
    w.push(GN::Dr7.encoding(), GUEST_DR7);
}

/// The registers of one segment: selector, limit, access rights, base.
type SegmentFields = (G16, G32, G32, GN);

/// Flat segments: CS 64-bit code, every data register flat data (selector, access rights).
const FLAT_SEGMENTS: [(SegmentFields, u16, u32); 6] = [
    (
        (
            G16::CsSelector,
            G32::CsLimit,
            G32::CsAccessRights,
            GN::CsBase,
        ),
        CODE_SELECTOR,
        CODE_ACCESS_RIGHTS,
    ),
    (
        (
            G16::SsSelector,
            G32::SsLimit,
            G32::SsAccessRights,
            GN::SsBase,
        ),
        DATA_SELECTOR,
        DATA_ACCESS_RIGHTS,
    ),
    (
        (
            G16::DsSelector,
            G32::DsLimit,
            G32::DsAccessRights,
            GN::DsBase,
        ),
        DATA_SELECTOR,
        DATA_ACCESS_RIGHTS,
    ),
    (
        (
            G16::EsSelector,
            G32::EsLimit,
            G32::EsAccessRights,
            GN::EsBase,
        ),
        DATA_SELECTOR,
        DATA_ACCESS_RIGHTS,
    ),
    (
        (
            G16::FsSelector,
            G32::FsLimit,
            G32::FsAccessRights,
            GN::FsBase,
        ),
        DATA_SELECTOR,
        DATA_ACCESS_RIGHTS,
    ),
    (
        (
            G16::GsSelector,
            G32::GsLimit,
            G32::GsAccessRights,
            GN::GsBase,
        ),
        DATA_SELECTOR,
        DATA_ACCESS_RIGHTS,
    ),
];
const TR: SegmentFields = (
    G16::TrSelector,
    G32::TrLimit,
    G32::TrAccessRights,
    GN::TrBase,
);
const LDTR: SegmentFields = (
    G16::LdtrSelector,
    G32::LdtrLimit,
    G32::LdtrAccessRights,
    GN::LdtrBase,
);

/// Flat 64-bit code, flat data in every data register, the TSS, no LDT, the GDT and an empty IDT.
fn segments(w: &mut impl FieldSink, layout: &GuestBootLayout) {
    for (fields, selector, access_rights) in FLAT_SEGMENTS {
        segment(w, fields, selector, 0xFFFF_FFFF, access_rights, 0);
    }
    segment(
        w,
        TR,
        TSS_SELECTOR,
        TSS_LIMIT,
        TSS_ACCESS_RIGHTS,
        layout.tss_guest(),
    );
    segment(w, LDTR, 0, 0, UNUSABLE_ACCESS_RIGHTS, 0);
    w.push(GN::GdtrBase.encoding(), layout.gdt_guest());
    w.push(G32::GdtrLimit.encoding(), u64::from(GDT_LIMIT));
    w.push(GN::IdtrBase.encoding(), 0);
    w.push(G32::IdtrLimit.encoding(), 0);
}

fn segment(
    w: &mut impl FieldSink,
    (selector, limit, rights, base): SegmentFields,
    selector_value: u16,
    limit_value: u32,
    access_rights: u32,
    base_value: u64,
) {
    w.push(selector.encoding(), u64::from(selector_value));
    w.push(limit.encoding(), u64::from(limit_value));
    w.push(rights.encoding(), u64::from(access_rights));
    w.push(base.encoding(), base_value);
}
