//! The constructs the C kernels measure.

use std::fmt;

/// Iterations per thread in one repetition of a schedule kernel: EPCC's
/// `itersperthr`. Mirrors `EPCC_ITERS_PER_THREAD` in `c/epcc.c`.
pub const ITERS_PER_THREAD: usize = 128;

/// A worksharing-loop schedule for [`Construct::Schedule`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScheduleKind {
    /// `schedule(static)`, or `schedule(static, chunk)` with a chunk.
    Static,
    /// `schedule(dynamic, chunk)`.
    Dynamic,
    /// `schedule(guided, chunk)`.
    Guided,
}

impl ScheduleKind {
    /// The code `epcc_schedule` takes (`EPCC_SCHED_*` in `c/epcc.c`).
    #[cfg_attr(omp_missing, allow(dead_code))]
    pub(crate) fn code(self) -> i32 {
        match self {
            ScheduleKind::Static => 0,
            ScheduleKind::Dynamic => 1,
            ScheduleKind::Guided => 2,
        }
    }

    /// `STATIC`, `DYNAMIC` or `GUIDED`, as EPCC prints them.
    pub fn name(self) -> &'static str {
        match self {
            ScheduleKind::Static => "STATIC",
            ScheduleKind::Dynamic => "DYNAMIC",
            ScheduleKind::Guided => "GUIDED",
        }
    }
}

/// One OpenMP construct measured by a C kernel. Each runs `inner_reps`
/// repetitions; "one repetition" is, per construct:
///
/// | construct | one repetition | C function |
/// |---|---|---|
/// | `Parallel` | fork a team, each thread one delay, join | `epcc_parallel` |
/// | `For` | a static `for` of `threads` iterations (one delay each) + its barrier, in one region | `epcc_for` |
/// | `ParallelFor` | a combined `parallel for` of `threads` iterations | `epcc_parallel_for` |
/// | `Barrier` | each thread one delay, then `barrier`, in one region | `epcc_barrier` |
/// | `Single` | one delay in `single` (+ its barrier) | `epcc_single` |
/// | `Critical` | one delay in `critical`; `inner_reps / threads` per thread | `epcc_critical` |
/// | `Lock` | `omp_set_lock`, one delay, `omp_unset_lock`; shared out like `Critical` | `epcc_lock` |
/// | `Atomic` | one `atomic` add, **no delay** (as in EPCC); shared out like `Critical` | `epcc_atomic` |
/// | `Reduction` | a region with `reduction(+)`, each thread one delay | `epcc_reduction` |
/// | `Ordered` | one iteration of a `parallel for ordered schedule(static,1)` over `inner_reps` iterations, one delay inside `ordered` (as EPCC's `testorder`) | `epcc_ordered` |
/// | `Schedule` | a `for` of `threads *` [`ITERS_PER_THREAD`] iterations with that schedule, one region | `epcc_schedule` |
/// | `MasterTask` | the master creates `threads` tasks (one delay each), all threads run them | `epcc_master_task` |
/// | `ParallelTask` | every thread creates one task | `epcc_parallel_task` |
/// | `TaskWait` | every thread creates one task, then `taskwait` | `epcc_task_wait` |
/// | `ConditionalTask` | every thread creates one task with `if(0)` (undeferred) | `epcc_conditional_task` |
/// | `TaskBarrier` | every thread creates one task, then `barrier` | `epcc_task_barrier` |
/// | `ParallelTaskDeps` | every thread creates one task with `depend(inout)` on its own slot (one chain per thread) | `epcc_parallel_task_deps` |
/// | `MasterTaskDeps` | the master creates `threads` tasks, task `k` with `depend(inout)` on slot `k % threads` (`threads` chains) | `epcc_master_task_deps` |
/// | `MasterTaskBusySlaves` | the master creates one task while every other thread runs one delay itself | `epcc_master_task_busy_slaves` |
/// | `NestedTask` | per `threads` repetitions, every thread creates a task that creates `threads` tasks and waits for them | `epcc_nested_task` |
/// | `NestedMasterTask` | the master creates a task that creates `threads` tasks and waits for them | `epcc_nested_master_task` |
/// | `BranchTaskTree` | per [`TREE_REPS`] repetitions, every thread creates a binary task tree of depth [`TREE_DEPTH`] with a delay in every node (plus one) | `epcc_branch_task_tree` |
/// | `LeafTaskTree` | per [`TREE_REPS`] repetitions, every thread creates a binary task tree of depth [`TREE_DEPTH`] with a delay in every leaf | `epcc_leaf_task_tree` |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Construct {
    /// `#pragma omp parallel`.
    Parallel,
    /// `#pragma omp for schedule(static)` inside one region.
    For,
    /// `#pragma omp parallel for`.
    ParallelFor,
    /// `#pragma omp barrier`.
    Barrier,
    /// `#pragma omp single`.
    Single,
    /// `#pragma omp critical`.
    Critical,
    /// `omp_set_lock` / `omp_unset_lock`.
    Lock,
    /// `#pragma omp atomic`.
    Atomic,
    /// `reduction(+:x)` on a parallel region.
    Reduction,
    /// `#pragma omp for ordered schedule(static,1)` with the delay in
    /// `#pragma omp ordered`.
    Ordered,
    /// A worksharing loop with a schedule clause.
    Schedule {
        /// `static`, `dynamic` or `guided`.
        kind: ScheduleKind,
        /// The chunk size; 0 leaves the clause without a chunk (static: one
        /// block per thread; dynamic and guided: chunk 1).
        chunk: u32,
    },
    /// Tasks created by the master, run by the team.
    MasterTask,
    /// Tasks created by every thread.
    ParallelTask,
    /// A task and a `taskwait`, on every thread.
    TaskWait,
    /// An undeferred task (`if(0)`), on every thread.
    ConditionalTask,
    /// A task and a `barrier`, on every thread.
    TaskBarrier,
    /// A task with `depend(inout)` on the thread's own slot, on every thread.
    ParallelTaskDeps,
    /// Tasks with `depend(inout)` on `threads` slots, created by the master.
    MasterTaskDeps,
    /// The master creates tasks while the others run delays themselves.
    MasterTaskBusySlaves,
    /// Tasks that create tasks and `taskwait`, on every thread.
    NestedTask,
    /// Tasks that create tasks and `taskwait`, created by the master.
    NestedMasterTask,
    /// Binary task trees with work in every node.
    BranchTaskTree,
    /// Binary task trees with work in the leaves.
    LeafTaskTree,
}

/// Depth of the task trees of `BranchTaskTree` and `LeafTaskTree` (EPCC's
/// `DEPTH`): each tree has `2^TREE_DEPTH` delays.
pub const TREE_DEPTH: u32 = 6;
/// Repetitions per tree: the repetition counts of the tree constructs are
/// multiples of this.
pub const TREE_REPS: u64 = 1 << TREE_DEPTH;

impl Construct {
    /// Every construct EPCC's syncbench and taskbench measure, plus the three
    /// schedules with chunk 1 (EPCC's schedbench sweeps the chunk).
    pub const ALL: [Construct; 25] = [
        Construct::Parallel,
        Construct::For,
        Construct::ParallelFor,
        Construct::Barrier,
        Construct::Single,
        Construct::Critical,
        Construct::Lock,
        Construct::Atomic,
        Construct::Reduction,
        Construct::Ordered,
        Construct::Schedule { kind: ScheduleKind::Static, chunk: 0 },
        Construct::Schedule { kind: ScheduleKind::Dynamic, chunk: 1 },
        Construct::Schedule { kind: ScheduleKind::Guided, chunk: 1 },
        Construct::MasterTask,
        Construct::ParallelTask,
        Construct::TaskWait,
        Construct::ConditionalTask,
        Construct::TaskBarrier,
        Construct::ParallelTaskDeps,
        Construct::MasterTaskDeps,
        Construct::MasterTaskBusySlaves,
        Construct::NestedTask,
        Construct::NestedMasterTask,
        Construct::BranchTaskTree,
        Construct::LeafTaskTree,
    ];

    /// EPCC's name for the construct: `PARALLEL`, `FOR`, `PARALLEL FOR`,
    /// `BARRIER`, `SINGLE`, `CRITICAL`, `LOCK/UNLOCK`, `ATOMIC`, `REDUCTION`, `ORDERED`,
    /// `STATIC` / `DYNAMIC` / `GUIDED` (the chunk is in `Display`),
    /// `MASTER TASK`, `PARALLEL TASK`, `TASK WAIT`.
    pub fn name(&self) -> &'static str {
        match self {
            Construct::Parallel => "PARALLEL",
            Construct::For => "FOR",
            Construct::ParallelFor => "PARALLEL FOR",
            Construct::Barrier => "BARRIER",
            Construct::Single => "SINGLE",
            Construct::Critical => "CRITICAL",
            Construct::Lock => "LOCK/UNLOCK",
            Construct::Atomic => "ATOMIC",
            Construct::Reduction => "REDUCTION",
            Construct::Ordered => "ORDERED",
            Construct::Schedule { kind, .. } => kind.name(),
            Construct::MasterTask => "MASTER TASK",
            Construct::ParallelTask => "PARALLEL TASK",
            Construct::TaskWait => "TASK WAIT",
            Construct::ConditionalTask => "CONDITIONAL TASK",
            Construct::TaskBarrier => "TASK BARRIER",
            Construct::ParallelTaskDeps => "PARALLEL TASK DEPS",
            Construct::MasterTaskDeps => "MASTER TASK DEPS",
            Construct::MasterTaskBusySlaves => "MASTER TASK BUSY SLAVES",
            Construct::NestedTask => "NESTED TASK",
            Construct::NestedMasterTask => "NESTED MASTER TASK",
            Construct::BranchTaskTree => "BRANCH TASK TREE",
            Construct::LeafTaskTree => "LEAF TASK TREE",
        }
    }

    /// Whether one repetition is a task construct (these kernels accept at
    /// most 256 threads).
    pub fn is_task(&self) -> bool {
        matches!(
            self,
            Construct::MasterTask
                | Construct::ParallelTask
                | Construct::TaskWait
                | Construct::ConditionalTask
                | Construct::TaskBarrier
                | Construct::ParallelTaskDeps
                | Construct::MasterTaskDeps
                | Construct::MasterTaskBusySlaves
                | Construct::NestedTask
                | Construct::NestedMasterTask
                | Construct::BranchTaskTree
                | Construct::LeafTaskTree
        )
    }

    /// What the repetition count must be a multiple of: `threads` where the
    /// team shares repetitions out or nests `threads` tasks per outer one,
    /// [`TREE_REPS`] for the task trees, else 1.
    pub fn rep_multiple(&self, threads: usize) -> u64 {
        match self {
            Construct::Critical | Construct::Lock | Construct::Atomic | Construct::NestedTask => threads as u64,
            Construct::BranchTaskTree | Construct::LeafTaskTree => TREE_REPS,
            _ => 1,
        }
    }

    /// How many delays one repetition runs in total across the team: what to
    /// multiply [`crate::reference`]'s per-delay time by when the work is not
    /// spread evenly (`Single`, `Critical` and `Ordered` run one, `Parallel` runs
    /// `threads`, `Schedule` runs `threads *` [`ITERS_PER_THREAD`], `Atomic` none).
    pub fn delays_per_rep(&self, threads: usize) -> usize {
        match self {
            Construct::Single | Construct::Critical | Construct::Lock | Construct::Ordered => 1,
            Construct::Atomic => 0,
            Construct::Schedule { .. } => threads * ITERS_PER_THREAD,
            _ => threads,
        }
    }
}

impl fmt::Display for Construct {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Construct::Schedule { kind: ScheduleKind::Static, chunk: 0 } => f.pad("STATIC"),
            Construct::Schedule { kind, chunk } => f.pad(&format!("{}_{chunk}", kind.name())),
            other => f.pad(other.name()),
        }
    }
}
