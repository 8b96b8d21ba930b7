//! From the assembly entry to the image's Rust entry points; the panic handler. The top layer of
//! tessera-arch with `smp`: below it CPU initialisation (`cpu_init`), per-CPU storage (`percpu`),
//! the console (`serial`) and halting (`halt`).

use crate::halt::fatal;
use crate::multiboot::{BootInfo, BOOTLOADER_MAGIC};
use crate::percpu::Cpu;

extern "Rust" {
    /// The image's boot-CPU entry, defined by `tessera_arch::entry_points!`.
    fn __tessera_bsp_main(cpu: Cpu, boot: BootInfo) -> !;
    /// The image's AP entry, defined by `tessera_arch::entry_points!`.
    fn __tessera_ap_main(cpu: Cpu) -> !;
    /// The image's console UART port base, defined by `tessera_arch::entry_points!`.
    fn __tessera_console_port() -> u16;
}

/// Defines the image's entry points, `bsp: fn(Cpu, BootInfo) -> !` and `ap: fn(Cpu) -> !`, its
/// per-CPU storage for `cpus` CPUs (a constant >= 1, the boot CPU included; each CPU's area and each
/// AP's start-up stack of `ap_stack_bytes` lie in `.bss`, and `smp::start_ap` refuses CPU indices
/// from `cpus` on), `boot_map_gib` (1-4: the GiBs from address 0 the image touches, mapped
/// through page directories of its own on a CPU without 1 GiB pages; with them all of the first
/// 512 GiB is mapped and GiBs 1-3 cost nothing) and `console_port`, the I/O port base of the 16550
/// UART its console and log go to. An image whose APs start on their own stacks
/// (`smp::start_ap_on`) passes `ap_stack_bytes: 0`; one whose APs run on it needs what they use.
#[macro_export]
macro_rules! entry_points {
    (bsp: $bsp:path, ap: $ap:path, cpus: $cpus:expr, ap_stack_bytes: $stack:expr, boot_map_gib: $gib:expr, console_port: $port:expr $(,)?) => {
        #[no_mangle]
        fn __tessera_console_port() -> u16 {
            $port
        }
        #[no_mangle]
        static __TESSERA_BOOT_MAP_GIB: u32 = $crate::paging::checked_map_gib($gib);
        #[no_mangle]
        static __TESSERA_BOOT_PDS: [$crate::paging::PageTable; ($gib) - 1] =
            $crate::paging::identity_pds::<{ ($gib) - 1 }>(1);
        static __TESSERA_CPU_STORAGE: $crate::percpu::CpuStorage<{ $cpus - 1 }, { $stack }> =
            $crate::percpu::CpuStorage::new();
        #[no_mangle]
        fn __tessera_cpu_slots() -> $crate::percpu::CpuSlots {
            __TESSERA_CPU_STORAGE.slots()
        }
        #[no_mangle]
        fn __tessera_bsp_main(cpu: $crate::Cpu, boot: $crate::multiboot::BootInfo) -> ! {
            $bsp(cpu, boot)
        }
        #[no_mangle]
        fn __tessera_ap_main(cpu: $crate::Cpu) -> ! {
            $ap(cpu)
        }
    };
}

/// Called by the 32-bit entry in long mode on the boot stack, with the loader's EAX and EBX.
pub(crate) extern "C" fn bsp_entry(magic: u32, info_phys: u32) -> ! {
    // SAFETY: the symbol is defined by `entry_points!` in the image with exactly this signature.
    crate::serial::init(unsafe { __tessera_console_port() });
    crate::serial::debug_port_write("tessera-arch: long mode\n");
    crate::serial::init_logger(log::LevelFilter::Info);
    crate::pic::mask_all();
    // Without an x2APIC the boot goes on with the xAPIC's initial ID, so the image can print its
    // banner and refuse the machine itself (`apic::x2apic_enabled`); nothing here uses the APIC.
    let apic_id = match crate::apic::enable_x2apic() {
        Ok(()) => crate::apic::apic_id(),
        Err(_) => crate::apic::initial_apic_id(),
    };
    let cpu = crate::cpu_init::install(0, apic_id);
    crate::boot_stack::guard_boot_stack();
    if magic != BOOTLOADER_MAGIC {
        fatal(format_args!(
            "not started by a Multiboot2 loader: EAX = {magic:#x}, expected {BOOTLOADER_MAGIC:#x}"
        ));
    }
    let Some(boot) = crate::multiboot::from_loader(info_phys as u64) else {
        fatal(format_args!(
            "Multiboot2 information at {info_phys:#x} is malformed"
        ));
    };
    // SAFETY: the symbol is defined by `entry_points!` in the image with exactly this signature.
    unsafe { __tessera_bsp_main(cpu, boot) }
}

/// Hands an AP over to the image.
pub(crate) fn call_ap_main(cpu: Cpu) -> ! {
    // SAFETY: the symbol is defined by `entry_points!` in the image with exactly this signature.
    unsafe { __tessera_ap_main(cpu) }
}

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    let cpu = crate::percpu::current_index_or_boot();
    match info.location() {
        Some(at) => fatal(format_args!(
            "panic on cpu{cpu} at {at}: {}",
            info.message()
        )),
        None => fatal(format_args!("panic on cpu{cpu}: {}", info.message())),
    }
}
