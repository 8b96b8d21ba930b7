//! Setting up every partition on the boot CPU: claim its RAM, place its image and boot area, build
//! its EPT and PID-pointer table, fill each vCPU's pages, and gather each vCPU's launch data (which
//! the boot CPU hands to the vCPUs).

pub mod hermit;
pub mod image;
pub mod tables;

#[cfg(test)]
mod heap_tests;

#[cfg(target_os = "none")]
pub use setup::{setup_all, Launch};

#[cfg(target_os = "none")]
mod setup {
    use super::{image, tables};
    use crate::heap::Descriptors;
    use crate::plan::PLAN;
    use tessera_arch::fatal;
    use tessera_arch::guest_ram::GuestRam;
    use tessera_arch::multiboot::BootInfo;
    use tessera_arch::vmx::{Ept, IoBitmapPair, MsrBitmaps, PidPointerTable};
    use tessera_vmx::apic_timer::TimerFrequency;
    use tessera_vmx::guest_abi::{BootTimer, TimerPath};
    use tessera_vmx::guest_state::GuestBootLayout;
    use tessera_vmx::ipi::VcpuRef;
    use tessera_vmx::tables::PostedInterruptDescriptor;

    /// Everything one vCPU needs to configure its VMCS and run.
    pub struct Launch {
        /// The vCPU's posted-interrupt descriptor.
        pub pid: &'static PostedInterruptDescriptor,
        /// The vCPU's virtual-APIC page, built.
        pub pages: tables::VcpuPages,
        /// The partition's tables, sealed: PID-pointer table, EPT, I/O bitmaps A and B (none
        /// when it is granted no port).
        pub pid_table: PidPointerTable,
        pub ept: Ept,
        pub io_bitmaps: Option<IoBitmapPair>,
        /// The MSR bitmaps the vCPU may use (the one passing IA32_TSC_DEADLINE only when its
        /// partition's timer runs on APIC-timer virtualization).
        pub msr_bitmaps: MsrBitmaps,
        /// The partition's RAM, read for console hypercalls.
        pub guest_memory: GuestRam,
        /// Its boot area's layout (`image::place`): where the vCPU's boot-info block, page
        /// tables, GDT and TSS are.
        pub layout: GuestBootLayout,
    }

    /// What every vCPU of one partition shares.
    struct PartitionReady {
        ept: Ept,
        io_bitmaps: Option<IoBitmapPair>,
        msr_bitmaps: MsrBitmaps,
        pid_table: PidPointerTable,
        guest_memory: GuestRam,
        layout: GuestBootLayout,
    }

    /// Sets up every partition and hands each vCPU's launch data to `publish` with its plan-order
    /// index, partition by partition (no partition's tables wait on the stack for the others); a
    /// failure refuses to boot. `timer_virtualization`: the CPU offers APIC-timer virtualization
    /// (each partition's `timer` setting decides whether its vCPUs use it).
    pub fn setup_all(
        boot: &BootInfo,
        pids: &Descriptors,
        ipiv: bool,
        frequency: TimerFrequency,
        timer_virtualization: bool,
        publish: &mut dyn FnMut(usize, Launch),
    ) {
        claim_channels(boot);
        let msr_bitmaps = tables::build_msr_bitmaps(ipiv)
            .unwrap_or_else(|e| fatal(format_args!("MSR bitmaps: {e}")));
        for (p, part) in PLAN.partitions.iter().enumerate() {
            let path = match part.timer.virtualized(timer_virtualization) == Some(true) {
                true => TimerPath::Virtualized,
                false => TimerPath::Trapped,
            };
            let timer = BootTimer { frequency, path };
            log::info!(
                "partition {}: timer = \"{}\": TSC-deadline timer {}",
                part.name,
                part.timer.as_str(),
                match path {
                    TimerPath::Virtualized =>
                        "on APIC-timer virtualization (no exit to arm or expire)",
                    TimerPath::Trapped => "trapped (1 exit to arm, 1 to expire)",
                }
            );
            let msr_bitmaps = match path {
                TimerPath::Virtualized => msr_bitmaps,
                TimerPath::Trapped => msr_bitmaps.trapped_only(),
            };
            let ready = setup_one(boot, p, timer, pids, msr_bitmaps);
            publish_launches(p, &ready, pids, publish);
        }
    }

    /// Hands out the launch data of partition `p`'s vCPUs, each with its plan-order index.
    fn publish_launches(
        p: usize,
        r: &PartitionReady,
        pids: &Descriptors,
        publish: &mut dyn FnMut(usize, Launch),
    ) {
        let part = &PLAN.partitions[p];
        for v in 0..part.vcpus.len() {
            let index = PLAN.vcpu_index(VcpuRef {
                partition: p as u16,
                vcpu: v as u16,
            });
            let pages = tables::build_vcpu_pages(part, v, index);
            let launch = Launch {
                pid: pids[index],
                pages,
                pid_table: r.pid_table,
                ept: r.ept,
                io_bitmaps: r.io_bitmaps,
                msr_bitmaps: r.msr_bitmaps,
                guest_memory: r.guest_memory,
                layout: r.layout,
            };
            publish(index, launch);
        }
    }

    /// Claims and zeroes every channel's ring and acknowledgement pages (board RAM no partition
    /// or other channel uses; the claim refuses anything else).
    fn claim_channels(boot: &BootInfo) {
        for c in PLAN.channels {
            let memory = tessera_arch::phys::claim_ram(boot, c.host_base, c.host_bytes())
                .unwrap_or_else(|e| fatal(format_args!("channel {}: memory: {e}", c.name)));
            memory.fill(0);
            log::info!(
                "channel {}: {} bytes at host {:#x}, {} reader(s), doorbell {:#x}, credit {:#x}, {}",
                c.name,
                c.host_bytes(),
                c.host_base,
                c.readers.len(),
                c.doorbell_vector,
                c.credit_vector,
                c.mode.as_str()
            );
        }
    }

    /// Not inlined: its frame (the boot-info block among others) must not add to the callers' on the
    /// boot CPU's stack.
    #[inline(never)]
    fn setup_one(
        boot: &BootInfo,
        p: usize,
        timer: BootTimer,
        pids: &Descriptors,
        msr_bitmaps: MsrBitmaps,
    ) -> PartitionReady {
        let part = &PLAN.partitions[p];
        let name = part.name;
        let memory = tessera_arch::phys::claim_ram(boot, part.memory.host_base, part.memory.bytes)
            .unwrap_or_else(|e| fatal(format_args!("partition {name}: memory: {e}")));
        let layout = image::place(&PLAN, p as u16, memory, timer)
            .unwrap_or_else(|e| fatal(format_args!("partition {name}: {e}")));
        let ept = tables::build_ept(&PLAN, p)
            .unwrap_or_else(|e| fatal(format_args!("partition {name}: {e}")));
        let pid_table = tables::build_pid_table(&PLAN, p, pids)
            .unwrap_or_else(|e| fatal(format_args!("partition {name}: {e}")));
        let io_bitmaps = tables::build_io_bitmaps(part, p)
            .unwrap_or_else(|e| fatal(format_args!("partition {name}: {e}")));
        log::info!(
            "partition {name}: {} MiB at host {:#x}, {} vCPU(s), EPT {} pages, PID-pointer table {} bytes",
            part.memory.bytes >> 20,
            part.memory.host_base,
            part.vcpus.len(),
            PLAN.heap.partitions[p].ept_pages,
            part.pid_table.bytes()
        );
        PartitionReady {
            ept,
            io_bitmaps,
            msr_bitmaps,
            pid_table,
            guest_memory: GuestRam::from_claim(memory),
            layout,
        }
    }
}
