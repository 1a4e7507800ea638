//! SIGINT and SIGTERM are recorded instead of killing us, so that the
//! waiting loops can return, the child we wait on is stopped, and the
//! guards' `Drop` removes what we started. std has no signal API;
//! `signal(2)` and `kill(2)` are libc's, which std already links, so no
//! crate is needed for them.

use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

/// The signal that came, or 0.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// The step under way is no longer wanted (`watch`: the files changed
/// during its build). Its child is stopped as on a signal, but the run
/// goes on.
static CANCELLED: AtomicBool = AtomicBool::new(false);

pub const SIGINT: i32 = 2;
pub const SIGKILL: i32 = 9;
pub const SIGTERM: i32 = 15;

extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    fn kill(pid: i32, signum: i32) -> i32;
}

extern "C" fn on_signal(signum: i32) {
    // Only an atomic store: nothing else is safe in a signal handler.
    RECEIVED.store(signum, Ordering::SeqCst);
}

pub fn install() {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
    }
}

/// The signal that came, if one did.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signum => Some(signum),
    }
}

/// Cancels the step under way: its child gets SIGTERM, and the step fails
/// with `CANCELLED_STEP`. From any thread.
pub fn cancel() {
    CANCELLED.store(true, Ordering::SeqCst);
}

/// Whether a cancel came since the last `resume`.
pub fn cancelled() -> bool {
    CANCELLED.load(Ordering::SeqCst)
}

/// Lets the next step run.
pub fn resume() {
    CANCELLED.store(false, Ordering::SeqCst);
}

/// The failure of a cancelled step.
pub const CANCELLED_STEP: &str = "Cancelled: newer files came.";

/// Sends `signum` to process `pid`, a child of ours that has not been reaped.
pub fn send(pid: u32, signum: i32) {
    // SAFETY: kill(2) takes plain integers; a pid that is gone gets ESRCH.
    unsafe {
        kill(pid as i32, signum);
    }
}

pub fn name(signum: i32) -> &'static str {
    match signum {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "a signal",
    }
}

/// Fails once a signal has come, for the loops and steps to stop at.
pub fn check() -> anyhow::Result<()> {
    match received() {
        Some(signum) => Err(interrupted(signum)),
        None => Ok(()),
    }
}

fn interrupted(signum: i32) -> anyhow::Error {
    anyhow::anyhow!(
        "Interrupted by a signal ({}): what this run started has been removed, and no tag moved.",
        name(signum)
    )
}

/// `result`, with `context` on a failure, unless a signal is what ended
/// it: then the sentence that says so, and no guess at another cause.
pub fn context_unless_interrupted<T>(result: anyhow::Result<T>, context: &'static str) -> anyhow::Result<T> {
    match (result, received()) {
        (Ok(value), _) => Ok(value),
        (Err(_), Some(signum)) => Err(interrupted(signum)),
        (Err(error), None) => Err(error.context(context)),
    }
}
