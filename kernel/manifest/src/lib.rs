//! Tessera's manifest crate: everything derivable from a board and a partitions manifest.
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
