//! The ledger of who owns what. Every change of hands — a gift, a claim, a trade, a deletion —
//! goes through [`change_hands`] inside the transaction that causes it: the owner changes, the
//! [`history`] gains an entry, the object's open claim links are voided, every other open
//! offer holding it is invalidated, and the events are gathered for the end of the
//! transaction. [`offers`] reads trade offers as clients see them.
//!
//! This module knows tables, not HTTP: the operations live in `trading` (and `photos` for
//! minting and deleting).

pub mod handover;
pub mod history;
pub mod offers;

pub use handover::{Handover, change_hands};
