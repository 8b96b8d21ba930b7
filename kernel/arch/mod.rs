//! Everything that touches the machine directly; the only place in the kernel with `unsafe` code.

mod entry;
