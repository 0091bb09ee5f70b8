/*
 * OpenMP construct-overhead kernels in the style of the EPCC OpenMP
 * microbenchmarks (J. M. Bull, "Measuring Synchronisation and Scheduling
 * Overheads in OpenMP", EWOMP 1999; Bull, Reid & McDonnell, "A Microbenchmark
 * Suite for OpenMP Tasks", IWOMP 2012). Written for phalanx from the published
 * method; no code is taken from the EPCC suite.
 *
 * Method: each kernel runs `inner_reps` repetitions of one construct whose body
 * is `epcc_delay(delay_len)` and returns the elapsed wall time in seconds
 * (omp_get_wtime). The caller also times `epcc_reference`, the same number of
 * delays without any construct, and reports
 *     overhead per repetition = (kernel - reference) / inner_reps.
 * What "one repetition" is, per kernel, is written above each function.
 *
 * Return values: elapsed seconds (>= 0), or a negative code:
 *     EPCC_BAD_ARG    (-1) an argument is out of range (threads < 1, reps < 0,
 *                          unknown schedule kind, negative chunk);
 *     EPCC_TEAM_SIZE  (-2) the runtime gave a team of another size than asked;
 *     EPCC_WRONG_SUM  (-3) a result check failed (atomic or reduction total).
 *
 * OMP_WAIT_POLICY / GOMP_SPINCOUNT: libgomp reads its environment once, in a
 * constructor that runs when the library is loaded, i.e. before main() of a
 * dynamically linked program. Setting the variable from inside the process
 * (setenv, std::env::set_var) has no effect on libgomp; it must be in the
 * environment the process starts with (run a child process with it set).
 */
#include <omp.h>
#include <stddef.h>

#define EPCC_BAD_ARG (-1.0)
#define EPCC_TEAM_SIZE (-2.0)
#define EPCC_WRONG_SUM (-3.0)

/* Iterations per thread per repetition of the schedule kernels (EPCC's
 * itersperthr). */
#define EPCC_ITERS_PER_THREAD 128

/* Schedule kinds accepted by epcc_schedule. */
#define EPCC_SCHED_STATIC 0
#define EPCC_SCHED_DYNAMIC 1
#define EPCC_SCHED_GUIDED 2

#define EPCC_STR2(x) #x
#define EPCC_STR(x) EPCC_STR2(x)

/* The work inside every construct: `len` additions to a volatile, so the
 * compiler must perform each load and store and cannot fold the loop. */
void epcc_delay(int len) {
    volatile double acc = 0.0;
    for (int i = 0; i < len; i++) {
        acc += (double)i;
    }
}

const char *epcc_runtime_name(void) {
#if defined(__GNUC__) && !defined(__clang__)
    return "libgomp (gcc " __VERSION__ "), _OPENMP " EPCC_STR(_OPENMP);
#else
    return "OpenMP runtime (" __VERSION__ "), _OPENMP " EPCC_STR(_OPENMP);
#endif
}

int epcc_max_threads(void) { return omp_get_max_threads(); }

/* Common argument check; also turns off dynamic team sizing so every region
 * gets exactly `threads` threads. */
static int epcc_prepare(int threads, long inner_reps) {
    if (threads < 1 || inner_reps < 0) {
        return 0;
    }
    omp_set_dynamic(0);
    return 1;
}

/* One repetition: `inner_reps` delays on one thread, no OpenMP. */
double epcc_reference(long inner_reps, int delay_len) {
    if (inner_reps < 0) {
        return EPCC_BAD_ARG;
    }
    double start = omp_get_wtime();
    for (long r = 0; r < inner_reps; r++) {
        epcc_delay(delay_len);
    }
    return omp_get_wtime() - start;
}

/* The reference on the team that runs the kernels. With `turns` == 0 every
 * thread of `threads` runs `inner_reps` delays at the same time, as the
 * threads of an evenly shared construct do, and the result is the longest
 * any thread took (each timed from its own start, so a late wake-up does not
 * count): a thread on a slower CPU counts as it does in the kernel. With
 * `turns` != 0 the threads take turns in thread order, one at a time between
 * barriers, as the delays inside a critical section or a single do, and the
 * result is the sum of the turns. Returns seconds, or EPCC_BAD_ARG /
 * EPCC_TEAM_SIZE. */
double epcc_reference_team(int threads, long inner_reps, int delay_len, int turns) {
    if (!epcc_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    int team = threads;
    double longest = 0.0, sum = 0.0;
#pragma omp parallel num_threads(threads) reduction(max : longest) reduction(+ : sum)
    {
        int me = omp_get_thread_num();
        int n = omp_get_num_threads();
        if (n != threads) {
#pragma omp atomic write
            team = n;
        }
        for (int t = 0; t < (turns ? n : 1); t++) {
            if (!turns || t == me) {
                double start = omp_get_wtime();
                for (long r = 0; r < inner_reps; r++) {
                    epcc_delay(delay_len);
                }
                double took = omp_get_wtime() - start;
                longest = took > longest ? took : longest;
                sum += took;
            }
            if (turns) {
#pragma omp barrier
            }
        }
    }
    if (team != threads) {
        return EPCC_TEAM_SIZE;
    }
    return turns ? sum : longest;
}

/* One repetition: fork a team of `threads`, every thread runs one delay, join. */
double epcc_parallel(int threads, long inner_reps, int delay_len) {
    if (!epcc_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    int team = threads;
    double start = omp_get_wtime();
    for (long r = 0; r < inner_reps; r++) {
#pragma omp parallel num_threads(threads)
        {
            epcc_delay(delay_len);
            if (omp_get_num_threads() != threads) {
#pragma omp atomic write
                team = omp_get_num_threads();
            }
        }
    }
    double elapsed = omp_get_wtime() - start;
    return team == threads ? elapsed : EPCC_TEAM_SIZE;
}

/* One repetition: a static `for` of `threads` iterations (one delay each) with
 * its implicit barrier, all inside a single parallel region. */
double epcc_for(int threads, long inner_reps, int delay_len) {
    if (!epcc_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    int team = threads;
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
#pragma omp single nowait
        team = omp_get_num_threads();
        for (long r = 0; r < inner_reps; r++) {
#pragma omp for schedule(static)
            for (int i = 0; i < threads; i++) {
                epcc_delay(delay_len);
            }
        }
    }
    double elapsed = omp_get_wtime() - start;
    return team == threads ? elapsed : EPCC_TEAM_SIZE;
}

/* One repetition: a combined `parallel for` of `threads` iterations. */
double epcc_parallel_for(int threads, long inner_reps, int delay_len) {
    if (!epcc_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    int team = threads;
    double start = omp_get_wtime();
    for (long r = 0; r < inner_reps; r++) {
#pragma omp parallel for num_threads(threads) schedule(static)
        for (int i = 0; i < threads; i++) {
            epcc_delay(delay_len);
            if (omp_get_num_threads() != threads) {
#pragma omp atomic write
                team = omp_get_num_threads();
            }
        }
    }
    double elapsed = omp_get_wtime() - start;
    return team == threads ? elapsed : EPCC_TEAM_SIZE;
}

/* One repetition: every thread runs one delay, then all meet at a barrier. */
double epcc_barrier(int threads, long inner_reps, int delay_len) {
    if (!epcc_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    int team = threads;
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
#pragma omp single nowait
        team = omp_get_num_threads();
        for (long r = 0; r < inner_reps; r++) {
            epcc_delay(delay_len);
#pragma omp barrier
        }
    }
    double elapsed = omp_get_wtime() - start;
    return team == threads ? elapsed : EPCC_TEAM_SIZE;
}

/* One repetition: one thread runs a delay inside `single`; the others wait at
 * its implicit barrier. */
double epcc_single(int threads, long inner_reps, int delay_len) {
    if (!epcc_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    int team = threads;
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
#pragma omp master
        team = omp_get_num_threads();
        for (long r = 0; r < inner_reps; r++) {
#pragma omp single
            epcc_delay(delay_len);
        }
    }
    double elapsed = omp_get_wtime() - start;
    return team == threads ? elapsed : EPCC_TEAM_SIZE;
}

/* One repetition: one delay inside `critical`. The team shares the
 * repetitions: each thread enters inner_reps / threads times (EPCC does the
 * same), so the total is inner_reps rounded down to a multiple of threads. */
double epcc_critical(int threads, long inner_reps, int delay_len) {
    if (!epcc_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    long per_thread = inner_reps / threads;
    long entered = 0;
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        for (long r = 0; r < per_thread; r++) {
#pragma omp critical(epcc_critical)
            {
                epcc_delay(delay_len);
                entered++;
            }
        }
    }
    double elapsed = omp_get_wtime() - start;
    return entered == per_thread * threads ? elapsed : EPCC_WRONG_SUM;
}

/* One repetition: omp_set_lock, one delay, omp_unset_lock; shared out as in
 * epcc_critical. */
double epcc_lock(int threads, long inner_reps, int delay_len) {
    if (!epcc_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    long per_thread = inner_reps / threads;
    long entered = 0;
    omp_lock_t lock;
    omp_init_lock(&lock);
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        for (long r = 0; r < per_thread; r++) {
            omp_set_lock(&lock);
            epcc_delay(delay_len);
            entered++;
            omp_unset_lock(&lock);
        }
    }
    double elapsed = omp_get_wtime() - start;
    omp_destroy_lock(&lock);
    return entered == per_thread * threads ? elapsed : EPCC_WRONG_SUM;
}

/* One repetition: one `#pragma omp atomic` add to a shared double; shared out
 * as in epcc_critical. As in EPCC the update itself is the body, so
 * `delay_len` is not used (its reference is a plain add, well under 1 ns). */
double epcc_atomic(int threads, long inner_reps, int delay_len) {
    (void)delay_len;
    if (!epcc_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    long per_thread = inner_reps / threads;
    double total = 0.0;
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        for (long r = 0; r < per_thread; r++) {
#pragma omp atomic update
            total += 1.0;
        }
    }
    double elapsed = omp_get_wtime() - start;
    /* Exact: every partial sum is an integer below 2^53. */
    return total == (double)(per_thread * threads) ? elapsed : EPCC_WRONG_SUM;
}

/* One repetition: a parallel region with reduction(+:sum) in which every
 * thread runs one delay and adds 1. */
double epcc_reduction(int threads, long inner_reps, int delay_len) {
    if (!epcc_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    long total = 0;
    double start = omp_get_wtime();
    for (long r = 0; r < inner_reps; r++) {
        long sum = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sum)
        {
            epcc_delay(delay_len);
            sum += 1;
        }
        total += sum;
    }
    double elapsed = omp_get_wtime() - start;
    return total == inner_reps * threads ? elapsed : EPCC_WRONG_SUM;
}

/* One repetition: one iteration of a `parallel for ordered
 * schedule(static, 1)` over inner_reps iterations, with the delay inside
 * `ordered` (EPCC's testorder). The delays run one after another, in
 * iteration order; `next` checks that order. */
double epcc_ordered(int threads, long inner_reps, int delay_len) {
    if (!epcc_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    long next = 0;
    long wrong = 0;
    double start = omp_get_wtime();
#pragma omp parallel for num_threads(threads) ordered schedule(static, 1)
    for (long j = 0; j < inner_reps; j++) {
#pragma omp ordered
        {
            epcc_delay(delay_len);
            if (next != j) {
                wrong++;
            }
            next = j + 1;
        }
    }
    double elapsed = omp_get_wtime() - start;
    return wrong == 0 && next == inner_reps ? elapsed : EPCC_WRONG_SUM;
}

/* The schedule kernels: one repetition is one worksharing loop of
 * threads * EPCC_ITERS_PER_THREAD iterations, one delay each, with the given
 * schedule clause, inside a single parallel region. */
#define EPCC_DEFINE_SCHEDULE(fn_name, for_pragma)                                 \
    static int fn_name(int threads, long inner_reps, int chunk, int delay_len) { \
        int team = threads;                                                       \
        int iters = threads * EPCC_ITERS_PER_THREAD;                              \
        (void)chunk;                                                              \
        _Pragma("omp parallel num_threads(threads)") {                            \
            _Pragma("omp single nowait") team = omp_get_num_threads();            \
            for (long r = 0; r < inner_reps; r++) {                               \
                _Pragma(for_pragma) for (int i = 0; i < iters; i++) {             \
                    epcc_delay(delay_len);                                        \
                }                                                                 \
            }                                                                     \
        }                                                                         \
        return team;                                                              \
    }

EPCC_DEFINE_SCHEDULE(epcc_sched_static_blocks, "omp for schedule(static)")
EPCC_DEFINE_SCHEDULE(epcc_sched_static_chunks, "omp for schedule(static, chunk)")
EPCC_DEFINE_SCHEDULE(epcc_sched_dynamic, "omp for schedule(dynamic, chunk)")
EPCC_DEFINE_SCHEDULE(epcc_sched_guided, "omp for schedule(guided, chunk)")

/* kind: EPCC_SCHED_STATIC, EPCC_SCHED_DYNAMIC or EPCC_SCHED_GUIDED. chunk: the
 * chunk size; 0 means "no chunk clause" (static: one block per thread;
 * dynamic and guided: the default chunk, 1). */
double epcc_schedule(int kind, int chunk, int threads, long inner_reps, int delay_len) {
    if (!epcc_prepare(threads, inner_reps) || chunk < 0) {
        return EPCC_BAD_ARG;
    }
    int used = chunk == 0 ? 1 : chunk;
    int team;
    double start = omp_get_wtime();
    switch (kind) {
    case EPCC_SCHED_STATIC:
        team = chunk == 0 ? epcc_sched_static_blocks(threads, inner_reps, used, delay_len)
                          : epcc_sched_static_chunks(threads, inner_reps, used, delay_len);
        break;
    case EPCC_SCHED_DYNAMIC:
        team = epcc_sched_dynamic(threads, inner_reps, used, delay_len);
        break;
    case EPCC_SCHED_GUIDED:
        team = epcc_sched_guided(threads, inner_reps, used, delay_len);
        break;
    default:
        return EPCC_BAD_ARG;
    }
    double elapsed = omp_get_wtime() - start;
    return team == threads ? elapsed : EPCC_TEAM_SIZE;
}

/* Task counters: slot t * EPCC_SLOT_STRIDE is written only by thread t (the
 * thread that runs the task), so no atomics are needed; the stride keeps the
 * slots on separate 64-byte lines. */
#define EPCC_SLOT_STRIDE 16
#define EPCC_MAX_TASK_THREADS 256

static long epcc_task_slots[EPCC_MAX_TASK_THREADS * EPCC_SLOT_STRIDE];

static void epcc_task_body(int delay_len) {
    epcc_delay(delay_len);
    epcc_task_slots[omp_get_thread_num() * EPCC_SLOT_STRIDE] += 1;
}

static int epcc_task_prepare(int threads, long inner_reps) {
    if (!epcc_prepare(threads, inner_reps) || threads > EPCC_MAX_TASK_THREADS) {
        return 0;
    }
    for (int t = 0; t < threads; t++) {
        epcc_task_slots[t * EPCC_SLOT_STRIDE] = 0;
    }
    return 1;
}

static long epcc_task_total(int threads) {
    long total = 0;
    for (int t = 0; t < threads; t++) {
        total += epcc_task_slots[t * EPCC_SLOT_STRIDE];
    }
    return total;
}

/* One repetition: the master creates `threads` tasks (one delay each); the
 * other threads run them from the implicit barrier at the region's end. One
 * parallel region for all repetitions. */
double epcc_master_task(int threads, long inner_reps, int delay_len) {
    if (!epcc_task_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    long tasks = inner_reps * threads;
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
#pragma omp master
        for (long k = 0; k < tasks; k++) {
#pragma omp task firstprivate(delay_len)
            epcc_task_body(delay_len);
        }
    }
    double elapsed = omp_get_wtime() - start;
    return epcc_task_total(threads) == tasks ? elapsed : EPCC_WRONG_SUM;
}

/* One repetition: every thread creates one task (one delay). One parallel
 * region for all repetitions; tasks finish at its implicit barrier. */
double epcc_parallel_task(int threads, long inner_reps, int delay_len) {
    if (!epcc_task_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        for (long r = 0; r < inner_reps; r++) {
#pragma omp task firstprivate(delay_len)
            epcc_task_body(delay_len);
        }
    }
    double elapsed = omp_get_wtime() - start;
    return epcc_task_total(threads) == inner_reps * threads ? elapsed : EPCC_WRONG_SUM;
}

/* One repetition: every thread creates one task (one delay) and then waits for
 * it with `taskwait`. */
double epcc_task_wait(int threads, long inner_reps, int delay_len) {
    if (!epcc_task_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        for (long r = 0; r < inner_reps; r++) {
#pragma omp task firstprivate(delay_len)
            epcc_task_body(delay_len);
#pragma omp taskwait
        }
    }
    double elapsed = omp_get_wtime() - start;
    return epcc_task_total(threads) == inner_reps * threads ? elapsed : EPCC_WRONG_SUM;
}

/* One repetition: every thread creates one undeferred task (`if(0)`, EPCC's
 * CONDITIONAL TASK), which it runs at once. */
double epcc_conditional_task(int threads, long inner_reps, int delay_len) {
    if (!epcc_task_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        for (long r = 0; r < inner_reps; r++) {
#pragma omp task firstprivate(delay_len) if (0)
            epcc_task_body(delay_len);
        }
    }
    double elapsed = omp_get_wtime() - start;
    return epcc_task_total(threads) == inner_reps * threads ? elapsed : EPCC_WRONG_SUM;
}

/* One repetition: every thread creates one task, then a barrier (EPCC's TASK
 * BARRIER): the tasks complete at the barrier. */
double epcc_task_barrier(int threads, long inner_reps, int delay_len) {
    if (!epcc_task_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        for (long r = 0; r < inner_reps; r++) {
#pragma omp task firstprivate(delay_len)
            epcc_task_body(delay_len);
#pragma omp barrier
        }
    }
    double elapsed = omp_get_wtime() - start;
    return epcc_task_total(threads) == inner_reps * threads ? elapsed : EPCC_WRONG_SUM;
}

/* Dependence slots, one cache-line stride apart, named by `depend` only. */
static char epcc_dep_slots[EPCC_MAX_TASK_THREADS * EPCC_SLOT_STRIDE * 8];

/* One repetition: every thread creates one task with `depend(inout)` on its
 * own slot, so each thread's tasks form one chain. */
double epcc_parallel_task_deps(int threads, long inner_reps, int delay_len) {
    if (!epcc_task_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        char *slot = &epcc_dep_slots[omp_get_thread_num() * EPCC_SLOT_STRIDE * 8];
        (void)slot; /* named by `depend` only (gcc counts that as no use) */
        for (long r = 0; r < inner_reps; r++) {
#pragma omp task firstprivate(delay_len) depend(inout : slot[0])
            epcc_task_body(delay_len);
        }
    }
    double elapsed = omp_get_wtime() - start;
    return epcc_task_total(threads) == inner_reps * threads ? elapsed : EPCC_WRONG_SUM;
}

/* One repetition: the master creates `threads` tasks, task k with
 * `depend(inout)` on slot k % threads: `threads` chains the team runs. */
double epcc_master_task_deps(int threads, long inner_reps, int delay_len) {
    if (!epcc_task_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    long tasks = inner_reps * threads;
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
#pragma omp master
        for (long k = 0; k < tasks; k++) {
            char *slot = &epcc_dep_slots[(k % threads) * EPCC_SLOT_STRIDE * 8];
            (void)slot; /* named by `depend` only */
#pragma omp task firstprivate(delay_len) depend(inout : slot[0])
            epcc_task_body(delay_len);
        }
    }
    double elapsed = omp_get_wtime() - start;
    return epcc_task_total(threads) == tasks ? elapsed : EPCC_WRONG_SUM;
}

/* One repetition: the master creates one task while every other thread runs
 * one delay itself (EPCC's MASTER TASK BUSY SLAVES); the others help with the
 * tasks at the region's end. */
double epcc_master_task_busy_slaves(int threads, long inner_reps, int delay_len) {
    if (!epcc_task_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        int me = omp_get_thread_num();
        for (long r = 0; r < inner_reps; r++) {
            if (me == 0) {
#pragma omp task firstprivate(delay_len)
                epcc_task_body(delay_len);
            } else {
                epcc_task_body(delay_len);
            }
        }
    }
    double elapsed = omp_get_wtime() - start;
    return epcc_task_total(threads) == inner_reps * threads ? elapsed : EPCC_WRONG_SUM;
}

/* Per `threads` repetitions, every thread creates a task that creates
 * `threads` tasks and waits for them (EPCC's NESTED TASK); `inner_reps` must
 * be a multiple of `threads`. */
double epcc_nested_task(int threads, long inner_reps, int delay_len) {
    if (!epcc_task_prepare(threads, inner_reps) || inner_reps % threads != 0) {
        return EPCC_BAD_ARG;
    }
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        for (long r = 0; r < inner_reps / threads; r++) {
#pragma omp task firstprivate(delay_len, threads)
            {
                for (int i = 0; i < threads; i++) {
#pragma omp task firstprivate(delay_len)
                    epcc_task_body(delay_len);
                }
#pragma omp taskwait
            }
        }
    }
    double elapsed = omp_get_wtime() - start;
    return epcc_task_total(threads) == inner_reps * threads ? elapsed : EPCC_WRONG_SUM;
}

/* One repetition: the master creates a task that creates `threads` tasks and
 * waits for them (EPCC's NESTED MASTER TASK). */
double epcc_nested_master_task(int threads, long inner_reps, int delay_len) {
    if (!epcc_task_prepare(threads, inner_reps)) {
        return EPCC_BAD_ARG;
    }
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
#pragma omp master
        for (long r = 0; r < inner_reps; r++) {
#pragma omp task firstprivate(delay_len, threads)
            {
                for (int i = 0; i < threads; i++) {
#pragma omp task firstprivate(delay_len)
                    epcc_task_body(delay_len);
                }
#pragma omp taskwait
            }
        }
    }
    double elapsed = omp_get_wtime() - start;
    return epcc_task_total(threads) == inner_reps * threads ? elapsed : EPCC_WRONG_SUM;
}

/* Depth of the task trees (EPCC's DEPTH): 2^EPCC_TREE_DEPTH delays a tree. */
#define EPCC_TREE_DEPTH 6

static void epcc_branch_tree(int level, int delay_len) {
    if (level > 0) {
#pragma omp task firstprivate(level, delay_len)
        {
            epcc_branch_tree(level - 1, delay_len);
            epcc_branch_tree(level - 1, delay_len);
            epcc_task_body(delay_len);
        }
    }
}

static void epcc_leaf_tree(int level, int delay_len) {
    if (level == 0) {
        epcc_task_body(delay_len);
    } else {
#pragma omp task firstprivate(level, delay_len)
        {
            epcc_leaf_tree(level - 1, delay_len);
            epcc_leaf_tree(level - 1, delay_len);
        }
    }
}

/* Per 2^EPCC_TREE_DEPTH repetitions, every thread creates a task with a
 * branch tree (a delay in every node) and a delay (EPCC's BRANCH TASK TREE);
 * `inner_reps` must be a multiple of 2^EPCC_TREE_DEPTH. */
double epcc_branch_task_tree(int threads, long inner_reps, int delay_len) {
    if (!epcc_task_prepare(threads, inner_reps) || inner_reps % (1L << EPCC_TREE_DEPTH) != 0) {
        return EPCC_BAD_ARG;
    }
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        for (long r = 0; r < (inner_reps >> EPCC_TREE_DEPTH); r++) {
#pragma omp task firstprivate(delay_len)
            {
                epcc_branch_tree(EPCC_TREE_DEPTH, delay_len);
                epcc_task_body(delay_len);
            }
        }
    }
    double elapsed = omp_get_wtime() - start;
    return epcc_task_total(threads) == inner_reps * threads ? elapsed : EPCC_WRONG_SUM;
}

/* The same with a delay in every leaf only (EPCC's LEAF TASK TREE). */
double epcc_leaf_task_tree(int threads, long inner_reps, int delay_len) {
    if (!epcc_task_prepare(threads, inner_reps) || inner_reps % (1L << EPCC_TREE_DEPTH) != 0) {
        return EPCC_BAD_ARG;
    }
    double start = omp_get_wtime();
#pragma omp parallel num_threads(threads)
    {
        for (long r = 0; r < (inner_reps >> EPCC_TREE_DEPTH); r++) {
            epcc_leaf_tree(EPCC_TREE_DEPTH, delay_len);
        }
    }
    double elapsed = omp_get_wtime() - start;
    return epcc_task_total(threads) == inner_reps * threads ? elapsed : EPCC_WRONG_SUM;
}

/* The gap sweep (examples/gap_sweep.rs): `regions` parallel regions of
 * `threads` threads with an empty body (one epcc_delay(0) each), region i
 * preceded by `gaps_us[i]` microseconds of master-only busy work (a spin on
 * omp_get_wtime, as a time-step loop's serial part). Returns the wall time of
 * the whole loop in seconds; the caller subtracts the gaps. Between regions
 * the runtime's idle threads wait as OMP_WAIT_POLICY (or the runtime's
 * default) says: that is what the sweep measures, with the CPU the process
 * burns meanwhile. */
double epcc_gap_regions(int threads, long regions, const double *gaps_us) {
    if (threads < 1 || regions < 0 || gaps_us == 0) {
        return EPCC_BAD_ARG;
    }
    double start = omp_get_wtime();
    for (long i = 0; i < regions; i++) {
        double until = omp_get_wtime() + gaps_us[i] * 1e-6;
        while (omp_get_wtime() < until) {
        }
#pragma omp parallel num_threads(threads)
        epcc_delay(0);
    }
    return omp_get_wtime() - start;
}

