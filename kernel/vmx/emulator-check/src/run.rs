//! The boot CPU's side: VMX root, one guest built with tessera-vmx, every exit checked.

use crate::expect::expected_exits;
use crate::guest_code::*;
use crate::pages::{self, words};
use crate::vmcs::read;
use tessera_arch::multiboot::BootInfo;
use tessera_arch::vmx::test_hooks::PidTable;
use tessera_arch::vmx::{self, ActiveVmcs, GuestRegisters, Page};
use tessera_arch::vmx::{Vmcs, VmxRoot};
use tessera_arch::{fatal, msr, phys, println, Cpu};
use tessera_vmx::exit::{ExitCounters, ExitReasonField};
use tessera_vmx::fields::{Field32ReadOnly as R32, Field64Control as C64};
use tessera_vmx::guest_abi::{BootInfo as GuestBootInfo, BootPeer, PeerRoute};
use tessera_vmx::guest_state::*;
use tessera_vmx::select::{select, IpivMode, SelectedControls};
use tessera_vmx::tables::PostedInterruptDescriptor;
use tessera_vmx::tables::{self, EptBuilder, EptMapping, EptPermissions, IoBitmaps, MemoryType};
use tessera_vmx::tables::{MsrBitmap, PageSlot};

/// Host-physical RAM given to the guest (its guest-physical 0..8 MiB).
const RAM_HOST: u64 = 32 << 20;
const RAM_BYTES: u64 = 8 << 20;
/// Notification vector of the guest's posted-interrupt descriptor.
const NOTIFY_VECTOR: u8 = 0xF2;

static PID: PostedInterruptDescriptor = PostedInterruptDescriptor::new(0, 0);
static PID_TABLE: PidTable = PidTable::new();

/// The structures the processor reads for the guest.
pub struct Structures {
    ept_root: &'static Page,
    eptp_flags: u16,
    pub virtual_apic: &'static Page,
    msr_bitmap: &'static Page,
    io_bitmaps: [&'static Page; 2],
    layout: GuestBootLayout,
}

/// Boot CPU: runs the check and prints the result.
pub fn bsp_main(cpu: Cpu, boot: BootInfo) -> ! {
    println!("vmx-emulator-check: boot CPU APIC ID {}", cpu.apic_id());
    let root =
        vmx::enable(pages::region()).unwrap_or_else(|e| fatal(format_args!("VMX root: {e:?}")));
    let controls = select(&vmx::capabilities(), IpivMode::Preferred)
        .unwrap_or_else(|e| fatal(format_args!("control selection: {e}")));
    if let Some(why) = controls.ipiv_unavailable {
        println!("IPIv off: {why}");
    }
    let structures = build(&boot, &controls);
    let counters = run_guest(&root, &controls, &structures);
    let ipiv = if controls.ipiv { "on" } else { "off" };
    println!("{counters}");
    println!(
        "SUMMARY scenario=vmx-builders ipiv={ipiv} exits={}",
        counters.total()
    );
    println!("TESSERA-RESULT: pass");
    tessera_arch::halt_forever()
}

/// Application processors are not used.
pub fn ap_main(_cpu: Cpu) -> ! {
    tessera_arch::halt_forever()
}

/// EPT, bitmaps, virtual-APIC page, descriptor, PID table and the guest's memory.
fn build(boot: &BootInfo, controls: &SelectedControls) -> Structures {
    let (ept_root, eptp_flags) = build_ept();
    let msr_bitmap = pages::take();
    MsrBitmap::deny_all(words(msr_bitmap)).allow_x2apic(controls.ipiv);
    let io_bitmaps = [pages::take(), pages::take()];
    IoBitmaps::deny_all(words(io_bitmaps[0]), words(io_bitmaps[1]));
    let virtual_apic = pages::take();
    tables::init_virtual_apic_page(&mut words(virtual_apic), OWN_APIC_ID);
    PID.set_notification(NOTIFY_VECTOR, tessera_arch::apic::apic_id());
    PID_TABLE
        .set(OWN_APIC_ID as usize, &PID)
        .unwrap_or_else(|e| fatal(format_args!("PID table: {e:?}")));
    let layout = fill_guest_memory(boot);
    Structures {
        ept_root,
        eptp_flags,
        virtual_apic,
        msr_bitmap,
        io_bitmaps,
        layout,
    }
}

/// The guest's EPT: its 8 MiB of RAM only (the MMIO page its page tables map stays unmapped).
fn build_ept() -> (&'static Page, u16) {
    let ept_pages = [pages::take(), pages::take(), pages::take(), pages::take()];
    let mut slots = ept_pages.map(|page| PageSlot {
        phys: page.phys_addr(),
        page: words(page),
    });
    let mut ept = EptBuilder::new(&mut slots).unwrap_or_else(|e| fatal(format_args!("EPT: {e:?}")));
    let ram = EptMapping {
        guest_base: 0,
        host_base: RAM_HOST,
        bytes: RAM_BYTES,
        permissions: EptPermissions::RAM,
        memory_type: MemoryType::WriteBack,
    };
    ept.map(&ram)
        .unwrap_or_else(|e| fatal(format_args!("EPT map: {e:?}")));
    if ept.pages_used() != 3 {
        fatal(format_args!(
            "EPT used {} pages, the planner's rule says 3",
            ept.pages_used()
        ));
    }
    (ept_pages[0], (tables::eptp(ept.pml4_phys()) & 0xFFF) as u16)
}

/// Claims the guest's RAM, writes its boot area (page tables, GDT, boot info) and its code.
fn fill_guest_memory(boot: &BootInfo) -> GuestBootLayout {
    let ram = phys::claim_ram(boot, RAM_HOST, RAM_BYTES)
        .unwrap_or_else(|e| fatal(format_args!("guest RAM: {e:?}")));
    let mmio = [GuestRange {
        base: UNMAPPED_MMIO,
        bytes: 4096,
    }];
    let layout = GuestBootLayout::new(
        GuestRange {
            base: 0,
            bytes: RAM_BYTES,
        },
        1,
        &mmio,
    )
    .unwrap_or_else(|e| fatal(format_args!("boot area: {e:?}")));
    let area = &mut ram[layout.area_guest_base as usize..];
    write_boot_area(&layout, &mmio, area)
        .unwrap_or_else(|e| fatal(format_args!("boot area: {e:?}")));
    write_boot_info(&layout, area, 0, &boot_info())
        .unwrap_or_else(|e| fatal(format_args!("{e:?}")));
    ram[CODE_GUEST as usize..][..CODE.len()].copy_from_slice(&CODE);
    layout
}

fn boot_info() -> GuestBootInfo {
    let mut info = GuestBootInfo {
        vcpu_count: 1,
        virtual_apic_id: OWN_APIC_ID,
        memory_bytes: RAM_BYTES,
        ..GuestBootInfo::EMPTY
    };
    let own = BootPeer {
        virtual_apic_id: OWN_APIC_ID,
        route: PeerRoute::OwnPartition as u32,
        ..BootPeer::EMPTY
    };
    info.set_name("check")
        .and_then(|()| info.push_peer(own))
        .unwrap_or_else(|e| fatal(format_args!("{e:?}")));
    info
}

/// Writes the VMCS from tessera-vmx's lists and the arch's typed address setters.
fn configure(v: &mut ActiveVmcs, controls: &SelectedControls, s: &Structures) {
    let last_pid_index = controls.ipiv.then_some(OWN_APIC_ID as u16);
    let values = ControlValues {
        controls: *controls,
        posted_interrupt_vector: NOTIFY_VECTOR,
        last_pid_index,
    };
    let control_list = control_writes(&values).unwrap_or_else(|e| fatal(format_args!("{e:?}")));
    let entry = GuestEntry {
        rip: CODE_GUEST,
        rsp: 0,
        activity: Activity::Active,
        cr0_fixed: fixed_bits(0x486, 0x487),
        cr4_fixed: fixed_bits(0x488, 0x489),
    };
    let guest_list = guest_state_writes(&s.layout, &entry);
    for &(encoding, value) in control_list.as_slice().iter().chain(guest_list.as_slice()) {
        v.write_raw(encoding, value)
            .unwrap_or_else(|e| fatal(format_args!("VMWRITE {encoding:#x}: {e:?}")));
    }
    set_addresses(v, controls, s).unwrap_or_else(|e| fatal(format_args!("addresses: {e:?}")));
}

fn set_addresses(
    v: &mut ActiveVmcs,
    controls: &SelectedControls,
    s: &Structures,
) -> Result<(), vmx::VmcsError> {
    v.set_page(C64::IoBitmapA.encoding(), s.io_bitmaps[0])?;
    v.set_page(C64::IoBitmapB.encoding(), s.io_bitmaps[1])?;
    v.set_page(C64::MsrBitmap.encoding(), s.msr_bitmap)?;
    v.set_page(C64::VirtualApicAddress.encoding(), s.virtual_apic)?;
    v.set_posted_interrupt_descriptor(NOTIFY_VECTOR, &PID)?;
    v.set_eptp(s.ept_root, s.eptp_flags)?;
    if controls.ipiv {
        v.set_pid_pointer_table(&PID_TABLE, OWN_APIC_ID as u16)?;
    }
    v.set_host_state()
}

fn fixed_bits(fixed0: u32, fixed1: u32) -> FixedBits {
    FixedBits {
        fixed0: msr::read(fixed0),
        fixed1: msr::read(fixed1),
    }
}

/// Runs the guest to its last expected exit, checking each one.
fn run_guest(root: &VmxRoot, controls: &SelectedControls, s: &Structures) -> ExitCounters {
    let mut vmcs = Vmcs::new(pages::region(), root.revision_id());
    let mut v = root
        .activate(&mut vmcs)
        .unwrap_or_else(|e| fatal(format_args!("VMPTRLD: {e:?}")));
    configure(&mut v, controls, s);
    let mut regs = GuestRegisters {
        rdi: s.layout.boot_info_guest(0),
        ..GuestRegisters::default()
    };
    let mut counters = ExitCounters::new();
    for (step, &expected) in expected_exits(controls.ipiv).iter().enumerate() {
        let reason = enter(&mut v, &mut regs);
        counters.record(reason.basic());
        if reason.reason() != Some(expected) {
            fatal(format_args!(
                "exit {step}: expected {expected:?}, got {:?} ({:#x})",
                reason.reason(),
                reason.0
            ));
        }
        crate::checks::check_exit(&mut v, &mut regs, expected, s.virtual_apic);
    }
    counters
}

fn enter(v: &mut ActiveVmcs, regs: &mut GuestRegisters) -> ExitReasonField {
    if let Err(e) = v.enter(regs) {
        let number = v.read(R32::VmInstructionError.encoding()).unwrap_or(0) as u32;
        fatal(format_args!(
            "VM entry: {e:?}: {}",
            tessera_vmx::exit::instruction_error_text(number)
        ));
    }
    ExitReasonField(read(v, R32::ExitReason.encoding()) as u32)
}
