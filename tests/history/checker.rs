//! The history checker: judges a recorded history — side effects logged outside the engine,
//! the kills, every HTTP answer, and the runs' final state — against what the engine promises.
//!
//! - **Effects.** Each step's side effect happened once in a completed run; a repetition is
//!   allowed only when the executor that wrote the earlier effect was killed between the two and
//!   the run had not moved on to a later step in between (the step was in flight at the kill).
//! - **Accepted payloads.** A payload or decision a sender was told was accepted (2xx) is the one
//!   the run consumed.
//! - **No contradiction.** `409` means another payload or decision won, `410` that the hook or
//!   approval expired; `404` and `422` for what the sender knew existed and was well typed, or a
//!   `200` for a decision whose outcome still waits at that approval, contradict the store.
//! - **Every run completed.**

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde_json::Value;

/// One side effect, as a node logged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Effect {
    /// The run.
    pub(crate) run: String,
    /// The step key.
    pub(crate) step: String,
    /// The node process that executed the step.
    pub(crate) pid: u32,
    /// When, in microseconds since the Unix epoch.
    pub(crate) at_us: u64,
}

impl Effect {
    /// Reads a log line `run step pid micros`; `None` for anything else.
    pub(crate) fn parse(line: &str) -> Option<Self> {
        let mut fields = line.split_whitespace();
        let effect = Self {
            run: fields.next()?.to_owned(),
            step: fields.next()?.to_owned(),
            pid: fields.next()?.parse().ok()?,
            at_us: fields.next()?.parse().ok()?,
        };
        fields.next().is_none().then_some(effect)
    }
}

/// A node killed with SIGKILL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Kill {
    /// The killed process.
    pub(crate) pid: u32,
    /// Just before the signal was sent, in microseconds since the Unix epoch.
    pub(crate) issued_us: u64,
    /// Once the process was reaped.
    pub(crate) dead_us: u64,
}

/// What an answer was about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Target {
    /// A delivery to this hook id.
    Hook(String),
    /// A decision on the approval with this key.
    Approval(String),
}

impl fmt::Display for Target {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hook(hook) => write!(formatter, "hook {hook}"),
            Self::Approval(key) => write!(formatter, "approval {key}"),
        }
    }
}

/// One HTTP answer to a delivery or a decision.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Answer {
    /// The run the hook or approval belongs to.
    pub(crate) run: String,
    /// The hook or the approval.
    pub(crate) target: Target,
    /// The sender's name for what it sent (`p1`, `p2`, `bad`, `approve`, `reject`).
    pub(crate) label: String,
    /// What was sent, as the final state records it when consumed: a hook's payload, or a
    /// decision as `{"status": "approved"|"edited", "value"}` / `{"status": "rejected", "reason"}`.
    pub(crate) sent: Value,
    /// Whether what was sent has the type the workflow awaits.
    pub(crate) well_typed: bool,
    /// The node that answered.
    pub(crate) pid: u32,
    /// The HTTP status; `None` when no answer came (the node died, the connection broke).
    pub(crate) status: Option<u16>,
    /// The answer's body (or the transport error), as received.
    pub(crate) body: Value,
    /// When the answer arrived, in microseconds since the Unix epoch.
    pub(crate) at_us: u64,
}

impl Answer {
    /// The body's error code, or its `status` (`queued`, `completed`, …), for reports.
    pub(crate) fn code(&self) -> String {
        let code = self.body["error"]["code"]
            .as_str()
            .or_else(|| self.body["status"].as_str())
            .or_else(|| self.body["outcome"]["status"].as_str())
            .unwrap_or("-");
        if self.body["duplicate"] == Value::Bool(true) {
            format!("{code},duplicate")
        } else {
            code.to_owned()
        }
    }

    /// `p1→202 queued@1234` or `p1→no answer@1234`.
    fn short(&self) -> String {
        match self.status {
            Some(status) => format!("{}→{status} {}@{}", self.label, self.code(), self.pid),
            None => format!("{}→no answer@{}", self.label, self.pid),
        }
    }
}

/// How a hook or an approval ended.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum End {
    /// The run consumed this payload or decision (same shape as [`Answer::sent`]).
    Consumed(Value),
    /// Its deadline passed first: the run saw the timeout.
    Expired,
    /// It still waits.
    Pending,
    /// The run never got there (or the state has no entry for it).
    Missing,
}

impl fmt::Display for End {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Consumed(value) => write!(formatter, "consumed {value}"),
            Self::Expired => formatter.write_str("expired"),
            Self::Pending => formatter.write_str("still pending"),
            Self::Missing => formatter.write_str("never reached"),
        }
    }
}

/// A run's final state, read from the store.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RunEnd {
    /// The run.
    pub(crate) run: String,
    /// Its final outcome's status (`completed`, `suspended`, …) and, when not completed, the
    /// outcome itself.
    pub(crate) outcome: String,
    /// Whether it completed.
    pub(crate) completed: bool,
    /// How each of its hooks and approvals ended.
    pub(crate) ends: BTreeMap<Target, End>,
}

/// Everything the checker judges.
#[derive(Clone, Debug, Default)]
pub(crate) struct History {
    /// The workflow's steps in stages, in execution order: the steps of one stage run at once
    /// (parallel branches), each stage after the one before. Every completed run executed each.
    pub(crate) stages: Vec<Vec<String>>,
    /// The side-effect log.
    pub(crate) effects: Vec<Effect>,
    /// The kills.
    pub(crate) kills: Vec<Kill>,
    /// Every answer to a delivery or a decision.
    pub(crate) answers: Vec<Answer>,
    /// Every run's final state.
    pub(crate) runs: Vec<RunEnd>,
    /// Times in reports are shown relative to this (microseconds since the Unix epoch).
    pub(crate) origin_us: u64,
}

/// One broken promise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    /// The run.
    pub(crate) run: String,
    /// Which rule: `effect`, `accepted`, `contradiction`, `incomplete`.
    pub(crate) rule: &'static str,
    /// What happened, with pids, times and answers.
    pub(crate) detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "run {} [{}]: {}",
            self.run, self.rule, self.detail
        )
    }
}

/// The checker's findings.
#[derive(Clone, Debug, Default)]
pub(crate) struct Verdict {
    /// Every broken promise.
    pub(crate) violations: Vec<Violation>,
    /// Repeated effects explained by a kill.
    pub(crate) repeats_allowed: usize,
    /// Repeated effects in all.
    pub(crate) repeats: usize,
}

impl Verdict {
    /// A short report: the counts per rule, then at most `limit` violations of each rule.
    pub(crate) fn report(&self, limit: usize) -> String {
        let mut by_rule: BTreeMap<&str, Vec<&Violation>> = BTreeMap::new();
        for violation in &self.violations {
            by_rule.entry(violation.rule).or_default().push(violation);
        }
        let counts: Vec<String> = by_rule
            .iter()
            .map(|(rule, violations)| format!("{rule} {}", violations.len()))
            .collect();
        let mut report = format!(
            "history checker: {} violation(s) ({}); repeated effects {} (allowed by a kill: {})",
            self.violations.len(),
            counts.join(", "),
            self.repeats,
            self.repeats_allowed
        );
        for violations in by_rule.values() {
            for violation in violations.iter().take(limit) {
                let _ = write!(report, "\n  {violation}");
            }
            if violations.len() > limit {
                let _ = write!(report, "\n  … and {} more", violations.len() - limit);
            }
        }
        report
    }
}

/// Judges `history`.
pub(crate) fn check(history: &History) -> Verdict {
    let mut verdict = Verdict::default();
    check_effects(history, &mut verdict);
    check_answers(history, &mut verdict);
    for run in &history.runs {
        if !run.completed {
            verdict.violations.push(Violation {
                run: run.run.clone(),
                rule: "incomplete",
                detail: format!("ended {}", run.outcome),
            });
        }
    }
    verdict
}

/// Seconds since the history's origin, for reports.
fn at(history: &History, micros: u64) -> String {
    let relative = micros.saturating_sub(history.origin_us);
    format!(
        "{}.{:03}s",
        relative / 1_000_000,
        relative % 1_000_000 / 1_000
    )
}

fn check_effects(history: &History, verdict: &mut Verdict) {
    let mut by_run: BTreeMap<&str, Vec<&Effect>> = BTreeMap::new();
    for effect in &history.effects {
        by_run.entry(&effect.run).or_default().push(effect);
    }
    for run in &history.runs {
        let effects = by_run.remove(run.run.as_str()).unwrap_or_default();
        let staged = history
            .stages
            .iter()
            .enumerate()
            .flat_map(|(stage, steps)| steps.iter().map(move |step| (stage, step)));
        for (stage, step) in staged {
            let mut of_step: Vec<&Effect> = effects
                .iter()
                .copied()
                .filter(|effect| effect.step == *step)
                .collect();
            of_step.sort_by_key(|effect| effect.at_us);
            if of_step.is_empty() && run.completed {
                verdict.violations.push(Violation {
                    run: run.run.clone(),
                    rule: "effect",
                    detail: format!("step {step} has no side effect, yet the run completed"),
                });
            }
            let later: Vec<&Effect> = effects
                .iter()
                .copied()
                // A step of the same stage (a parallel branch) is not later: it may run before,
                // during or after this one.
                .filter(|effect| {
                    history.stages[stage + 1..]
                        .iter()
                        .any(|later| later.contains(&effect.step))
                })
                .collect();
            let mut reasons = Vec::new();
            for pair in of_step.windows(2) {
                verdict.repeats += 1;
                match unexplained(history, pair[0], pair[1], &later) {
                    None => verdict.repeats_allowed += 1,
                    Some(why) => reasons.push(why),
                }
            }
            if !reasons.is_empty() {
                let effects: Vec<String> = of_step
                    .iter()
                    .map(|effect| format!("pid {} at {}", effect.pid, at(history, effect.at_us)))
                    .collect();
                verdict.violations.push(Violation {
                    run: run.run.clone(),
                    rule: "effect",
                    detail: format!(
                        "step {step} ran {}x: {}; {}",
                        of_step.len(),
                        effects.join(", "),
                        reasons.join("; ")
                    ),
                });
            }
        }
    }
}

/// Why `second` repeating `first` is not explained by a kill, if it is not.
fn unexplained(
    history: &History,
    first: &Effect,
    second: &Effect,
    later_steps: &[&Effect],
) -> Option<String> {
    let killed = history.kills.iter().find(|kill| {
        kill.pid == first.pid && kill.dead_us >= first.at_us && second.at_us >= kill.issued_us
    });
    let Some(kill) = killed else {
        return Some(format!(
            "pid {} was not killed between {} and {}",
            first.pid,
            at(history, first.at_us),
            at(history, second.at_us)
        ));
    };
    let moved_on = later_steps
        .iter()
        .find(|effect| effect.at_us > first.at_us && effect.at_us < second.at_us);
    moved_on.map(|effect| {
        format!(
            "pid {} was killed at {}, but the run had moved on to step {} (pid {} at {}) before the repeat",
            kill.pid,
            at(history, kill.issued_us),
            effect.step,
            effect.pid,
            at(history, effect.at_us)
        )
    })
}

/// How many answers to one hook or approval a violation lists.
const ANSWERS_SHOWN: usize = 10;

fn check_answers(history: &History, verdict: &mut Verdict) {
    let ends: BTreeMap<(&str, &Target), &End> = history
        .runs
        .iter()
        .flat_map(|run| {
            run.ends
                .iter()
                .map(|(target, end)| ((run.run.as_str(), target), end))
        })
        .collect();
    let mut by_target: BTreeMap<(&str, &Target), Vec<&Answer>> = BTreeMap::new();
    for answer in &history.answers {
        by_target
            .entry((answer.run.as_str(), &answer.target))
            .or_default()
            .push(answer);
    }
    for ((run, target), answers) in by_target {
        let end = ends.get(&(run, target)).copied().unwrap_or(&End::Missing);
        let all = || {
            let mut all: Vec<String> = answers
                .iter()
                .take(ANSWERS_SHOWN)
                .map(|answer| answer.short())
                .collect();
            if answers.len() > ANSWERS_SHOWN {
                all.push(format!("… {} more", answers.len() - ANSWERS_SHOWN));
            }
            all.join(" ")
        };
        for answer in &answers {
            if let Some((rule, why)) = judge(answer, end) {
                verdict.violations.push(Violation {
                    run: run.to_owned(),
                    rule,
                    detail: format!(
                        "{target}: {} sent {} was answered {} {} by pid {} at {}, {why}; it finally {end}; all answers: {}",
                        answer.label,
                        answer.sent,
                        answer.status.unwrap_or_default(),
                        answer.code(),
                        answer.pid,
                        at(history, answer.at_us),
                        all()
                    ),
                });
            }
        }
    }
}

/// The rule `answer` breaks given how its hook or approval `end`ed, if any.
fn judge(answer: &Answer, end: &End) -> Option<(&'static str, &'static str)> {
    let consumed = match end {
        End::Consumed(value) => Some(value),
        _ => None,
    };
    match answer.status? {
        200..=299 => {
            if consumed != Some(&answer.sent) {
                return Some(("accepted", "but that is not what the run consumed"));
            }
            let still_waits = matches!(&answer.target, Target::Approval(key)
                if answer.body["outcome"]["status"] == "awaiting_approval"
                    && answer.body["outcome"]["approval"]["stepKey"] == key.as_str());
            still_waits.then_some(("contradiction", "whose outcome still waits at the approval"))
        }
        409 => match consumed {
            Some(value) if *value != answer.sent => None,
            _ => Some(("contradiction", "but no other payload or decision won")),
        },
        410 => (*end != End::Expired).then_some(("contradiction", "but it did not expire")),
        422 if !answer.well_typed => None,
        500..=599 => None,
        _ => Some((
            "contradiction",
            "an answer that cannot be right for what the sender knew existed and was well typed",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const S: u64 = 1_000_000;

    fn effect(run: &str, step: &str, pid: u32, at_us: u64) -> Effect {
        Effect {
            run: run.to_owned(),
            step: step.to_owned(),
            pid,
            at_us,
        }
    }

    fn answer(label: &str, sent: Value, status: u16, body: Value) -> Answer {
        Answer {
            run: "r1".to_owned(),
            target: Target::Hook("h1".to_owned()),
            label: label.to_owned(),
            sent,
            well_typed: true,
            pid: 7,
            status: Some(status),
            body,
            at_us: 2 * S,
        }
    }

    /// Run `r1`: steps a and b by pid 7, hook h1 consumed `{"cents": 1}`.
    fn good() -> History {
        History {
            stages: vec![vec!["a".to_owned()], vec!["b".to_owned()]],
            effects: vec![effect("r1", "a", 7, S), effect("r1", "b", 7, 3 * S)],
            kills: Vec::new(),
            answers: vec![answer(
                "p1",
                json!({ "cents": 1 }),
                202,
                json!({ "status": "queued" }),
            )],
            runs: vec![RunEnd {
                run: "r1".to_owned(),
                outcome: "completed".to_owned(),
                completed: true,
                ends: BTreeMap::from([(
                    Target::Hook("h1".to_owned()),
                    End::Consumed(json!({ "cents": 1 })),
                )]),
            }],
            origin_us: 0,
        }
    }

    fn rules(history: &History) -> Vec<&'static str> {
        check(history)
            .violations
            .iter()
            .map(|violation| violation.rule)
            .collect()
    }

    #[test]
    fn a_clean_history_passes() {
        let verdict = check(&good());
        assert!(verdict.violations.is_empty(), "{}", verdict.report(10));
    }

    #[test]
    fn a_step_twice_without_a_kill_fails() {
        let mut history = good();
        history.effects.push(effect("r1", "a", 8, S + 10));
        let verdict = check(&history);
        assert_eq!(rules(&history), ["effect"], "{}", verdict.report(10));
        let report = verdict.report(10);
        assert!(report.contains("step a ran 2x"), "{report}");
        assert!(report.contains("pid 7 was not killed"), "{report}");
    }

    #[test]
    fn a_step_twice_around_a_kill_of_its_first_executor_passes() {
        let mut history = good();
        history.kills.push(Kill {
            pid: 7,
            issued_us: S + 100,
            dead_us: S + 200,
        });
        history.effects.push(effect("r1", "a", 8, 2 * S));
        let verdict = check(&history);
        assert!(verdict.violations.is_empty(), "{}", verdict.report(10));
        assert_eq!((verdict.repeats, verdict.repeats_allowed), (1, 1));
    }

    #[test]
    fn a_repeat_after_the_run_moved_on_fails_even_around_a_kill() {
        let mut history = good();
        history.effects = vec![
            effect("r1", "a", 7, S),
            effect("r1", "b", 7, S + 50),
            effect("r1", "a", 8, 2 * S),
            effect("r1", "b", 8, 3 * S),
        ];
        history.kills.push(Kill {
            pid: 7,
            issued_us: S + 100,
            dead_us: S + 200,
        });
        let verdict = check(&history);
        let report = verdict.report(10);
        assert!(report.contains("moved on to step b"), "{report}");
        assert_eq!(rules(&history), ["effect"], "{report}");
    }

    #[test]
    fn a_parallel_branch_is_not_a_later_step_but_the_next_stage_is() {
        // `b` and `p` run at once: `p`'s effect between `b`'s two is no proof the run moved on.
        let mut history = good();
        history.stages = vec![
            vec!["a".to_owned()],
            vec!["b".to_owned(), "p".to_owned()],
            vec!["c".to_owned()],
        ];
        history.effects = vec![
            effect("r1", "a", 7, S),
            effect("r1", "b", 7, S + 20),
            effect("r1", "p", 7, S + 40),
            effect("r1", "b", 8, 2 * S),
            effect("r1", "p", 8, 2 * S + 10),
            effect("r1", "c", 8, 3 * S),
        ];
        history.kills.push(Kill {
            pid: 7,
            issued_us: S + 100,
            dead_us: S + 200,
        });
        let verdict = check(&history);
        assert!(verdict.violations.is_empty(), "{}", verdict.report(10));
        assert_eq!((verdict.repeats, verdict.repeats_allowed), (2, 2));
        // But a repeat of `b` after `c` (the next stage) ran is not explained by the kill.
        history.effects.push(effect("r1", "c", 7, S + 60));
        let report = check(&history).report(10);
        assert!(report.contains("moved on to step c"), "{report}");
    }

    #[test]
    fn a_repeat_by_a_killed_node_that_came_before_the_kill_fails() {
        let mut history = good();
        history.effects.push(effect("r1", "a", 8, S + 10));
        history.kills.push(Kill {
            pid: 7,
            issued_us: S + 100,
            dead_us: S + 200,
        });
        assert_eq!(rules(&history), ["effect"]);
    }

    #[test]
    fn an_accepted_payload_that_is_not_the_consumed_one_fails() {
        let mut history = good();
        history.answers.push(answer(
            "p2",
            json!({ "cents": 2 }),
            200,
            json!({ "status": "completed" }),
        ));
        let verdict = check(&history);
        assert_eq!(rules(&history), ["accepted"], "{}", verdict.report(10));
        assert!(verdict.report(10).contains("p2→200 completed@7"));
    }

    #[test]
    fn an_accepted_payload_of_a_hook_that_timed_out_fails() {
        let mut history = good();
        history.runs[0]
            .ends
            .insert(Target::Hook("h1".to_owned()), End::Expired);
        assert_eq!(rules(&history), ["accepted"]);
    }

    #[test]
    fn answers_that_contradict_the_final_state_fail() {
        let mut history = good();
        let refused = |status, code: &str| {
            answer(
                "p1",
                json!({ "cents": 1 }),
                status,
                json!({ "error": { "code": code } }),
            )
        };
        // The consumed payload itself told it lost, told it expired, told it is unknown.
        history.answers = vec![
            refused(409, "already_resolved"),
            refused(410, "hook_expired"),
            refused(404, "unknown_hook"),
            refused(422, "payload_type"),
        ];
        assert_eq!(rules(&history), ["contradiction"; 4]);
        // The same answers are fine where they are true (a rival won; a wrong-typed payload).
        history.answers = vec![answer(
            "p2",
            json!({ "cents": 2 }),
            409,
            json!({ "error": { "code": "already_resolved" } }),
        )];
        history.answers.push(Answer {
            well_typed: false,
            ..refused(422, "payload_type")
        });
        history.answers.push(refused(503, "unavailable"));
        assert!(rules(&history).is_empty());
    }

    #[test]
    fn a_decision_answered_200_while_the_approval_still_waits_fails() {
        let mut history = good();
        let decision = json!({ "status": "approved", "value": 5 });
        history.runs[0].ends.insert(
            Target::Approval("approve".to_owned()),
            End::Consumed(decision.clone()),
        );
        history.answers.push(Answer {
            target: Target::Approval("approve".to_owned()),
            ..answer(
                "approve",
                decision,
                200,
                json!({ "outcome": { "status": "awaiting_approval", "approval": { "stepKey": "approve" } } }),
            )
        });
        assert_eq!(rules(&history), ["contradiction"]);
    }

    #[test]
    fn a_run_that_did_not_complete_or_skipped_a_step_fails() {
        let mut history = good();
        history.effects.retain(|effect| effect.step != "b");
        assert_eq!(rules(&history), ["effect"]);
        history.runs[0].completed = false;
        history.runs[0].outcome = "suspended".to_owned();
        assert_eq!(rules(&history), ["incomplete"]);
    }

    #[test]
    fn log_lines_parse() {
        assert_eq!(
            Effect::parse("r1 a 7 1000\n"),
            Some(effect("r1", "a", 7, 1000))
        );
        assert_eq!(Effect::parse("r1 a 7"), None);
        assert_eq!(Effect::parse("r1 a 7 1000 extra"), None);
    }
}
