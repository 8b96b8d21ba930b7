//! A FIFO (ticket) lock: CPUs get the lock in the order they asked for it, so a waiter is behind
//! at most one holder per other CPU. The serial console uses it, which is what bounds how long one
//! partition's output can delay another's. It also records which CPU holds it, so a CPU that
//! faults while printing can tell that the console is its own.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// No CPU holds the lock.
const NO_OWNER: usize = usize::MAX;

/// Mutual exclusion in arrival order; interrupts are not touched.
pub struct TicketLock<T> {
    next_ticket: AtomicU32,
    now_serving: AtomicU32,
    owner: AtomicUsize,
    value: UnsafeCell<T>,
}

// SAFETY: access to `value` is serialized by the tickets, so sharing the lock is safe when `T` may be sent.
unsafe impl<T: Send> Sync for TicketLock<T> {}

impl<T> TicketLock<T> {
    /// A new unlocked lock around `value`.
    pub const fn new(value: T) -> Self {
        Self {
            next_ticket: AtomicU32::new(0),
            now_serving: AtomicU32::new(0),
            owner: AtomicUsize::new(NO_OWNER),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes a ticket and spins until it is served; `cpu` is recorded as the holder.
    pub fn lock(&self, cpu: usize) -> TicketGuard<'_, T> {
        let ticket = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        while self.now_serving.load(Ordering::Acquire) != ticket {
            core::hint::spin_loop();
        }
        self.owner.store(cpu, Ordering::Relaxed);
        TicketGuard { lock: self }
    }

    /// Takes the lock if nobody holds or waits for it.
    pub fn try_lock(&self, cpu: usize) -> Option<TicketGuard<'_, T>> {
        let serving = self.now_serving.load(Ordering::Acquire);
        self.next_ticket
            .compare_exchange(
                serving,
                serving.wrapping_add(1),
                Ordering::Acquire,
                Ordering::Relaxed,
            )
            .ok()?;
        self.owner.store(cpu, Ordering::Relaxed);
        Some(TicketGuard { lock: self })
    }

    /// Whether CPU `cpu` holds the lock now.
    pub fn held_by(&self, cpu: usize) -> bool {
        self.owner.load(Ordering::Relaxed) == cpu
    }
}

/// Proof that the lock is held; the next ticket is served when it is dropped.
pub struct TicketGuard<'a, T> {
    lock: &'a TicketLock<T>,
}

impl<T> Deref for TicketGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while its ticket is served, so no other reference exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for TicketGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference through this guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for TicketGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.owner.store(NO_OWNER, Ordering::Relaxed);
        self.lock.now_serving.fetch_add(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn try_lock_fails_while_held_and_the_owner_is_known() {
        let lock = TicketLock::new(5u32);
        let mut guard = lock.try_lock(1).expect("free lock");
        *guard += 1;
        assert!(lock.held_by(1) && !lock.held_by(0));
        assert!(lock.try_lock(0).is_none());
        drop(guard);
        assert!(!lock.held_by(1));
        assert_eq!(*lock.lock(0), 6);
    }

    #[test]
    fn waiters_are_served_in_arrival_order() {
        let lock = Arc::new(TicketLock::new(std::vec::Vec::new()));
        let first = lock.lock(0);
        let mut waiters = std::vec::Vec::new();
        for cpu in 1..=3usize {
            let shared = Arc::clone(&lock);
            waiters.push(std::thread::spawn(move || shared.lock(cpu).push(cpu)));
            // Each waiter has taken its ticket before the next one starts.
            while lock.next_ticket.load(Ordering::SeqCst) != cpu as u32 + 1 {
                std::thread::yield_now();
            }
        }
        drop(first);
        waiters.into_iter().for_each(|w| w.join().unwrap());
        assert_eq!(*lock.lock(0), [1, 2, 3]);
    }
}
