//! Waiting until something holds: the tool's one wait (testcontainers'
//! wait strategy), for a service's answer, a stack's readiness, a socket.
//! A signal ends it at once; the time left is the attempt's to use.

use std::{
    thread,
    time::{Duration, Instant},
};

use anyhow::Result;

use super::signals;

/// How long to wait, and how often to look.
#[derive(Debug, Clone, Copy)]
pub struct Wait {
    pub timeout: Duration,
    pub every: Duration,
}

impl Wait {
    pub fn new(timeout: Duration, every: Duration) -> Wait {
        Wait { timeout, every }
    }

    /// Calls `attempt` with the time left until it gives a value, fails,
    /// or the time runs out: then None, for the caller to say what it
    /// waited for. Each attempt runs at least once; a signal fails it.
    pub fn until<T>(self, mut attempt: impl FnMut(Duration) -> Result<Option<T>>) -> Result<Option<T>> {
        let deadline = Instant::now() + self.timeout;
        loop {
            signals::check()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(value) = attempt(left)? {
                return Ok(Some(value));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            thread::sleep(left.min(self.every));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_ends_with_a_value_a_failure_or_the_time() {
        let wait = Wait::new(Duration::from_millis(50), Duration::from_millis(5));
        let mut tries = 0;
        let found = wait.until(|_| {
            tries += 1;
            Ok((tries == 3).then_some(tries))
        });
        assert_eq!(found.unwrap(), Some(3));
        assert_eq!(wait.until(|_| Ok(None::<()>)).unwrap(), None);
        assert!(wait.until(|_| -> Result<Option<()>> { anyhow::bail!("gone") }).is_err());
        let once = Wait::new(Duration::ZERO, Duration::from_millis(5));
        assert_eq!(once.until(|left| Ok(Some(left))).unwrap(), Some(Duration::ZERO), "an attempt even with no time");
    }
}
