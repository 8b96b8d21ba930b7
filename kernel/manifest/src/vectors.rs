//! Sets of interrupt vectors: tessera-vmx's `VectorSet`, the type a trapped route's allow-list has
//! in the plan and in the IPI route decision alike.

pub use tessera_vmx::ipi::VectorSet;
