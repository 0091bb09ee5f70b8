//! The lifetime rules users rely on, proved by `compile_fail` doctests
//! (each next to a twin that compiles, so the failure is the rule's and
//! not a typo). More sit on the types they concern: [`Ctx`](crate::Ctx)
//! (a `Ctx` shared with another thread, a task borrowing a region-closure
//! local) and [`DisjointSlice`](crate::DisjointSlice).
//!
//! **A task in a scope cannot borrow a local of the scope's body**: the body
//! may return before the task runs; only what outlives the `task_scope` call
//! may be borrowed.
//!
//! ```compile_fail,E0373
//! let team = phalanx::Team::builder().num_threads(2).build().unwrap();
//! team.parallel(|ctx| {
//!     ctx.task_scope(|s| {
//!         let local = vec![1, 2, 3];
//!         s.spawn(|_| drop(local.len())); // error: may outlive borrowed value `local`
//!     });
//! });
//! ```
//!
//! ```
//! let team = phalanx::Team::builder().num_threads(2).build().unwrap();
//! team.parallel(|ctx| {
//!     let local = vec![1, 2, 3];
//!     ctx.task_scope(|s| {
//!         s.spawn(|_| drop(local.len()));
//!     });
//! });
//! ```
//!
//! **A task cannot capture the `&TaskScope`**: tasks run on any thread, and
//! the scope is not `Sync` (tasks are created by the thread that opened it).
//! A task that wants children opens a scope of its own on the `Ctx` it gets.
//!
//! ```compile_fail,E0277
//! let team = phalanx::Team::builder().num_threads(2).build().unwrap();
//! team.parallel(|ctx| {
//!     ctx.task_scope(|s| {
//!         s.spawn(|_| s.spawn(|_| {})); // error: `TaskScope` cannot be shared between threads
//!     });
//! });
//! ```
//!
//! ```
//! let team = phalanx::Team::builder().num_threads(2).build().unwrap();
//! team.parallel(|ctx| {
//!     ctx.task_scope(|s| {
//!         s.spawn(|ctx| ctx.task_scope(|inner| inner.spawn(|_| {})));
//!     });
//! });
//! ```
//!
//! **A region cannot hand out `&mut` twice**: the region closure is shared by
//! every thread (`Fn + Sync`), so it has only `&` access to what it captures,
//!
//! ```compile_fail,E0594
//! let team = phalanx::Team::builder().num_threads(2).build().unwrap();
//! let mut total = 0;
//! team.parallel(|_ctx| total += 1); // error: cannot assign to `total`, a captured variable in a `Fn` closure
//! ```
//!
//! and the slice behind a [`DisjointSlice`](crate::DisjointSlice) stays
//! borrowed while the loops hand its elements out, one `&mut` per element:
//!
//! ```compile_fail,E0502
//! use phalanx::{DisjointSlice, Schedule};
//! let team = phalanx::Team::builder().num_threads(2).build().unwrap();
//! let mut y = vec![0u32; 8];
//! let out = DisjointSlice::new(&mut y);
//! team.parallel(|ctx| ctx.for_each_mut(&out, Schedule::Static, |i, yi| *yi = y[0] + i as u32)); // error: `y` is also borrowed as mutable
//! drop(out);
//! ```
//!
//! ```
//! use phalanx::{DisjointSlice, Schedule};
//! use std::sync::atomic::{AtomicU32, Ordering};
//! let team = phalanx::Team::builder().num_threads(2).build().unwrap();
//! let total = AtomicU32::new(0);
//! team.parallel(|_ctx| { total.fetch_add(1, Ordering::Relaxed); });
//! let mut y = vec![0u32; 8];
//! let out = DisjointSlice::new(&mut y);
//! team.parallel(|ctx| ctx.for_each_mut(&out, Schedule::Static, |i, yi| *yi = i as u32));
//! drop(out);
//! assert_eq!((total.into_inner(), y[7]), (2, 7));
//! ```
