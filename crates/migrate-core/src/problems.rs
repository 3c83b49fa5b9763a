//! What is wrong with migration files, one line each: problems that stop everything, and
//! warnings about files sqlx would apply anyway.

/// One thing wrong with one file: printed as `<file>: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    /// The file as messages name it: `migrations/1_x.up.sql`, or the path under `--source`.
    pub file: String,
    /// The migration it belongs to, when its name says.
    pub version: Option<i64>,
    pub message: String,
}

impl FileProblem {
    pub fn new(file: String, version: Option<i64>, message: impl Into<String>) -> Self {
        Self {
            file,
            version,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FileProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// Every problem found in a set of files, displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FileProblems(pub Vec<FileProblem>);

impl std::fmt::Display for FileProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}
