//! What a vCPU of the `ipi` guest does, from its partition's name and vCPU index.

use crate::wait::Wait;

/// A vCPU's part in the IPI tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// One side of a ping-pong; `intra` = both sides in this partition (vCPU 0 pings vCPU 1).
    PingPong { ping: bool, wait: Wait, intra: bool },
    /// Sends every eligible vector to every APIC ID it has no route to (`denied`).
    Denier,
    /// Counts arrivals that must not come (`denied`).
    Watcher,
    /// Sends every eligible vector over a trapped route (`trapped`).
    TrapSender,
    /// Receives over the trapped route (`trapped`).
    TrapReceiver,
    /// Sends the shorthand, logical, NMI and self cases (`local`).
    LocalDriver,
    /// Counts the `local` cases.
    LocalReceiver,
    /// Passes at once (a vCPU a test does not use).
    Idle,
}

/// The role of vCPU `vcpu` in partition `name`, or `None` for an unknown name.
pub fn of(name: &str, vcpu: u32) -> Option<Role> {
    match (name, vcpu) {
        ("denier", 0) => return Some(Role::Denier),
        ("denier" | "friend" | "stranger", _) => return Some(Role::Watcher),
        ("trapper", 0) => return Some(Role::TrapSender),
        ("trapped", 0) => return Some(Role::TrapReceiver),
        ("local", 0) => return Some(Role::LocalDriver),
        ("local", 1 | 2) => return Some(Role::LocalReceiver),
        ("bystander", _) => return Some(Role::Watcher),
        _ => {}
    }
    let (kind, wait) = name.split_once('-')?;
    let wait = match wait {
        "poll" => Wait::Poll,
        "halt" => Wait::Halt,
        _ => return None,
    };
    let ping_pong = |ping, intra| Some(Role::PingPong { ping, wait, intra });
    match (kind, vcpu) {
        ("intra", 0) => ping_pong(true, true),
        ("intra", 1) => ping_pong(false, true),
        ("intra", _) => Some(Role::Idle),
        ("ping", 0) => ping_pong(true, false),
        ("pong", 0) => ping_pong(false, false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_choose_side_and_wait() {
        let role = |ping, wait, intra| Some(Role::PingPong { ping, wait, intra });
        assert_eq!(of("intra-poll", 0), role(true, Wait::Poll, true));
        assert_eq!(of("intra-halt", 1), role(false, Wait::Halt, true));
        assert_eq!(of("intra-halt", 2), Some(Role::Idle));
        assert_eq!(of("ping-halt", 0), role(true, Wait::Halt, false));
        assert_eq!(of("pong-poll", 0), role(false, Wait::Poll, false));
        assert_eq!(of("pong-spin", 0), None);
        assert_eq!(of("alpha", 0), None);
    }

    #[test]
    fn denied_and_trapped_roles() {
        assert_eq!(of("denier", 0), Some(Role::Denier));
        assert_eq!(of("denier", 1), Some(Role::Watcher));
        assert_eq!(of("stranger", 0), Some(Role::Watcher));
        assert_eq!(of("trapper", 0), Some(Role::TrapSender));
        assert_eq!(of("trapped", 0), Some(Role::TrapReceiver));
        assert_eq!(of("trapped", 1), None);
        assert_eq!(of("local", 2), Some(Role::LocalReceiver));
        assert_eq!(of("bystander", 0), Some(Role::Watcher));
    }
}
