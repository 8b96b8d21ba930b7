//! The boot CPU's path (check the machine, set up the heap's descriptors, set up partitions, start the CPUs the
//! plan uses) and every CPU's move onto its vCPU's host stack.

#[cfg(target_os = "none")]
mod checks;
pub mod machine;
#[cfg(target_os = "none")]
mod timer;

/// What this hypervisor was built from: its version and the SHA-256 of its partitions file. The
/// boot banner starts with it, and `cargo xtask inspect` finds the same bytes in the hypervisor ELF
/// of an appliance image and checks them against the image's metadata.
pub const BUILD_ID: &str = concat!(
    "Tessera ",
    env!("TESSERA_IMAGE_VERSION"),
    " manifest sha256 ",
    env!("TESSERA_MANIFEST_SHA256")
);

#[cfg(test)]
mod tests {
    /// The version is `TESSERA_VERSION` (set by `cargo xtask image`) or the package's, and the
    /// digest is the SHA-256 of the partitions file this build used (computed here from the
    /// file, not taken from the build script).
    #[test]
    fn build_id_names_the_version_and_a_manifest_digest() {
        use sha2::{Digest, Sha256};
        let rest = super::BUILD_ID.strip_prefix("Tessera ").unwrap();
        let (version, digest) = rest.split_once(" manifest sha256 ").unwrap();
        let expected_version = option_env!("TESSERA_VERSION").unwrap_or(env!("CARGO_PKG_VERSION"));
        assert_eq!(version, expected_version);
        let manifest = option_env!("TESSERA_MANIFEST").unwrap_or("partitions/default.toml");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(manifest);
        let bytes = std::fs::read(&path).expect("the build read this file");
        assert_eq!(digest, format!("{:x}", Sha256::digest(bytes)));
    }
}

#[cfg(target_os = "none")]
mod flow {
    use crate::plan::{HEAP_BYTES, PLAN};
    use crate::run::vcpu_main;
    use crate::timing;
    use crate::vcpu::{launch, shared};
    use tessera_arch::fixed_heap::HostStack;
    use tessera_arch::multiboot::BootInfo;
    use tessera_arch::{fatal, Cpu};

    /// APs have no start-up stack: each starts on its vCPU's host stack (`smp::start_ap_on`).
    const AP_STACK_BYTES: usize = 0;

    include!(concat!(env!("OUT_DIR"), "/boot_map.rs"));

    tessera_arch::entry_points!(
        bsp: bsp_main,
        ap: ap_main,
        cpus: crate::plan::CPU_SLOTS,
        ap_stack_bytes: AP_STACK_BYTES,
        boot_map_gib: BOOT_MAP_GIB,
        console_port: crate::plan::CONSOLE_PORT,
    );

    fn bsp_main(cpu: Cpu, boot: BootInfo) -> ! {
        timing::mark_boot_start();
        crate::console::start(format_args!(
            "{}: board {}, {} partition(s), {} vCPU(s), IPIv {}",
            super::BUILD_ID,
            PLAN.board,
            PLAN.partitions.len(),
            PLAN.vcpus().count(),
            PLAN.ipiv.mode.as_str()
        ));
        #[cfg(feature = "stack-overflow-test")]
        overflow_stack_on_purpose();
        prepare(&boot);
        for (index, (_, _, vcpu)) in PLAN.vcpus().enumerate() {
            if vcpu.starts_at_boot {
                shared::of(index).start_at_boot();
            }
        }
        start_other_cpus(cpu.apic_id());
        enter_own_vcpu(cpu.apic_id())
    }

    /// Test-only (feature `stack-overflow-test`, scenario `stack-overflow`): the boot CPU runs
    /// into the guard page under its stack, which must end in `fatal: CPU 0: stack overflow ...`.
    #[cfg(feature = "stack-overflow-test")]
    fn overflow_stack_on_purpose() {
        log::warn!("test hook: overflowing the boot CPU's stack on purpose");
        tessera_arch::test_hooks::overflow_stack()
    }

    /// Machine check, heap, partitions; logs the TSC cycles each took.
    fn prepare(boot: &BootInfo) {
        let controls = super::checks::machine(boot);
        launch::set_controls(controls);
        let frequency = super::timer::frequency();
        launch::set_timer_frequency(frequency);
        let checked = tessera_arch::tsc_cycles();
        let heap_ready_at = set_up_partitions(boot, &controls, frequency);
        tessera_arch::println!(
            "SUMMARY boot_machine_check_cycles={} boot_heap_cycles={} boot_partitions_cycles={}",
            timing::since_boot_start(checked),
            heap_ready_at - checked,
            tessera_arch::tsc_cycles() - heap_ready_at
        );
    }

    /// Hands out the heap's descriptors, sets up every partition and publishes each vCPU's launch
    /// data; returns the TSC when the heap was ready. Not inlined: its frame (the partitions'
    /// tables, the launch data) is not on the stack while the machine check runs.
    #[inline(never)]
    fn set_up_partitions(
        boot: &BootInfo,
        controls: &tessera_vmx::select::SelectedControls,
        frequency: tessera_vmx::apic_timer::TimerFrequency,
    ) -> u64 {
        let pids = crate::heap::take_descriptors();
        let heap_ready_at = tessera_arch::tsc_cycles();
        log::info!(
            "heap: {HEAP_BYTES} bytes, {} structures at planned offsets",
            PLAN.heap_items().count()
        );
        tessera_arch::println!("SUMMARY heap_bytes={HEAP_BYTES}");
        for (index, pid) in pids.iter().enumerate() {
            shared::of(index).set_pid(pid);
        }
        crate::partition::setup_all(
            boot,
            &pids,
            controls.ipiv,
            frequency,
            controls.apic_timer_virtualization,
            &mut launch::publish,
        );
        heap_ready_at
    }

    /// An AP already runs on its vCPU's host stack (`start_other_cpus`): it runs the vCPU there.
    fn ap_main(cpu: Cpu) -> ! {
        let apic_id = cpu.apic_id();
        let Some(index) = own_vcpu(apic_id) else {
            fatal(format_args!(
                "APIC ID {apic_id} was started but hosts no vCPU"
            ))
        };
        vcpu_main(index as u64)
    }

    /// Starts each CPU that hosts a vCPU (one AP at a time), except the calling one, on its
    /// vCPU's host stack.
    fn start_other_cpus(own_apic_id: u32) {
        let others = PLAN
            .vcpus()
            .enumerate()
            .map(|(index, (_, _, v))| (index, v.physical_apic_id))
            .filter(|&(_, apic)| apic != own_apic_id);
        for (n, (index, apic_id)) in others.enumerate() {
            let stack = take_host_stack(index);
            if let Err(e) = tessera_arch::smp::start_ap_on(n + 1, apic_id, stack) {
                fatal(format_args!(
                    "CPU with APIC ID {apic_id} did not start: {e}"
                ));
            }
        }
    }

    /// The plan-order index of the vCPU pinned to the CPU with `apic_id`, if any.
    fn own_vcpu(apic_id: u32) -> Option<usize> {
        PLAN.vcpus()
            .position(|(_, _, v)| v.physical_apic_id == apic_id)
    }

    /// Moves the boot CPU onto the host stack of the vCPU pinned to it and runs it; halts if none is.
    fn enter_own_vcpu(apic_id: u32) -> ! {
        let Some(index) = own_vcpu(apic_id) else {
            log::info!("APIC ID {apic_id} hosts no vCPU: halting");
            tessera_arch::halt_forever()
        };
        tessera_arch::stack::run_on(take_host_stack(index), vcpu_main, index as u64)
    }

    /// The host stack of vCPU `index`, taken from the heap (once), its probe in the vCPU's
    /// shared state for the summary.
    fn take_host_stack(index: usize) -> HostStack {
        let Some(stack) = crate::heap::host_stack(index) else {
            fatal(format_args!("vCPU {index}: no host stack"))
        };
        shared::of(index).set_stack_probe(stack.probe());
        stack
    }
}
