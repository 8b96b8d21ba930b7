//! The run's verdict from how each vCPU ended. A partition succeeds when at least one of its vCPUs
//! stopped itself with status 0 and none stopped itself with another status. A vCPU the hypervisor
//! stopped for a fault does not fail its partition by itself: the isolation scenario expects such
//! stops, and there a sibling vCPU reports the partition's success after seeing the fault contained.
//! The run passes when every partition succeeds.

use core::fmt;

/// How one vCPU ended (or that it never ran).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VcpuEnd {
    /// Waiting for INIT/SIPI when the run ended, or never launched.
    NeverStarted,
    /// HYPERCALL_STOP with this status.
    Stopped { status: u64 },
    /// Stopped by the hypervisor (fault containment).
    Faulted,
}

impl fmt::Display for VcpuEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            VcpuEnd::NeverStarted => f.write_str("never started"),
            VcpuEnd::Stopped { status } => write!(f, "stopped itself with status {status}"),
            VcpuEnd::Faulted => f.write_str("stopped by the hypervisor (fault)"),
        }
    }
}

/// Why a partition did not succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionFailure {
    /// A vCPU stopped itself with a non-zero status.
    Status { vcpu: usize, status: u64 },
    /// No vCPU stopped itself with status 0.
    NoSuccess { faulted: usize },
}

impl fmt::Display for PartitionFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PartitionFailure::Status { vcpu, status } => {
                write!(f, "vcpu {vcpu} stopped with status {status}")
            }
            PartitionFailure::NoSuccess { faulted } => write!(
                f,
                "no vcpu reported success ({faulted} stopped for a fault)"
            ),
        }
    }
}

/// The verdict for one partition's vCPUs (in vCPU order).
pub fn partition_verdict(ends: &[VcpuEnd]) -> Result<(), PartitionFailure> {
    let failed = ends.iter().enumerate().find_map(|(vcpu, end)| match *end {
        VcpuEnd::Stopped { status } if status != 0 => {
            Some(PartitionFailure::Status { vcpu, status })
        }
        _ => None,
    });
    if let Some(failure) = failed {
        return Err(failure);
    }
    if ends.contains(&VcpuEnd::Stopped { status: 0 }) {
        Ok(())
    } else {
        let faulted = ends.iter().filter(|e| **e == VcpuEnd::Faulted).count();
        Err(PartitionFailure::NoSuccess { faulted })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use VcpuEnd::*;

    #[test]
    fn ends_read_as_words_in_the_summary() {
        assert_eq!(
            Stopped { status: 3 }.to_string(),
            "stopped itself with status 3"
        );
        assert_eq!(Faulted.to_string(), "stopped by the hypervisor (fault)");
        assert_eq!(NeverStarted.to_string(), "never started");
    }

    #[test]
    fn one_success_and_waiting_siblings_pass() {
        assert_eq!(
            partition_verdict(&[Stopped { status: 0 }, NeverStarted]),
            Ok(())
        );
    }

    #[test]
    fn a_contained_fault_beside_a_success_passes() {
        assert_eq!(partition_verdict(&[Stopped { status: 0 }, Faulted]), Ok(()));
    }

    #[test]
    fn non_zero_status_fails_even_beside_success() {
        assert_eq!(
            partition_verdict(&[Stopped { status: 0 }, Stopped { status: 3 }]),
            Err(PartitionFailure::Status { vcpu: 1, status: 3 })
        );
    }

    #[test]
    fn only_faults_or_nothing_fails() {
        assert_eq!(
            partition_verdict(&[Faulted, NeverStarted]),
            Err(PartitionFailure::NoSuccess { faulted: 1 })
        );
        assert_eq!(
            partition_verdict(&[]),
            Err(PartitionFailure::NoSuccess { faulted: 0 })
        );
    }
}
