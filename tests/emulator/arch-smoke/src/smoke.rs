//! The boot CPU's and the APs' side of the smoke test (each CPU also runs an all-context INVEPT).

use crate::check::{aps_to_start, mismatch, Listed};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use tessera_arch::multiboot::BootInfo;
use tessera_arch::vmx::{self, PagePool};
use tessera_arch::{fatal, phys, println, smp, Cpu};

/// CPUs the smoke test brings up at most (the emulator board has 4).
pub const CPUS: usize = 4;

/// APIC ID each CPU read from its own x2APIC, by CPU index.
static REPORTED_APIC_ID: [AtomicU32; CPUS] = [const { AtomicU32::new(u32::MAX) }; CPUS];
/// CPUs (boot CPU included) that entered VMX root.
static IN_VMX_ROOT: AtomicUsize = AtomicUsize::new(0);
/// One VMXON region per CPU.
static VMXON_PAGES: PagePool<CPUS> = PagePool::new();
const VMX_WAIT_SPINS: u64 = 100_000;

/// Boot CPU: boot information, MADT, AP bring-up, VMX root everywhere.
pub fn bsp_main(cpu: Cpu, boot: BootInfo) -> ! {
    let start_cycles = tessera_arch::tsc_cycles();
    let ram_mib = boot.available_bytes() >> 20;
    println!(
        "arch-smoke: boot CPU APIC ID {}, {ram_mib} MiB available, RSDP {:?}",
        cpu.apic_id(),
        boot.rsdp_addr()
    );
    let madt =
        tessera_arch::acpi::madt_cpus(&boot).unwrap_or_else(|e| fatal(format_args!("MADT: {e}")));
    let listed: heapless::Vec<Listed, 64> = madt.iter().map(|c| (c.apic_id, c.enabled)).collect();
    println!(
        "MADT lists {} processors: {:?}",
        listed.len(),
        listed
            .iter()
            .map(|c| c.0)
            .collect::<heapless::Vec<u32, 64>>()
    );
    let mut started: heapless::Vec<u32, CPUS> = heapless::Vec::new();
    for apic_id in aps_to_start(&listed, cpu.apic_id()) {
        let index = started.len() + 1;
        smp::start_ap(index, apic_id)
            .unwrap_or_else(|e| fatal(format_args!("CPU {index} (APIC ID {apic_id}): {e:?}")));
        let _ = started.push(apic_id);
    }
    let reported: heapless::Vec<u32, CPUS> = (1..=started.len())
        .map(|i| REPORTED_APIC_ID[i].load(Ordering::SeqCst))
        .collect();
    if let Some((i, want, got)) = mismatch(&started, &reported) {
        fatal(format_args!(
            "CPU {} was started as APIC ID {want} but reads {got}",
            i + 1
        ));
    }
    check_claims(&boot);
    enter_vmx_root(&cpu);
    wait_vmx_root(started.len() + 1);
    let cycles = tessera_arch::tsc_cycles() - start_cycles;
    println!(
        "SUMMARY cpus={} ram_mib={ram_mib} elapsed_cycles={cycles}",
        started.len() + 1
    );
    println!("TESSERA-RESULT: pass");
    tessera_arch::halt_forever()
}

/// Application processor: reports its APIC ID, enters VMX root, halts.
pub fn ap_main(cpu: Cpu) -> ! {
    REPORTED_APIC_ID[cpu.index()].store(tessera_arch::apic::apic_id(), Ordering::SeqCst);
    enter_vmx_root(&cpu);
    tessera_arch::halt_forever()
}

/// Physical RAM claims: a free range is handed out once and holds what is written; the same range,
/// the image and low memory are refused.
fn check_claims(boot: &BootInfo) {
    const BASE: u64 = 16 << 20;
    const BYTES: u64 = 1 << 20;
    let ram = phys::claim_ram(boot, BASE, BYTES)
        .unwrap_or_else(|e| fatal(format_args!("claim 16 MiB: {e:?}")));
    ram.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
    if ram.iter().enumerate().any(|(i, b)| *b != i as u8) {
        fatal(format_args!("claimed RAM does not hold what was written"));
    }
    let refusals = [
        phys::claim_ram(boot, BASE + 4096, 4096),
        phys::claim_ram(boot, 2 << 20, 4096),
        phys::claim_ram(boot, 0x8000, 4096),
    ];
    if let Some(ok) = refusals.iter().position(|r| r.is_ok()) {
        fatal(format_args!("claim {ok} should have been refused"));
    }
    println!("RAM claims: 1 MiB at 16 MiB granted; overlap, image and low memory refused");
}

fn enter_vmx_root(cpu: &Cpu) {
    let region = VMXON_PAGES.take_region().expect("one VMXON page per CPU");
    match vmx::enable(region) {
        Ok(_root) => {
            // All-context INVEPT is legal in VMX root without a current VMCS.
            if let Err(e) = vmx::invept(None) {
                fatal(format_args!(
                    "cpu{}: INVEPT (all contexts) failed: {e:?}",
                    cpu.index()
                ));
            }
            IN_VMX_ROOT.fetch_add(1, Ordering::SeqCst);
        }
        Err(e) => fatal(format_args!(
            "cpu{} (APIC ID {}): VMX root refused: {e:?}",
            cpu.index(),
            cpu.apic_id()
        )),
    }
}

fn wait_vmx_root(cpus: usize) {
    for _ in 0..VMX_WAIT_SPINS {
        if IN_VMX_ROOT.load(Ordering::SeqCst) == cpus {
            println!("all {cpus} CPUs in VMX root");
            return;
        }
        smp::spin(100);
    }
    fatal(format_args!(
        "only {} of {cpus} CPUs reached VMX root",
        IN_VMX_ROOT.load(Ordering::SeqCst)
    ))
}
