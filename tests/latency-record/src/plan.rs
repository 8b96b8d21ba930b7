//! The probe plan: a fixed-size little-endian block that `cargo xtask latency` writes into the
//! latency guest's `.latency_plan` section (one image serves every partition; each vCPU finds its
//! part by partition and vCPU index). Checked by magic, version and a CRC-32, so an image built
//! without a plan (all zeros) or damaged is refused by name.

use crate::{Family, Wait};

/// First bytes of a plan.
pub const PLAN_MAGIC: [u8; 8] = *b"TLPLAN01";
/// Layout version.
pub const PLAN_VERSION: u32 = 1;
/// Most probes one plan holds.
pub const PROBES_MAX: usize = 48;
/// Longest probe name in bytes.
pub const NAME_MAX_BYTES: usize = 40;
const HEADER_BYTES: usize = 72;
const PROBE_BYTES: usize = 24 + NAME_MAX_BYTES;
/// Bytes of the whole block.
pub const PLAN_BYTES: usize = HEADER_BYTES + PROBES_MAX * PROBE_BYTES;
const CRC_AT: usize = 64;
/// `noise_partition` value meaning "no noisy neighbour".
pub const NO_NOISE: u16 = u16::MAX;

/// How the sender reaches the receiver (as the manifest says; the path taken also depends on
/// whether the CPU offers IPI virtualization).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Route {
    /// Both vCPUs in one partition (or the same vCPU, for timers).
    Intra = 0,
    Exitless = 1,
    Trapped = 2,
}

/// A vCPU: partition index (manifest order) and vCPU index in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Place {
    pub partition: u16,
    pub vcpu: u16,
}

/// One probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    pub id: u16,
    pub family: Family,
    pub wait: Wait,
    /// The one-way sender, round-trip initiator or timer vCPU.
    pub sender: Place,
    /// The one-way receiver or round-trip responder (the sender itself for timers).
    pub receiver: Place,
    /// Vector of the IPIs (or of the timer).
    pub vector: u8,
    /// Vector the receiver answers with (round trips) or says it is ready with, when it has a
    /// route back to the sender; 0 when it has none.
    pub reply_vector: u8,
    pub route: Route,
    /// For a one-way probe with no route back: TSC cycles after the sender's own start before
    /// its first IPI (the receiver cannot say it is ready; the plan staggers such probes).
    pub not_before_cycles: u64,
    name: [u8; NAME_MAX_BYTES],
    name_len: u8,
}

impl Probe {
    /// A probe named `name` (cut to [`NAME_MAX_BYTES`]), no reply vector, no start delay.
    pub fn new(id: u16, family: Family, wait: Wait, route: Route, name: &str) -> Probe {
        let mut bytes = [0; NAME_MAX_BYTES];
        let len = name.len().min(NAME_MAX_BYTES);
        bytes[..len].copy_from_slice(&name.as_bytes()[..len]);
        Probe {
            id,
            family,
            wait,
            sender: Place::default(),
            receiver: Place::default(),
            vector: 0,
            reply_vector: 0,
            route,
            not_before_cycles: 0,
            name: bytes,
            name_len: len as u8,
        }
    }

    pub fn name(&self) -> &str {
        core::str::from_utf8(&self.name[..usize::from(self.name_len)]).unwrap_or("?")
    }
}

/// Campaign-wide settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Samples kept per probe.
    pub samples: u32,
    /// Samples taken first and discarded (never printed).
    pub warmup: u32,
    /// Samples per exit-counter window (one snapshot before and after each).
    pub batch: u32,
    /// TSC cycles from one sample's start to the next (one-way sends, round-trip starts).
    pub gap_cycles: u64,
    /// TSC cycles a sender waits before its first probe over a route with no way back.
    pub start_delay_cycles: u64,
    /// Timer period in TSC cycles (timer probes).
    pub timer_period_cycles: u64,
    /// Partition index of the noisy neighbour, or [`NO_NOISE`].
    pub noise_partition: u16,
    /// TSC cycles the noisy neighbour stays busy.
    pub noise_cycles: u64,
}

/// A decoded plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub settings: Settings,
    probes: [Option<Probe>; PROBES_MAX],
    count: usize,
}

/// Why a plan block is unusable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanError {
    /// No magic: the image was built without a plan (`cargo xtask latency` writes one).
    Missing,
    UnsupportedVersion(u32),
    Checksum {
        stored: u32,
        computed: u32,
    },
    TooManyProbes(usize),
    BadProbe {
        index: usize,
    },
}

impl Plan {
    pub fn new(settings: Settings) -> Plan {
        Plan {
            settings,
            probes: [None; PROBES_MAX],
            count: 0,
        }
    }

    /// Adds `probe`; false if the plan is full.
    pub fn push(&mut self, probe: Probe) -> bool {
        if self.count == PROBES_MAX {
            return false;
        }
        self.probes[self.count] = Some(probe);
        self.count += 1;
        true
    }

    /// The probes in plan order.
    pub fn probes(&self) -> impl Iterator<Item = &Probe> {
        self.probes[..self.count].iter().flatten()
    }

    /// The block to write into the guest image.
    pub fn encode(&self) -> [u8; PLAN_BYTES] {
        let mut out = [0u8; PLAN_BYTES];
        let s = &self.settings;
        out[..8].copy_from_slice(&PLAN_MAGIC);
        put(&mut out, 8, &PLAN_VERSION.to_le_bytes());
        put(&mut out, 12, &(self.count as u32).to_le_bytes());
        put(&mut out, 16, &s.samples.to_le_bytes());
        put(&mut out, 20, &s.warmup.to_le_bytes());
        put(&mut out, 24, &s.batch.to_le_bytes());
        put(&mut out, 28, &s.noise_partition.to_le_bytes());
        put(&mut out, 32, &s.gap_cycles.to_le_bytes());
        put(&mut out, 40, &s.start_delay_cycles.to_le_bytes());
        put(&mut out, 48, &s.timer_period_cycles.to_le_bytes());
        put(&mut out, 56, &s.noise_cycles.to_le_bytes());
        for (index, probe) in self.probes().enumerate() {
            encode_probe(
                probe,
                &mut out[HEADER_BYTES + index * PROBE_BYTES..][..PROBE_BYTES],
            );
        }
        let crc = checksum(&out);
        put(&mut out, CRC_AT, &crc.to_le_bytes());
        out
    }

    /// Reads a block written by [`Plan::encode`].
    pub fn decode(bytes: &[u8; PLAN_BYTES]) -> Result<Plan, PlanError> {
        if bytes[..8] != PLAN_MAGIC {
            return Err(PlanError::Missing);
        }
        let version = u32_at(bytes, 8);
        if version != PLAN_VERSION {
            return Err(PlanError::UnsupportedVersion(version));
        }
        let (stored, computed) = (u32_at(bytes, CRC_AT), checksum(bytes));
        if stored != computed {
            return Err(PlanError::Checksum { stored, computed });
        }
        let count = u32_at(bytes, 12) as usize;
        if count > PROBES_MAX {
            return Err(PlanError::TooManyProbes(count));
        }
        let mut plan = Plan::new(Settings {
            samples: u32_at(bytes, 16),
            warmup: u32_at(bytes, 20),
            batch: u32_at(bytes, 24),
            noise_partition: u16_at(bytes, 28),
            gap_cycles: u64_at(bytes, 32),
            start_delay_cycles: u64_at(bytes, 40),
            timer_period_cycles: u64_at(bytes, 48),
            noise_cycles: u64_at(bytes, 56),
        });
        for index in 0..count {
            let at = HEADER_BYTES + index * PROBE_BYTES;
            let probe =
                decode_probe(&bytes[at..at + PROBE_BYTES]).ok_or(PlanError::BadProbe { index })?;
            plan.push(probe);
        }
        Ok(plan)
    }
}

fn encode_probe(probe: &Probe, out: &mut [u8]) {
    put(out, 0, &probe.id.to_le_bytes());
    out[2] = probe.family as u8;
    out[3] = probe.wait as u8;
    put(out, 4, &probe.sender.partition.to_le_bytes());
    put(out, 6, &probe.sender.vcpu.to_le_bytes());
    put(out, 8, &probe.receiver.partition.to_le_bytes());
    put(out, 10, &probe.receiver.vcpu.to_le_bytes());
    out[12] = probe.vector;
    out[13] = probe.route as u8;
    out[14] = probe.name_len;
    out[15] = probe.reply_vector;
    put(out, 16, &probe.not_before_cycles.to_le_bytes());
    put(out, 24, &probe.name);
}

fn decode_probe(bytes: &[u8]) -> Option<Probe> {
    let family = match bytes[2] {
        1 => Family::IpiOneWay,
        2 => Family::IpiRoundTrip,
        3 => Family::TimerLateness,
        _ => return None,
    };
    let wait = match bytes[3] {
        1 => Wait::Poll,
        2 => Wait::Halt,
        _ => return None,
    };
    let route = match bytes[13] {
        0 => Route::Intra,
        1 => Route::Exitless,
        2 => Route::Trapped,
        _ => return None,
    };
    let name_len = bytes[14];
    if usize::from(name_len) > NAME_MAX_BYTES {
        return None;
    }
    let mut name = [0; NAME_MAX_BYTES];
    name.copy_from_slice(&bytes[24..24 + NAME_MAX_BYTES]);
    let place = |at: usize| Place {
        partition: u16_at(bytes, at),
        vcpu: u16_at(bytes, at + 2),
    };
    Some(Probe {
        id: u16_at(bytes, 0),
        family,
        wait,
        sender: place(4),
        receiver: place(8),
        vector: bytes[12],
        reply_vector: bytes[15],
        route,
        not_before_cycles: u64_at(bytes, 16),
        name,
        name_len,
    })
}

/// CRC-32 of the block with its CRC field taken as zero.
fn checksum(bytes: &[u8; PLAN_BYTES]) -> u32 {
    let mut copy = *bytes;
    put(&mut copy, CRC_AT, &[0; 4]);
    crate::crc32(&copy)
}

fn put(out: &mut [u8], at: usize, bytes: &[u8]) {
    out[at..at + bytes.len()].copy_from_slice(bytes);
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_plan() -> Plan {
        let mut plan = Plan::new(Settings {
            samples: 1000,
            warmup: 50,
            batch: 100,
            gap_cycles: 100_000,
            start_delay_cycles: 50_000_000,
            timer_period_cycles: 200_000,
            noise_partition: NO_NOISE,
            noise_cycles: 0,
        });
        let mut probe = Probe::new(
            0,
            Family::IpiOneWay,
            Wait::Halt,
            Route::Exitless,
            "oneway alpha.0->beta.0 halt",
        );
        probe.sender = Place {
            partition: 0,
            vcpu: 0,
        };
        probe.receiver = Place {
            partition: 1,
            vcpu: 0,
        };
        probe.vector = 0x40;
        probe.not_before_cycles = 50_000_000;
        plan.push(probe);
        plan
    }

    #[test]
    fn encode_then_decode_is_identity() {
        let plan = sample_plan();
        let decoded = Plan::decode(&plan.encode()).unwrap();
        assert_eq!(decoded, plan);
        assert_eq!(
            decoded.probes().next().unwrap().name(),
            "oneway alpha.0->beta.0 halt"
        );
    }

    #[test]
    fn zeros_are_a_missing_plan_and_damage_is_caught() {
        assert_eq!(Plan::decode(&[0; PLAN_BYTES]), Err(PlanError::Missing));
        let mut bytes = sample_plan().encode();
        bytes[HEADER_BYTES + 12] ^= 1;
        assert!(matches!(
            Plan::decode(&bytes),
            Err(PlanError::Checksum { .. })
        ));
        let mut newer = sample_plan().encode();
        newer[8] = 2;
        assert_eq!(Plan::decode(&newer), Err(PlanError::UnsupportedVersion(2)));
    }
}
