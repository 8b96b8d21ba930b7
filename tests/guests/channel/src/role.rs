//! Which test a vCPU runs, by partition name and vCPU index.

/// One vCPU's part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    StreamWriter,
    StreamReader,
    FanWriter,
    /// A fan-out reader that spends `delay_cycles` on each message.
    FanReader {
        delay_cycles: u64,
    },
    /// Sends good messages, corrupts the ring's indices and slots, then sends good ones again.
    HostileWriter,
    /// Reads the hostile writer's ring, reporting every corruption it detects.
    CarefulReader,
    /// A reader vCPU that writes to the ring it maps read-only.
    RingScribbler,
    /// A vCPU of a partition without the channel reaching for the channel's memory.
    Stranger,
    /// Works on its own and checks the attacker did not come back.
    Bystander,
    RpcClient,
    RpcServer,
}

/// The role of vCPU `vcpu` of partition `name`.
pub fn of(name: &str, vcpu: u32) -> Option<Role> {
    Some(match (name, vcpu) {
        ("stream-writer", 0) => Role::StreamWriter,
        ("stream-reader", 0) => Role::StreamReader,
        ("fan-writer", 0) => Role::FanWriter,
        ("fast-a", 0) => Role::FanReader { delay_cycles: 0 },
        ("fast-b", 0) => Role::FanReader {
            delay_cycles: 2_000,
        },
        ("slow", 0) => Role::FanReader {
            delay_cycles: 400_000,
        },
        ("h-writer", 0) => Role::HostileWriter,
        ("h-reader", 0) | ("h-witness", 0) | ("s-reader", 0) => Role::CarefulReader,
        ("h-reader", 1) => Role::RingScribbler,
        ("s-writer", 0) => Role::HostileWriter,
        ("stranger", 0) => Role::Bystander,
        ("stranger", 1) => Role::Stranger,
        ("rpc-client", 0) => Role::RpcClient,
        ("rpc-server", 0) => Role::RpcServer,
        _ => return None,
    })
}
