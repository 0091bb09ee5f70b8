//! The seed's Elixir question, in phalanx: "send 10 messages, then ask for an
//! ack instead of sleeping".
//!
//! The original (`AlivePlug.call`) writes a "Start" chunk, spawns a
//! `core_listener` (writes every number it receives to the connection) and a
//! `thread_listener` (forwards each `{core_pid, i}` to the core), sends
//! `1..10` to the thread, writes "End" at once and closes the connection:
//! the client sees "StartEnd", because nothing waited for the messages.
//!
//! The naive fix, `Process.sleep 5000` before "End", is not needed and not
//! correct: 5 s is far too long for 10 messages, may be too short for 10 000,
//! and a scheduler owes you no timing. (This example does not sleep 5 s; it
//! does not sleep at all.)
//!
//! The real fix uses the fact that mailboxes are FIFO: after the 10 numbers,
//! send a `PleaseAck` message and wait for the ack. It can only be handled
//! after the 10 numbers. Here the mailboxes are phalanx `TaskQueue`s (FIFO,
//! blocking `pop`) and the ack is a `Latch` of count 1 carried in the
//! message: `latch.wait()` is Elixir's `receive do :ack -> :ok end`.
//!
//! One detail the Elixir answer glosses over: the thread acking after it
//! *forwarded* the numbers does not prove the core has *written* them. Here
//! the thread forwards the `PleaseAck` to the core through the core's FIFO,
//! and the core counts the latch down, so when `wait` returns every number is
//! on the connection.
//!
//! `cargo run --release --example ack_fifo [-- --requests N]`

use phalanx::{Latch, TaskQueue};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

/// What `thread_listener` receives.
enum ThreadMsg<'a> {
    /// `{core_pid, i}` (the core is the same for every message here, so the
    /// listener is given it once instead of in each message)
    Data(u32),
    /// `{:please_ack, pid}`: handled after every earlier message.
    PleaseAck(&'a Latch),
}

/// What `core_listener` receives.
enum CoreMsg<'a> {
    /// `{:ok, i}`
    Ok(u32),
    /// The ack, passed along the FIFO chain: every number before it is written.
    PleaseAck(&'a Latch),
}

/// `defp thread_listener`: forward every message to the core, in order.
fn thread_listener<'a>(mailbox: &TaskQueue<ThreadMsg<'a>>, core: &TaskQueue<CoreMsg<'a>>) {
    // receive do ... end, until the mailbox is closed and drained
    while let Some(msg) = mailbox.pop() {
        match msg {
            // {core_pid, i} -> send core_pid, {:ok, i}
            ThreadMsg::Data(i) => core.push(CoreMsg::Ok(i)).map_err(|_| ()).expect("the core is open"),
            // {:please_ack, pid} -> send pid, :ack  (through the core, see the module doc)
            ThreadMsg::PleaseAck(ack) => core.push(CoreMsg::PleaseAck(ack)).map_err(|_| ()).expect("the core is open"),
        }
    }
}

/// `defp core_listener(conn)`: write every number to the connection.
fn core_listener(mailbox: &TaskQueue<CoreMsg<'_>>, conn: &Mutex<String>) {
    while let Some(msg) = mailbox.pop() {
        match msg {
            // {status, i} -> chunk(conn, Integer.to_string(i))
            CoreMsg::Ok(i) => conn.lock().expect("conn").push_str(&i.to_string()),
            CoreMsg::PleaseAck(ack) => ack.count_down(),
        }
    }
}

/// One request (`AlivePlug.call`). With `ack`, waits for the ack before
/// "End"; without it, writes "End" at once (the seed's bug). Returns the
/// connection's contents.
fn call(ack: bool, messages: u32) -> String {
    let conn = Mutex::new(String::new());
    let acked = Latch::new(1);
    // chunk(conn, "Start")
    conn.lock().expect("conn").push_str("Start");
    let core_mailbox = TaskQueue::new();
    let thread_mailbox = TaskQueue::new();
    std::thread::scope(|s| {
        // core_pid = spawn_link(fn -> core_listener(conn) end)
        s.spawn(|| core_listener(&core_mailbox, &conn));
        // thread = spawn_link(fn -> thread_listener end)
        s.spawn(|| {
            thread_listener(&thread_mailbox, &core_mailbox);
            core_mailbox.close(); // the thread is gone: the core's mailbox drains and ends
        });
        // 1..10 |> Enum.each(fn i -> send thread, {core_pid, i} end)
        for i in 1..=messages {
            thread_mailbox.push(ThreadMsg::Data(i)).map_err(|_| ()).expect("open");
        }
        if ack {
            // send thread, {:please_ack, self}
            thread_mailbox.push(ThreadMsg::PleaseAck(&acked)).map_err(|_| ()).expect("open");
            // receive do :ack -> :ok end      (instead of Process.sleep 5000)
            acked.wait();
        }
        // chunk(conn, "End")
        conn.lock().expect("conn").push_str("End");
        // The request is over: let the listeners finish (Elixir: the linked processes die).
        thread_mailbox.close();
    });
    conn.into_inner().expect("conn")
}

fn main() -> ExitCode {
    let mut requests = 1000u32;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next().map(|v| v.parse::<u32>())) {
            ("--requests", Some(Ok(n))) if n > 0 => requests = n,
            (name, v) => {
                eprintln!("ack_fifo: invalid argument {name} = {v:?}: expected --requests N (N >= 1)");
                return ExitCode::FAILURE;
            }
        }
    }
    let expected: String = format!("Start{}End", (1..=10).map(|i: u32| i.to_string()).collect::<String>());

    let t0 = Instant::now();
    let first = call(true, 10);
    println!("with the ack: {first}");
    let mut wrong = usize::from(first != expected);
    for _ in 1..requests {
        wrong += usize::from(call(true, 10) != expected);
    }
    let with_ack = t0.elapsed();
    println!(
        "with the ack: {requests} requests, {wrong} wrong, {:.1} µs per request (vs. 5 s each with Process.sleep 5000)",
        with_ack.as_secs_f64() * 1e6 / f64::from(requests)
    );

    // The seed's bug, for comparison: "End" is written without waiting. What
    // the client gets depends on scheduling; only counted, never checked.
    println!("without the ack, e.g.: {}", call(false, 10));
    let t1 = Instant::now();
    let early = (0..requests).filter(|_| call(false, 10) != expected).count();
    println!(
        "without the ack: {early} of {requests} requests had \"End\" before some numbers ({:.1} µs per request)",
        t1.elapsed().as_secs_f64() * 1e6 / f64::from(requests)
    );
    println!("done in {:.1} ms", t0.elapsed().as_secs_f64() * 1e3);

    if wrong > 0 {
        eprintln!("ack_fifo: {wrong} request(s) with the ack did not give {expected}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
