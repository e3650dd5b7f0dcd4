//! The checker that runs during the measurement (the history checker judges the whole history
//! once the round is over).

use std::collections::{HashMap, HashSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::checker::Effect;
use crate::round::STEPS;

/// The checker that runs during the measurement: it reads what the nodes append to the
/// side-effect log and flags a step executed twice the moment it shows up.
pub(crate) struct Tail {
    file: std::fs::File,
    /// Bytes read so far.
    offset: u64,
    /// The start of a line still being written.
    partial: String,
    /// Effects per (run, step).
    counts: HashMap<(String, String), u32>,
    /// Every effect read, in log order.
    pub(crate) effects: Vec<Effect>,
    /// Runs whose last step has run.
    pub(crate) finished: HashSet<String>,
    /// Every repeated (run, step), as reported live.
    pub(crate) repeats: Vec<String>,
    /// Lines that did not parse.
    pub(crate) unreadable: usize,
}

impl Tail {
    /// Reads `log` from its start.
    pub(crate) fn open(log: &Path) -> std::io::Result<Self> {
        Ok(Self {
            file: std::fs::File::options()
                .create(true)
                .append(true)
                .read(true)
                .open(log)?,
            offset: 0,
            partial: String::new(),
            counts: HashMap::new(),
            effects: Vec::new(),
            finished: HashSet::new(),
            repeats: Vec::new(),
            unreadable: 0,
        })
    }

    /// Reads the lines appended since the last call (a line still being written waits).
    pub(crate) fn read_new(&mut self) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        self.file.read_to_end(&mut bytes)?;
        self.offset += u64::try_from(bytes.len()).unwrap_or(0);
        self.partial.push_str(&String::from_utf8_lossy(&bytes));
        let Some(end) = self.partial.rfind('\n') else {
            return Ok(());
        };
        let complete: String = self.partial.drain(..=end).collect();
        for line in complete.lines() {
            let Some(effect) = Effect::parse(line) else {
                self.unreadable += 1;
                continue;
            };
            let count = self
                .counts
                .entry((effect.run.clone(), effect.step.clone()))
                .or_default();
            *count += 1;
            if *count > 1 {
                let repeat = format!(
                    "run {} step {} executed {}x (now by pid {})",
                    effect.run, effect.step, count, effect.pid
                );
                eprintln!("live checker: {repeat}");
                self.repeats.push(repeat);
            }
            if effect.step == STEPS[STEPS.len() - 1] {
                self.finished.insert(effect.run.clone());
            }
            self.effects.push(effect);
        }
        Ok(())
    }
}
