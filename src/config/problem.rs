//! A configuration problem with its place: `file:line:col: message`.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::domain::{Lang, Text};

/// One thing wrong in a configuration file, with the line and column (1-based) it is at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as the user named it (relative to the station root when possible).
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// One sentence saying what is wrong and, where possible, what would be right (English:
    /// `xiangyin check` prints it).
    pub message: String,
    /// The same sentence in Chinese (the pages show it).
    pub message_zh: String,
}

impl Problem {
    /// A problem at `file:line:col`, said in English and Chinese.
    pub fn new(file: &Path, line: usize, col: usize, message: impl Into<Text>) -> Self {
        let t = message.into();
        Self { file: file.to_owned(), line, col, message: t.en, message_zh: t.zh }
    }

    /// A problem with a whole file (reported at 1:1), e.g. one that cannot be read.
    pub fn whole_file(file: &Path, message: impl Into<Text>) -> Self {
        Self::new(file, 1, 1, message)
    }

    /// The sentence in `lang`.
    pub fn sentence(&self, lang: Lang) -> &str {
        match lang {
            Lang::Zh => &self.message_zh,
            Lang::En => &self.message,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.col, self.message)
    }
}

/// Every problem found in one pass, in file order. Never empty when returned as an error.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    /// Adds one problem.
    pub fn push(&mut self, p: Problem) {
        self.0.push(p);
    }

    /// True when nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Sorted by file, line and column, as `check` prints them.
    pub fn sorted(mut self) -> Self {
        self.0.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
        self.0.dedup();
        self
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            writeln!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}
