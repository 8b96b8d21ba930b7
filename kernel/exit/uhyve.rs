//! uhyve hypercalls of a Hermit partition (tessera-vmx `guest_abi::uhyve`): an `out` of EAX to a
//! hypercall port. Console calls go to the partition's console line like Tessera's console
//! hypercall (same console share); exit stops every vCPU of the partition with the exit code; file
//! calls get -1 in their result field. Each is one I/O exit, counted as such. The legacy PICs
//! Hermit programs at boot read as fully masked (`legacy_pic_read`).

use super::Flow;
use crate::plan::PLAN;
use crate::vcpu::{shared, Vcpu};
use tessera_vmx::exit::{IoDirection, IoQualification, StopReason};
use tessera_vmx::fields::NaturalGuest;
use tessera_vmx::guest_abi::page_walk::{bytes_to_page_end, translate};
use tessera_vmx::guest_abi::uhyve::{
    exit_code, is_console_fd, legacy_pic_read, FileWrite, SerialBuffer, UhyveCall,
};

/// Most console bytes one hypercall may hand over (more is dropped, like bytes the bucket refuses).
const CALL_MAX_BYTES: u64 = 4096;
/// Bytes copied at a time, on the host stack (its size is the measured depth plus a margin: a
/// 256-byte chunk made this the deepest path by 200 bytes).
const CHUNK_BYTES: usize = 64;

/// Handles an I/O exit of a Hermit partition; ports that are no uhyve hypercall stop the vCPU.
pub fn handle(vcpu: &mut Vcpu, io: IoQualification) -> Flow {
    let denied = Flow::Stop(StopReason::DeniedPort {
        port: io.port,
        direction: io.direction,
    });
    if let Some(value) = legacy_pic_read(io.port) {
        return legacy_pic(vcpu, io, value).unwrap_or(denied);
    }
    let Some(call) = UhyveCall::at_port(io.port) else {
        return denied;
    };
    if io.direction != IoDirection::Out || io.string || io.size_bytes != 4 {
        return denied;
    }
    let argument = vcpu.regs.rax & 0xFFFF_FFFF;
    match serve(vcpu, call, argument) {
        Ok(Flow::Resume) => {
            vcpu.skip_instruction();
            Flow::Resume
        }
        Ok(stop) => stop,
        Err(guest_physical) => Flow::Stop(StopReason::HypercallArgument {
            port: io.port,
            guest_physical,
        }),
    }
}

/// A byte access to a legacy PIC port (see `legacy_pic_read`): reads give `value`, writes do
/// nothing. Anything but a single-byte IN/OUT is refused (`None`).
fn legacy_pic(vcpu: &mut Vcpu, io: IoQualification, value: u8) -> Option<Flow> {
    if io.string || io.size_bytes != 1 {
        return None;
    }
    if io.direction == IoDirection::In {
        vcpu.regs.rax = (vcpu.regs.rax & !0xFF) | u64::from(value);
    }
    vcpu.skip_instruction();
    Some(Flow::Resume)
}

/// Carries out `call`; an error is the guest-physical address that could not be accessed.
fn serve(vcpu: &mut Vcpu, call: UhyveCall, argument: u64) -> Result<Flow, u64> {
    match call {
        UhyveCall::Uart => print(vcpu, &[argument as u8]),
        UhyveCall::SerialBuffer => {
            let p = SerialBuffer::decode(&parameters(vcpu, argument)?);
            console_physical(vcpu, p.buf, p.len)?;
        }
        UhyveCall::FileWrite => {
            let p = FileWrite::decode(&parameters(vcpu, argument)?);
            if is_console_fd(p.fd) {
                console_virtual(vcpu, p.buf, p.len)?;
            }
        }
        UhyveCall::Exit => return Ok(exit(vcpu, exit_code(&parameters(vcpu, argument)?))),
        file_call => refuse(vcpu, file_call, argument)?,
    }
    Ok(Flow::Resume)
}

/// The call's `N` parameter bytes at guest-physical `at`.
fn parameters<const N: usize>(vcpu: &Vcpu, at: u64) -> Result<[u8; N], u64> {
    let mut out = [0u8; N];
    read(vcpu, at, &mut out)?;
    Ok(out)
}

/// Reads guest-physical `at..+out.len()` of the partition's memory.
fn read(vcpu: &Vcpu, at: u64, out: &mut [u8]) -> Result<(), u64> {
    let offset = offset(vcpu, at)?;
    vcpu.guest_memory.copy_out(offset, out).ok_or(at)
}

fn offset(vcpu: &Vcpu, at: u64) -> Result<usize, u64> {
    let base = PLAN.partitions[vcpu.partition as usize].memory.guest_base;
    at.checked_sub(base)
        .and_then(|o| usize::try_from(o).ok())
        .ok_or(at)
}

/// Stores the call's error answer (-1) in its result field.
fn refuse(vcpu: &Vcpu, call: UhyveCall, at: u64) -> Result<(), u64> {
    let Some((field, value)) = call.error_answer() else {
        return Ok(());
    };
    let place = at.checked_add(field as u64).ok_or(at)?;
    let offset = offset(vcpu, place)?;
    vcpu.guest_memory.copy_in(offset, value).ok_or(place)
}

/// Console bytes at guest-physical `buf..+len`.
fn console_physical(vcpu: &mut Vcpu, buf: u64, len: u64) -> Result<(), u64> {
    let mut chunk = [0u8; CHUNK_BYTES];
    let mut done = 0;
    while done < len.min(CALL_MAX_BYTES) {
        let n = (len.min(CALL_MAX_BYTES) - done).min(CHUNK_BYTES as u64) as usize;
        let at = buf.checked_add(done).ok_or(buf)?;
        read(vcpu, at, &mut chunk[..n])?;
        print(vcpu, &chunk[..n]);
        done += n as u64;
    }
    Ok(())
}

/// Console bytes at guest-virtual `buf..+len`, translated page by page through the guest's CR3.
fn console_virtual(vcpu: &mut Vcpu, buf: u64, len: u64) -> Result<(), u64> {
    let cr3 = vcpu.read(NaturalGuest::Cr3.encoding());
    let mut chunk = [0u8; CHUNK_BYTES];
    let mut done = 0;
    while done < len.min(CALL_MAX_BYTES) {
        let virt = buf.wrapping_add(done);
        let left = len.min(CALL_MAX_BYTES) - done;
        let n = left.min(bytes_to_page_end(virt)).min(CHUNK_BYTES as u64) as usize;
        let entry = |at: u64| parameters::<8>(vcpu, at).ok().map(u64::from_le_bytes);
        let physical = translate(cr3, virt, entry).ok_or(virt)?;
        read(vcpu, physical, &mut chunk[..n])?;
        print(vcpu, &chunk[..n]);
        done += n as u64;
    }
    Ok(())
}

/// Hands `bytes` to the vCPU's console line as far as its partition's console share pays for
/// (uhyve has no way to say "fewer": the rest is dropped and counted, as for Tessera's hypercall).
fn print(vcpu: &mut Vcpu, bytes: &[u8]) {
    let grant = crate::console::take(vcpu.partition, &vcpu.record.console_line, bytes);
    let dropped = (bytes.len() - grant.bytes) as u64;
    shared::of(vcpu.index).count_console(grant.bytes as u64, dropped);
    let name = vcpu.name();
    vcpu.record
        .console_line
        .push(&bytes[..grant.bytes], |line| {
            crate::console::emit(name, line)
        });
}

/// The application exited: every other vCPU of the partition is asked to stop, and this one
/// stops now.
fn exit(vcpu: &Vcpu, code: i32) -> Flow {
    let reason = StopReason::PartitionExit {
        code,
        vcpu: vcpu.vcpu,
    };
    stop_siblings(vcpu.partition, vcpu.vcpu, reason);
    Flow::Stop(StopReason::ApplicationExit { code })
}

/// Asks every vCPU of Hermit partition `partition` but `except` to stop for `reason` and kicks
/// its CPU out of the guest (uhyve ends the whole VM when one vCPU exits or fails).
pub fn stop_siblings(partition: u16, except: u16, reason: StopReason) {
    let part = &PLAN.partitions[partition as usize];
    for sibling in (0..part.vcpus.len() as u16).filter(|&v| v != except) {
        let to = tessera_vmx::ipi::VcpuRef {
            partition,
            vcpu: sibling,
        };
        shared::of(PLAN.vcpu_index(to)).request_stop(reason);
        super::ipi::send_fixed(to, super::ipi::KICK_VECTOR);
    }
}
