//! The pacer under a manual clock: hour-long budgets in milliseconds, every
//! wait exact.

use std::sync::{Arc, Mutex, OnceLock, Weak};

use async_trait::async_trait;

use super::*;
use crate::clock::ManualClock;

/// A manual clock that records every sleep and what the pacer said while
/// it slept.
#[derive(Debug, Clone, Default)]
struct RecordingClock {
    inner: ManualClock,
    sleeps: Arc<Mutex<Vec<Duration>>>,
    statuses: Arc<Mutex<Vec<Option<String>>>>,
    pacer: Arc<OnceLock<Weak<Pacer>>>,
}

impl RecordingClock {
    fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }

    fn statuses(&self) -> Vec<Option<String>> {
        self.statuses.lock().unwrap().clone()
    }
}

#[async_trait]
impl Clock for RecordingClock {
    fn now(&self) -> Instant {
        self.inner.now()
    }

    fn wall(&self) -> std::time::SystemTime {
        self.inner.wall()
    }

    async fn sleep(&self, d: Duration) {
        self.sleeps.lock().unwrap().push(d);
        let status = self
            .pacer
            .get()
            .and_then(Weak::upgrade)
            .and_then(|p| p.status());
        self.statuses.lock().unwrap().push(status);
        self.inner.sleep(d).await;
    }
}

fn pacer(config: PacingConfig) -> (Arc<Pacer>, RecordingClock) {
    pacer_in(config, Dialect::GITHUB)
}

fn pacer_in(config: PacingConfig, dialect: Dialect) -> (Arc<Pacer>, RecordingClock) {
    let clock = RecordingClock::default();
    let pacer = Arc::new(Pacer::with_dialect(
        config,
        Arc::new(clock.clone()),
        dialect,
    ));
    clock.pacer.set(Arc::downgrade(&pacer)).unwrap();
    (pacer, clock)
}

fn response(status: u16, headers: &[(&'static str, &str)], body: &str) -> RawResponse {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, value.parse().unwrap());
    }
    RawResponse {
        status,
        headers: map,
        body: body.to_string(),
    }
}

fn ok() -> Result<RawResponse, SendError> {
    Ok(response(201, &[], "{}"))
}

/// Sends `n` writes that all succeed; returns when each was sent.
async fn writes(pacer: &Pacer, clock: &RecordingClock, n: usize) -> Vec<Instant> {
    let mut sent = Vec::new();
    for _ in 0..n {
        let at = Mutex::new(None);
        pacer
            .send(Kind::Write, || {
                *at.lock().unwrap() = Some(clock.now());
                async { ok() }
            })
            .await
            .unwrap();
        sent.push(at.into_inner().unwrap().unwrap());
    }
    sent
}

/// No window of `window` holds more than `budget` sends.
fn assert_window(sent: &[Instant], budget: usize, window: Duration) {
    for (i, pair) in sent.windows(budget + 1).enumerate() {
        let span = pair[budget] - pair[0];
        assert!(
            span >= window,
            "writes {i}..={} are {span:?} apart, inside {window:?}",
            i + budget
        );
    }
}

/// A sequence of canned answers, one per attempt; records attempt times.
struct Script {
    answers: Mutex<VecDeque<Result<RawResponse, SendError>>>,
    times: Mutex<Vec<Instant>>,
}

impl Script {
    fn new(answers: Vec<Result<RawResponse, SendError>>) -> Self {
        Script {
            answers: Mutex::new(answers.into()),
            times: Mutex::new(Vec::new()),
        }
    }

    async fn send(&self, pacer: &Pacer, kind: Kind) -> Result<RawResponse, SendError> {
        pacer
            .send(kind, || {
                self.times.lock().unwrap().push(pacer.clock().now());
                let answer = self.answers.lock().unwrap().pop_front().unwrap_or_else(ok);
                async move { answer }
            })
            .await
    }

    fn times(&self) -> Vec<Instant> {
        self.times.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn default_budget_spaces_300_writes_a_second_apart() {
    let (pacer, clock) = pacer(PacingConfig::default());
    let sent = writes(&pacer, &clock, 300).await;
    assert!(sent[299] - sent[0] >= Duration::from_secs(299));
    assert_window(&sent, 1, Duration::from_secs(1));
    assert_window(&sent, 80, MINUTE);
    // The spacing of writes is not news for the progress line.
    assert!(clock.statuses().iter().all(Option::is_none));
}

#[tokio::test]
async fn per_minute_budget_binds_without_spacing() {
    let config = PacingConfig {
        min_interval: Duration::ZERO,
        ..PacingConfig::default()
    };
    let (pacer, clock) = pacer(config);
    let sent = writes(&pacer, &clock, 300).await;
    assert_window(&sent, 80, MINUTE);
    // 80 at once, then 80 a minute later, ...: the 241st goes at 3 minutes.
    assert_eq!(sent[299] - sent[0], Duration::from_secs(180));
    let waiting = clock.statuses().into_iter().flatten().next().unwrap();
    assert!(
        waiting.ends_with(": write budget (80 per minute)"),
        "{waiting}"
    );
}

#[tokio::test]
async fn per_hour_budget_binds_and_no_window_overflows() {
    let config = PacingConfig {
        min_interval: Duration::from_millis(100),
        per_minute: 80,
        per_hour: 200,
        ..PacingConfig::default()
    };
    let (pacer, clock) = pacer(config);
    let sent = writes(&pacer, &clock, 300).await;
    assert_window(&sent, 1, Duration::from_millis(100));
    assert_window(&sent, 80, MINUTE);
    assert_window(&sent, 200, HOUR);
    assert!(sent[200] - sent[0] >= HOUR);
    assert!(sent[299] - sent[0] >= HOUR + Duration::from_secs(60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_one_queue() {
    let config = PacingConfig {
        per_minute: 10,
        ..PacingConfig::default()
    };
    let (pacer, clock) = pacer(config);
    let sent = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (pacer, clock, sent) = (pacer.clone(), clock.clone(), sent.clone());
        tasks.spawn(async move {
            for _ in 0..5 {
                pacer
                    .send(Kind::Write, || {
                        sent.lock().unwrap().push(clock.now());
                        async { ok() }
                    })
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 40);
    assert_window(&sent, 1, Duration::from_secs(1));
    assert_window(&sent, 10, MINUTE);
}

#[tokio::test]
async fn retry_after_makes_everybody_wait_exactly_that_long() {
    let (pacer, clock) = pacer(PacingConfig::default());
    let limited = response(
        403,
        &[("retry-after", "60")],
        r#"{"message":"You have exceeded a secondary rate limit."}"#,
    );
    let script = Script::new(vec![Ok(limited), ok()]);
    let answer = script.send(&pacer, Kind::Write).await.unwrap();
    assert_eq!(answer.status, 201);
    let times = script.times();
    assert_eq!(times[1] - times[0], Duration::from_secs(60));
    // The first write of a pacer waits the spacing (the previous run's last
    // write may have been a moment ago), then the retry-after.
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(1), Duration::from_secs(60)]
    );
    let status = clock.statuses()[1].clone().unwrap();
    assert!(status.starts_with("waiting until "), "{status}");
    assert!(
        status.ends_with(": secondary rate limit (retry-after 60 s)"),
        "{status}"
    );
    assert_eq!(pacer.status(), None);
}

#[tokio::test]
async fn a_limited_read_holds_back_the_next_write() {
    let (pacer, clock) = pacer(PacingConfig {
        max_limit_waits: 0,
        ..PacingConfig::default()
    });
    let start = clock.now();
    let read = Script::new(vec![Ok(response(429, &[("retry-after", "30")], "{}"))]);
    // With no limit waits allowed the read gives its 429 back at once ...
    assert_eq!(read.send(&pacer, Kind::Read).await.unwrap().status, 429);
    // ... and the gate stays closed for the next request.
    let write = Script::new(vec![ok()]);
    write.send(&pacer, Kind::Write).await.unwrap();
    assert_eq!(write.times()[0] - start, Duration::from_secs(30));
}

#[tokio::test]
async fn primary_limit_waits_until_the_reset() {
    let (pacer, clock) = pacer(PacingConfig::default());
    let reset = (clock.unix_now() + 120).to_string();
    let exhausted = response(
        403,
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ],
        r#"{"message":"API rate limit exceeded"}"#,
    );
    let script = Script::new(vec![Ok(exhausted), ok()]);
    assert_eq!(script.send(&pacer, Kind::Read).await.unwrap().status, 201);
    let times = script.times();
    assert_eq!(times[1] - times[0], Duration::from_secs(120));
}

#[tokio::test]
async fn the_last_request_of_the_hour_closes_the_gate() {
    let (pacer, clock) = pacer(PacingConfig::default());
    let reset = (clock.unix_now() + 300).to_string();
    let last = response(
        200,
        &[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", &reset),
        ],
        "{}",
    );
    let start = clock.now();
    let first = Script::new(vec![Ok(last)]);
    assert_eq!(first.send(&pacer, Kind::Read).await.unwrap().status, 200);
    let next = Script::new(vec![ok()]);
    next.send(&pacer, Kind::Read).await.unwrap();
    assert_eq!(next.times()[0] - start, Duration::from_secs(300));
    assert!(
        clock.statuses()[0]
            .as_deref()
            .unwrap()
            .ends_with("primary rate limit (x-ratelimit-remaining 0)")
    );
}

#[tokio::test]
async fn secondary_limit_without_retry_after_backs_off_from_a_minute() {
    let (pacer, clock) = pacer(PacingConfig::default());
    let limited = || {
        Ok(response(
            403,
            &[],
            r#"{"message":"You have exceeded a secondary rate limit"}"#,
        ))
    };
    let script = Script::new(vec![limited(), limited(), limited(), ok()]);
    assert_eq!(script.send(&pacer, Kind::Write).await.unwrap().status, 201);
    assert_eq!(
        clock.sleeps(),
        [1, 60, 120, 240].map(Duration::from_secs).to_vec()
    );
}

#[tokio::test]
async fn a_forbidden_answer_is_not_a_rate_limit() {
    let (pacer, clock) = pacer(PacingConfig::default());
    let forbidden = response(
        403,
        &[("x-ratelimit-remaining", "4999")],
        r#"{"message":"Resource not accessible by integration"}"#,
    );
    let script = Script::new(vec![Ok(forbidden)]);
    assert_eq!(script.send(&pacer, Kind::Write).await.unwrap().status, 403);
    assert_eq!(script.times().len(), 1);
    // Only the first write's spacing: a plain 403 is not waited out.
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1)]);
}

#[tokio::test]
async fn gitlab_429s_are_waited_out_by_retry_after_then_ratelimit_reset() {
    let (pacer, clock) = pacer_in(PacingConfig::default(), Dialect::GITLAB);
    let reset = (clock.unix_now() + 30).to_string();
    let retry = response(429, &[("retry-after", "7")], r#"{"message":"Retry later"}"#);
    let spent = response(
        429,
        &[("ratelimit-remaining", "0"), ("ratelimit-reset", &reset)],
        r#"{"message":"Retry later"}"#,
    );
    let script = Script::new(vec![Ok(retry), Ok(spent), ok()]);
    assert_eq!(script.send(&pacer, Kind::Write).await.unwrap().status, 201);
    let times = script.times();
    assert_eq!(times[1] - times[0], Duration::from_secs(7));
    // Then until the reset, 30 s after the start (the first write went
    // out 1 s in, the second 7 s later).
    assert_eq!(times[2] - times[1], Duration::from_secs(30 - 1 - 7));
    assert!(
        clock
            .statuses()
            .iter()
            .flatten()
            .any(|s| s.ends_with("primary rate limit (ratelimit-remaining 0)")),
        "{:?}",
        clock.statuses()
    );
}

#[tokio::test]
async fn on_gitlab_a_403_is_a_refusal_even_when_it_says_rate_limit() {
    let (pacer, _clock) = pacer_in(PacingConfig::default(), Dialect::GITLAB);
    // GitHub's x-ratelimit headers mean nothing to GitLab's dialect.
    let forbidden = response(
        403,
        &[("x-ratelimit-remaining", "0")],
        r#"{"message":"403 Forbidden - rate limit"}"#,
    );
    let script = Script::new(vec![Ok(forbidden)]);
    assert_eq!(script.send(&pacer, Kind::Read).await.unwrap().status, 403);
    assert_eq!(script.times().len(), 1);
}

#[tokio::test]
async fn transient_failures_back_off_exponentially_up_to_the_cap() {
    let config = PacingConfig {
        max_retries: 6,
        backoff_base: Duration::from_secs(1),
        backoff_cap: Duration::from_secs(5),
        min_interval: Duration::ZERO,
        ..PacingConfig::default()
    };
    let (pacer, clock) = pacer(config);
    let failing = (0..10)
        .map(|_| Ok(response(502, &[], "bad gateway")))
        .collect();
    let script = Script::new(failing);
    // After the retries are spent the last answer comes back to the caller.
    assert_eq!(script.send(&pacer, Kind::Write).await.unwrap().status, 502);
    assert_eq!(script.times().len(), 7);
    assert_eq!(
        clock.sleeps(),
        [1, 2, 4, 5, 5, 5].map(Duration::from_secs).to_vec()
    );
}

#[tokio::test]
async fn connection_errors_are_retried_and_other_errors_are_not() {
    let (pacer, clock) = pacer(PacingConfig::default());
    let refused = || SendError {
        message: "connection refused".into(),
        status: None,
        transient: true,
    };
    let script = Script::new(vec![Err(refused()), Err(refused()), ok()]);
    assert_eq!(script.send(&pacer, Kind::Read).await.unwrap().status, 201);
    assert_eq!(clock.sleeps(), [1, 2].map(Duration::from_secs).to_vec());

    let fatal = SendError {
        message: "bad private key".into(),
        status: None,
        transient: false,
    };
    let script = Script::new(vec![Err(fatal)]);
    assert!(script.send(&pacer, Kind::Read).await.is_err());
    assert_eq!(script.times().len(), 1);
}

#[test]
fn backoff_doubles_and_caps_without_overflow() {
    let s = Duration::from_secs;
    assert_eq!(backoff(s(1), s(60), 0), s(1));
    assert_eq!(backoff(s(1), s(60), 3), s(8));
    assert_eq!(backoff(s(1), s(60), 6), s(60));
    assert_eq!(backoff(s(1), s(60), u32::MAX), s(60));
}

#[test]
fn people_may_only_slow_the_pace() {
    let fast = PacingConfig {
        min_interval: Duration::ZERO,
        per_minute: 1000,
        per_hour: 20,
        ..PacingConfig::default()
    }
    .within_github_limits();
    assert_eq!(fast.min_interval, Duration::from_secs(1));
    assert_eq!(fast.per_minute, 80);
    assert_eq!(fast.per_hour, 20);
}
