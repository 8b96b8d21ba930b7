//! Tessera hypervisor entry: bare-metal on `x86_64-unknown-none`; on the host only the pure modules build and test.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

mod plan;

#[cfg(target_os = "none")]
mod boot {
    use tessera_arch::{multiboot::BootInfo, Cpu};

    tessera_arch::entry_points!(bsp: bsp_main, ap: ap_main);

    /// The boot CPU after long mode, COM1 and its GDT/IDT are set up.
    fn bsp_main(cpu: Cpu, boot: BootInfo) -> ! {
        log::info!(
            "Tessera on APIC ID {}: {} MiB of RAM available",
            cpu.apic_id(),
            boot.available_bytes() >> 20
        );
        tessera_arch::halt_forever()
    }

    /// An application processor after bring-up.
    fn ap_main(_cpu: Cpu) -> ! {
        tessera_arch::halt_forever()
    }
}

/// On the host the hypervisor cannot run; this binary only exists so that `cargo test` covers the pure modules.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("tessera is a bare-metal hypervisor: build an image with `cargo xtask image`");
    std::process::exit(2);
}
