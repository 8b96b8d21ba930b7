//! `channel-rpc`: request/response round trips between `rpc-client` and `rpc-server` over a
//! channel pair (`req` client -> server, `resp` server -> client, exitless doorbells), then the
//! same exchange over a second pair (`req2`, `resp2`) whose every doorbell and credit also makes
//! a hypercall first, as a doorbell through the hypervisor does (ACRN's and Jailhouse's ivshmem
//! doorbell registers, Bao's hypercall). The client prints both round trips side by side.

use crate::ipiv;
use crate::lookup::PATIENCE_CYCLES;
use crate::ratio::Ratio;
use tessera_guest::channel::{FullPolicy, Ipi, Reader, Signal, Writer, MAX_PAYLOAD_BYTES};
use tessera_guest::exits::Meter;
use tessera_guest::hypercall::denied_ipis;
use tessera_guest::{cpu, fail, println, time, BootInfo, Failure, TestResult};

/// Round trips per pass.
const ROUND_TRIPS: u64 = 1_000;
/// Bytes of a request (a response is the same size).
const REQUEST_BYTES: usize = 48;

/// A doorbell that enters the hypervisor: one hypercall (the side-effect-free denied-IPI read),
/// then the IPI.
#[derive(Clone, Copy)]
struct Hypercall;

impl Signal for Hypercall {
    fn raise(&mut self, apic_id: u32, vector: u8) {
        let _ = denied_ipis();
        Ipi.raise(apic_id, vector);
    }
    fn halt(&mut self) {
        Ipi.halt();
    }
    fn now(&mut self) -> u64 {
        cpu::rdtsc()
    }
}

/// One pass's figures.
struct Pass {
    cycles: u64,
    best: u64,
    exits: u64,
}

pub fn client(info: &BootInfo) -> TestResult {
    let ipiv = ipiv::on()?;
    let channel = exchange(info, ("req", "resp"), Ipi)?;
    let hypercall = exchange(info, ("req2", "resp2"), Hypercall)?;
    let name = ipiv::name(ipiv);
    for (path, p) in [("channel", &channel), ("hypercall", &hypercall)] {
        println!(
            "SUMMARY channel=rpc path={path} ipiv={name} round_trips={ROUND_TRIPS} rtt_cycles={} best_rtt_cycles={} exits_per_rtt={}",
            p.cycles / ROUND_TRIPS, p.best, Ratio(p.exits, ROUND_TRIPS)
        );
    }
    println!(
        "SUMMARY channel=rpc side_by_side ipiv={name} channel_rtt_cycles={} hypercall_rtt_cycles={} hypercall_over_channel={}",
        channel.cycles / ROUND_TRIPS, hypercall.cycles / ROUND_TRIPS, Ratio(hypercall.cycles, channel.cycles)
    );
    Ok(())
}

/// The client's requests and their responses on one channel pair; exits are the client's own.
fn exchange<S: Signal + Copy>(
    info: &BootInfo,
    (out, back): (&str, &str),
    signal: S,
) -> Result<Pass, Failure> {
    let (req, resp) = (
        crate::lookup::channel(info, out)?,
        crate::lookup::channel(info, back)?,
    );
    let mut w = Writer::new(req, cpu::channel_words(req), FullPolicy::Block, signal);
    let mut r = Reader::new(resp, cpu::channel_words(resp), signal);
    if !time::wait_until(PATIENCE_CYCLES, || r.ready() == Ok(true)) {
        return fail!("the server never set `{back}` up");
    }
    let (mut request, mut buf) = ([0u8; REQUEST_BYTES], [0u8; MAX_PAYLOAD_BYTES]);
    let mut best = u64::MAX;
    let meter = Meter::start()?;
    let start = cpu::rdtsc();
    for n in 0..ROUND_TRIPS {
        request
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = (n as u8) ^ i as u8);
        let t = cpu::rdtsc();
        w.send(&request);
        let got = loop {
            match r.receive(&mut buf) {
                Ok(Some(m)) => break m,
                Ok(None) => r.wait(),
                Err(e) => return fail!("the server broke `{back}`: {e:?}"),
            }
        };
        best = best.min(cpu::rdtsc() - t);
        if got.seq != n || buf[..got.bytes] != answer(&request)[..] {
            return fail!("response {} does not answer request {n}", got.seq);
        }
    }
    let cycles = cpu::rdtsc() - start;
    let exits = meter.stop()?.total();
    w.close();
    Ok(Pass {
        cycles,
        best,
        exits,
    })
}

pub fn server(info: &BootInfo) -> TestResult {
    serve(info, ("req", "resp"), Ipi)?;
    serve(info, ("req2", "resp2"), Hypercall)?;
    println!("SUMMARY channel=rpc side=server passes=2 round_trips={ROUND_TRIPS}");
    Ok(())
}

/// Answers every request on one pair until the client closes it.
fn serve<S: Signal + Copy>(
    info: &BootInfo,
    (inbound, outbound): (&str, &str),
    signal: S,
) -> Result<(), Failure> {
    let (req, resp) = (
        crate::lookup::channel(info, inbound)?,
        crate::lookup::channel(info, outbound)?,
    );
    let mut w = Writer::new(resp, cpu::channel_words(resp), FullPolicy::Block, signal);
    let mut r = Reader::new(req, cpu::channel_words(req), signal);
    if !time::wait_until(PATIENCE_CYCLES, || r.ready() == Ok(true)) {
        return fail!("the client never set `{inbound}` up");
    }
    let mut buf = [0u8; MAX_PAYLOAD_BYTES];
    while !r.finished() {
        match r.receive(&mut buf) {
            Ok(Some(m)) => {
                w.send(&answer(
                    &buf[..m.bytes].try_into().unwrap_or([0; REQUEST_BYTES]),
                ));
            }
            Ok(None) => r.wait(),
            Err(e) => return fail!("the client broke `{inbound}`: {e:?}"),
        }
    }
    if r.stats.messages != ROUND_TRIPS {
        return fail!("{} requests on `{inbound}`", r.stats.messages);
    }
    Ok(())
}

/// The response to a request: every byte complemented, in reverse order.
fn answer(request: &[u8; REQUEST_BYTES]) -> [u8; REQUEST_BYTES] {
    let mut out = [0u8; REQUEST_BYTES];
    for (o, b) in out.iter_mut().zip(request.iter().rev()) {
        *o = !b;
    }
    out
}
