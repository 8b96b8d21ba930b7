//! vCPU 0 of partition `cpu-model` (scenario `cpu-model`): the CPU Tessera shows and what it does
//! with instructions that reach below it. CPUID hides what the MSR policy denies; XSETBV refuses
//! bad XCR0 values with #GP and leaves XCR0 as it was, and a good one makes AVX usable; INVD and
//! WBINVD complete; every VMX instruction raises #UD; a VMCALL from user mode (CPL 3) asking to
//! stop the vCPU raises #UD instead. Each instruction that must exit is counted by the
//! hypervisor's own counters, read back through the exit-count hypercall.

use tessera_guest::exits::ExitReason;
use tessera_guest::fault_probe::{self, VmxInstruction};
use tessera_guest::{cpu, fail, hypercall, println, BootInfo, TestResult};

const UD: u8 = 6;
const GP: u8 = 13;
/// XCR0 components: x87, SSE, AVX.
const X87_SSE_AVX: u64 = 0b111;
/// VMCLEAR..VMXON, INVEPT, INVVPID (VMFUNC raises #UD without an exit when VM functions are off).
const VMX_EXITS: [ExitReason; 11] = [
    ExitReason::Vmclear,
    ExitReason::Vmlaunch,
    ExitReason::Vmptrld,
    ExitReason::Vmptrst,
    ExitReason::Vmread,
    ExitReason::Vmresume,
    ExitReason::Vmwrite,
    ExitReason::Vmxoff,
    ExitReason::Vmxon,
    ExitReason::Invept,
    ExitReason::Invvpid,
];

/// XSETBV calls the hypervisor must refuse: (ECX, value, why).
const BAD_XSETBV: [(u32, u64, &str); 5] = [
    (0, 0, "x87 cleared"),
    (0, 0b101, "AVX without SSE"),
    (0, 0b11 | 0b11 << 3, "MPX, not offered"),
    (1, 0b11, "XCR1"),
    (0, 0b11 | 1 << 63, "reserved bit 63"),
];

pub fn check(info: &BootInfo) -> TestResult {
    hidden_features()?;
    xsave()?;
    caches()?;
    vmx_instructions()?;
    user_vmcall(info)?;
    println!("vcpu 0: cpu model as promised");
    Ok(())
}

/// Features whose MSRs the partition is not granted read as absent.
fn hidden_features() -> TestResult {
    let [_, _, ecx1, edx1] = cpu::cpuid(1, 0);
    let [_, _, _, edx7] = cpu::cpuid(7, 0);
    let perf = cpu::cpuid(0xA, 0);
    let hidden = [
        ("EIST", ecx1 & 1 << 7),
        ("VMX", ecx1 & 1 << 5),
        ("PDCM", ecx1 & 1 << 15),
        ("MCE", edx1 & 1 << 7),
        ("MCA", edx1 & 1 << 14),
        ("MTRR", edx1 & 1 << 12),
        ("SEP", edx1 & 1 << 11),
        ("IBRS/IBPB", edx7 & 1 << 26),
        ("STIBP", edx7 & 1 << 27),
        ("ARCH_CAPABILITIES", edx7 & 1 << 29),
        ("SSBD", edx7 & 1 << 31),
        (
            "perf monitoring leaf 0AH",
            perf.iter().fold(0, |a, r| a | r),
        ),
    ];
    for (name, bits) in hidden {
        if bits != 0 {
            return fail!("CPUID shows {name}, whose MSRs the partition is not granted");
        }
    }
    if ecx1 & (1 << 26 | 1 << 28) != 1 << 26 | 1 << 28 {
        return fail!("CPUID hides XSAVE or AVX (leaf 1 ECX {ecx1:#x})");
    }
    println!("vcpu 0: CPUID hides EIST, VMX, PDCM, MCE, MCA, MTRR, SEP, speculation controls and leaf 0AH; shows XSAVE and AVX");
    Ok(())
}

fn xsave() -> TestResult {
    if fault_probe::avx_instruction() != Some(UD) {
        return fail!("an AVX instruction ran before XCR0 enabled AVX");
    }
    if let Some(vector) = fault_probe::enable_osxsave() {
        return fail!("setting CR4.OSXSAVE raised vector {vector}");
    }
    if cpu::cpuid(1, 0)[2] & 1 << 27 == 0 {
        return fail!("CPUID does not show OSXSAVE after the guest set CR4.OSXSAVE");
    }
    let initial = xcr0()?;
    let exits_before = exits(ExitReason::Xsetbv)?;
    for (index, value, why) in BAD_XSETBV {
        let raised = fault_probe::xsetbv(index, value);
        if raised != Some(GP) {
            return fail!("XSETBV ECX={index} {value:#x} ({why}) raised {raised:?}, not #GP");
        }
        if xcr0()? != initial {
            return fail!("XCR0 changed by a refused XSETBV ({why})");
        }
    }
    if let Some(vector) = fault_probe::xsetbv(0, X87_SSE_AVX) {
        return fail!("XSETBV of x87|SSE|AVX raised vector {vector}");
    }
    if xcr0()? != X87_SSE_AVX {
        return fail!("XCR0 is {:#x} after XSETBV of x87|SSE|AVX", xcr0()?);
    }
    if let Some(vector) = fault_probe::avx_instruction() {
        return fail!("an AVX instruction raised vector {vector} with AVX enabled");
    }
    let exited = exits(ExitReason::Xsetbv)? - exits_before;
    if exited != 6 {
        return fail!("{exited} XSETBV exits counted, 6 executed");
    }
    println!("vcpu 0: XSETBV: 5 bad values refused with #GP (XCR0 kept {initial:#x}), x87|SSE|AVX loaded, AVX runs; 6 exits");
    Ok(())
}

fn caches() -> TestResult {
    let before = (exits(ExitReason::Invd)?, exits(ExitReason::Wbinvd)?);
    for (writeback, name) in [(false, "INVD"), (true, "WBINVD")] {
        if let Some(vector) = fault_probe::flush_caches(writeback) {
            return fail!("{name} raised vector {vector}");
        }
    }
    let after = (exits(ExitReason::Invd)?, exits(ExitReason::Wbinvd)?);
    let counted = (after.0 - before.0, after.1 - before.1);
    println!(
        "vcpu 0: INVD and WBINVD completed; exits counted: invd {}, wbinvd {}",
        counted.0, counted.1
    );
    if counted.0 != 1 {
        return fail!("INVD completed without exiting to the hypervisor");
    }
    Ok(())
}

fn vmx_instructions() -> TestResult {
    let before = vmx_exits()?;
    for instruction in VmxInstruction::ALL {
        let raised = fault_probe::vmx(instruction);
        if raised != Some(UD) {
            return fail!("{instruction:?} raised {raised:?}, not #UD");
        }
    }
    let exited = vmx_exits()? - before;
    println!("vcpu 0: 12 VMX instructions raised #UD; {exited} of them exited to the hypervisor");
    if exited != VMX_EXITS.len() as u64 {
        return fail!(
            "{exited} VMX-instruction exits counted, {} expected",
            VMX_EXITS.len()
        );
    }
    Ok(())
}

/// VMCALL STOP (status 7) from CPL 3: refused with #UD, the vCPU goes on.
fn user_vmcall(info: &BootInfo) -> TestResult {
    let before = exits(ExitReason::Vmcall)?;
    let raised = fault_probe::vmcall_from_user(info);
    // The exit-count call itself is a VMCALL the hypervisor does not count in its answer.
    let exited = exits(ExitReason::Vmcall)? - before - 1;
    if raised != Some(UD) {
        return fail!("VMCALL at CPL 3 raised {raised:?}, not #UD");
    }
    println!("vcpu 0: VMCALL STOP from CPL 3 raised #UD ({exited} exit), the vCPU runs on");
    if exited != 1 {
        return fail!("{exited} VMCALL exits counted for the one at CPL 3");
    }
    Ok(())
}

fn xcr0() -> Result<u64, tessera_guest::Failure> {
    fault_probe::xgetbv().map_err(|vector| {
        tessera_guest::Failure::new(format_args!("XGETBV raised vector {vector}"))
    })
}

fn exits(reason: ExitReason) -> Result<u64, tessera_guest::Failure> {
    hypercall::exit_count(reason)
        .map_err(|e| tessera_guest::Failure::new(format_args!("exit count {reason:?}: {e:?}")))
}

fn vmx_exits() -> Result<u64, tessera_guest::Failure> {
    VMX_EXITS.iter().map(|&reason| exits(reason)).sum()
}
