//! Worksharing: loop schedules, `for_each`, `reduce`, `sections` and the
//! shared claim word behind dynamic schedules and `single`.
//!
//! The protocol of the claim word is in `src/team/README.md` ("Worksharing
//! claim word"); why [`DisjointSlice`] loops are sound is in `README.md`
//! beside this file. Loops take `Range<usize>`: an OpenMP loop over negative or
//! strided indices maps onto `0..count` with one multiply-add in the body.

mod claim;
mod disjoint;
mod for_loop;
mod reduce;
mod reducer;
mod schedule;
mod side;

pub(crate) use claim::ClaimWord;
pub use disjoint::DisjointSlice;
pub use reducer::{Max, Min, Product, Reducer, Sum};
pub use schedule::Schedule;
pub(crate) use side::Side;
