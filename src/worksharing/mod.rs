//! Worksharing: loop schedules, `for_each`, `reduce`, `sections` and the
//! shared claim word behind dynamic schedules and `single`.
//!
//! The protocol of the claim word is in `src/team/README.md` ("Worksharing
//! claim word"); why [`DisjointSlice`] loops are sound is in `README.md`
//! beside this file. Loops take `Range<usize>`; `for_each_in` takes any
//! [`LoopSpace`] (signed, inclusive, [`Strided`], and tuples for `collapse`).

mod claim;
mod disjoint;
mod for_loop;
mod lastprivate;
mod ordered;
mod reduce;
mod reducer;
mod schedule;
mod shapes;
mod side;

pub(crate) use claim::ClaimWord;
pub use disjoint::DisjointSlice;
pub(crate) use for_loop::Check;
pub use ordered::Ordered;
#[doc(hidden)]
pub use ordered::{OrderedTurns, TurnLost};
pub use reducer::{Max, Min, Product, Reducer, Sum};
pub use schedule::Schedule;
pub use shapes::{LoopSpace, Strided};
pub(crate) use side::Side;
