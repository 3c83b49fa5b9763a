//! Migration files for a test, in a temporary project-like directory: `migrations/`, and room
//! for `schema.sql` beside it. Deleted on drop.

use std::path::{Path, PathBuf};

use crate::workspace_root;

pub struct Migrations {
    root: tempfile::TempDir,
    dir: PathBuf,
}

impl Migrations {
    pub fn new(files: &[(&str, &str)]) -> Self {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("migrations");
        std::fs::create_dir(&dir).unwrap();
        let migrations = Self { root, dir };
        for (name, sql) in files {
            migrations.write(name, sql);
        }
        migrations
    }

    /// A copy of the workspace's own `migrations/`.
    pub fn project() -> Self {
        let migrations = Self::new(&[]);
        for entry in std::fs::read_dir(workspace_root().join("migrations")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), migrations.path().join(entry.file_name())).unwrap();
        }
        migrations
    }

    /// Writes (or overwrites) a file of `migrations/`.
    pub fn write(&self, name: &str, sql: &str) {
        std::fs::write(self.path().join(name), sql).unwrap();
    }

    pub fn remove(&self, name: &str) {
        std::fs::remove_file(self.path().join(name)).unwrap();
    }

    /// The `migrations/` directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The project-like directory holding `migrations/`.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Where its `schema.sql` goes.
    pub fn schema(&self) -> PathBuf {
        self.root.path().join("schema.sql")
    }
}
