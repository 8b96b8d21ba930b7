//! What a partition running the `hostile` guest does, from its name.

/// A partition's part in a hostile scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Prints lines that imitate the hypervisor's, then fails (scenario `oracle-forgery`).
    Forger,
    /// Floods the console from every vCPU (scenario `console-flood`).
    Flooder,
    /// Times its own console writes with and without the flood (scenario `console-flood`).
    Witness,
    /// Single-steps through instructions the hypervisor completes (scenario `entry-state`).
    Stepper,
    /// Sends INIT, start-up and NMI IPIs to another partition (scenario `isolation-waiting`).
    Intruder,
    /// Keeps a vCPU waiting for its own start-up and checks the intruder changed nothing.
    Sleeper,
    /// Writes pseudo-random ICR values (scenario `ipi-fuzz`).
    Fuzzer,
    /// Counts what the fuzzer's IPIs bring (`friend`, `guarded`, `stranger` in `ipi-fuzz`).
    Receiver,
    /// Does nothing hostile and passes.
    Bystander,
}

/// The role of partition `name`, if it has one.
pub fn of(name: &str) -> Option<Role> {
    match name {
        "forger" => Some(Role::Forger),
        "flooder" => Some(Role::Flooder),
        "witness" => Some(Role::Witness),
        "stepper" => Some(Role::Stepper),
        "intruder" => Some(Role::Intruder),
        "sleeper" => Some(Role::Sleeper),
        "fuzzer" => Some(Role::Fuzzer),
        "friend" | "guarded" | "stranger" => Some(Role::Receiver),
        "bystander" => Some(Role::Bystander),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_by_name() {
        assert_eq!(of("forger"), Some(Role::Forger));
        assert_eq!(of("bystander"), Some(Role::Bystander));
        assert_eq!(of("alpha"), None);
    }
}
