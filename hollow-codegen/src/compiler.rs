//! Stage 1: run the Cap'n Proto compiler (embedded or a system `capnp`) to
//! get a `CodeGeneratorRequest`.
//!
//! `hollow.capnp` is bundled: it is written to a temporary directory that is
//! added, last, to the import path, so schemas can `import "/hollow.capnp"`
//! without copying the file.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, ErrorKind};

/// The annotations file (`schemas/hollow.capnp`), bundled into the tool.
pub const HOLLOW_CAPNP: &str = include_str!("../../schemas/hollow.capnp");

/// Which compiler turns `.capnp` text into a `CodeGeneratorRequest`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SchemaCompiler {
    /// The official compiler built to WebAssembly and run in-process
    /// (`capnpc-embedded`): nothing to install.
    #[default]
    Embedded,
    /// A `capnp` executable (`capnp compile -o-`), much faster to start.
    Executable(PathBuf),
}

/// What to compile.
pub(crate) struct Inputs<'a> {
    pub(crate) files: &'a [PathBuf],
    pub(crate) src_prefixes: &'a [PathBuf],
    pub(crate) import_paths: &'a [PathBuf],
}

/// Runs the compiler on `inputs` and returns the serialized request.
pub(crate) fn run(compiler: &SchemaCompiler, inputs: &Inputs<'_>) -> Result<Vec<u8>, Error> {
    let bundled = tempfile::Builder::new()
        .prefix("hollow-codegen-")
        .tempdir()
        .map_err(|e| {
            Error::io(
                "creating a temporary directory in",
                &std::env::temp_dir(),
                e,
            )
        })?;
    let hollow = bundled.path().join("hollow.capnp");
    std::fs::write(&hollow, HOLLOW_CAPNP).map_err(|e| Error::io("writing", &hollow, e))?;
    let mut imports: Vec<PathBuf> = inputs.import_paths.to_vec();
    imports.push(bundled.path().to_path_buf());
    tracing::debug!(
        files = inputs.files.len(),
        ?compiler,
        "running the schema compiler"
    );
    match compiler {
        SchemaCompiler::Embedded => embedded(inputs, &imports),
        SchemaCompiler::Executable(exe) => executable(exe, inputs, &imports),
    }
}

fn embedded(inputs: &Inputs<'_>, imports: &[PathBuf]) -> Result<Vec<u8>, Error> {
    let mut cmd = capnpc_embedded::CompileCommand::new();
    for p in inputs.src_prefixes {
        cmd.src_prefix(p);
    }
    for p in imports {
        cmd.import_path(p);
    }
    for f in inputs.files {
        cmd.file(f);
    }
    cmd.compile().map_err(|e| {
        Error::new(
            ErrorKind::Compiler,
            format!(
                "the Cap'n Proto compiler refused {} (its messages, with file and line, are \
                 printed above on stderr): {e}",
                list(inputs.files)
            ),
        )
    })
}

fn executable(exe: &Path, inputs: &Inputs<'_>, imports: &[PathBuf]) -> Result<Vec<u8>, Error> {
    let mut cmd = Command::new(exe);
    cmd.arg("compile").arg("-o-");
    for p in inputs.src_prefixes {
        cmd.arg(format!("--src-prefix={}", p.display()));
    }
    for p in imports {
        cmd.arg(format!("--import-path={}", p.display()));
    }
    cmd.args(inputs.files);
    let out = cmd.output().map_err(|e| {
        Error::new(
            ErrorKind::Compiler,
            format!("cannot run the Cap'n Proto compiler {}: {e}", exe.display()),
        )
    })?;
    if !out.status.success() || out.stdout.is_empty() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(Error::new(
            ErrorKind::Compiler,
            format!(
                "the Cap'n Proto compiler {} refused {} ({}):\n{}",
                exe.display(),
                list(inputs.files),
                out.status,
                stderr.trim_end()
            ),
        ));
    }
    Ok(out.stdout)
}

fn list(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
