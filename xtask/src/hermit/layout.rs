//! Where the Hermit build keeps its work under `<workspace>/target/hermit`.

use std::path::PathBuf;

/// Paths of the Hermit build.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    /// The layout of this checkout.
    pub fn of_workspace() -> Layout {
        Layout {
            root: crate::workspace::root().join("target").join("hermit"),
        }
    }

    /// The kernel library of one kernel key.
    pub fn kernel(&self, key: &str) -> PathBuf {
        self.root.join(format!("kernel-{key}"))
    }

    /// The copy of the registry source the kernel is built from.
    pub fn kernel_source(&self) -> PathBuf {
        self.root.join("kernel-src")
    }

    /// The built applications of one application key.
    pub fn apps(&self, key: &str) -> PathBuf {
        self.root.join(format!("apps-{key}"))
    }

    /// The build log.
    pub fn log(&self) -> PathBuf {
        self.root.join("build.log")
    }
}

/// The applications' sources (their own cargo workspace).
pub fn sources() -> PathBuf {
    crate::workspace::root().join("tests").join("hermit")
}
