//! The driver: [`Config`] runs the pipeline compiler → resolve → emit →
//! write.

use std::path::{Path, PathBuf};

use crate::compiler::{self, Inputs, SchemaCompiler};
use crate::emit::{module, Emit};
use crate::error::{Error, ErrorKind};
use crate::resolve;
use crate::writer::{self, Drift, GeneratedFile, WriteReport};

/// How generated modules are laid out in files.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ModuleLayout {
    /// One file per schema file (`movies.rs`) plus a `mod.rs` declaring
    /// them; the output directory is a Rust module (`mod gen;`).
    #[default]
    FilePerSchema,
    /// Every module inline (`pub mod movies { … }`) in one file of this
    /// name, for `include!` (see [`include_generated!`](crate::include_generated)).
    SingleFile(String),
}

/// The Rust types of map and set fields (`$Hollow.map`, `$Hollow.set`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Collections {
    /// `BTreeMap<K, V>` and `BTreeSet<T>`.
    #[default]
    BTree,
    /// `HashMap<K, V>` and `HashSet<T>`.
    Hash,
}

/// Code generation settings, and the pipeline itself.
///
/// ```no_run
/// # fn main() -> Result<(), hollow_codegen::Error> {
/// hollow_codegen::Config::new()
///     .out_dir("src/gen")
///     .compile(&["schemas/movies.capnp", "schemas/commerce.capnp"])?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Config {
    out_dir: Option<PathBuf>,
    compiler: SchemaCompiler,
    import_paths: Vec<PathBuf>,
    layout: ModuleLayout,
    runtime_crate: Option<String>,
    collections: Collections,
}

impl Config {
    /// The defaults: the embedded compiler, one file per schema, output in
    /// `src/gen`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Where [`compile`](Self::compile) writes and [`check`](Self::check)
    /// compares (default `src/gen`).
    pub fn out_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Uses a system `capnp` executable instead of the embedded compiler.
    pub fn capnp_executable(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.compiler = SchemaCompiler::Executable(path.into());
        self
    }

    /// Chooses the schema compiler.
    pub fn schema_compiler(&mut self, compiler: SchemaCompiler) -> &mut Self {
        self.compiler = compiler;
        self
    }

    /// Adds a directory searched for absolute imports (`import "/x.capnp"`).
    /// `hollow.capnp` is always found (it is bundled) and need not be on it.
    pub fn import_path(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.import_paths.push(dir.into());
        self
    }

    /// Chooses the file layout.
    pub fn module_layout(&mut self, layout: ModuleLayout) -> &mut Self {
        self.layout = layout;
        self
    }

    /// The path generated code names its support crate by: the default
    /// `::hollow_runtime`, `::hollow_core` for a crate of record types that
    /// depends on `hollow-core` alone, or the path of a re-export.
    pub fn runtime_crate(&mut self, path: impl Into<String>) -> &mut Self {
        self.runtime_crate = Some(path.into());
        self
    }

    /// The Rust types of map and set fields (default
    /// [`Collections::BTree`]). Either reads the same data: a map or set
    /// is stored in its key order whatever type wrote it.
    pub fn collections(&mut self, collections: Collections) -> &mut Self {
        self.collections = collections;
        self
    }

    /// The output directory.
    pub fn output_dir(&self) -> &Path {
        self.out_dir.as_deref().unwrap_or(Path::new("src/gen"))
    }

    /// Compiles `files` and generates the Rust source, writing nothing.
    ///
    /// Types of imported files are generated too, in the module of their
    /// file. The output is the same bytes on every run and machine.
    ///
    /// # Errors
    /// - [`ErrorKind::Config`]: no files, or a file that does not exist;
    /// - [`ErrorKind::Compiler`]: the compiler refused the schemas or could
    ///   not run;
    /// - [`ErrorKind::Schema`]: something cannot be generated faithfully;
    ///   one line per problem naming the file, struct and field.
    pub fn generate(&self, files: &[impl AsRef<Path>]) -> Result<Vec<GeneratedFile>, Error> {
        let emit = Emit {
            runtime_crate: match &self.runtime_crate {
                Some(p) => Some(syn::parse_str(p).map_err(|e| {
                    Error::new(
                        ErrorKind::Config,
                        format!("runtime crate path {p:?} is not a Rust path: {e}"),
                    )
                })?),
                None => None,
            },
            collections: self.collections,
        };
        let request = self.request(files)?;
        let plans = resolve::resolve(&request)?;
        let mut out = Vec::new();
        match &self.layout {
            ModuleLayout::FilePerSchema => {
                for p in &plans {
                    out.push(GeneratedFile {
                        name: PathBuf::from(format!("{}.rs", p.name)),
                        content: module::module_file(&emit, p)?,
                    });
                }
                out.push(GeneratedFile {
                    name: PathBuf::from("mod.rs"),
                    content: module::mod_file(&plans)?,
                });
            }
            ModuleLayout::SingleFile(name) => out.push(GeneratedFile {
                name: PathBuf::from(name),
                content: module::single_file(&emit, &plans)?,
            }),
        }
        Ok(out)
    }

    /// Compiles `files` and reads them into the schema IR, generating
    /// nothing: every struct and enum they declare (nested ones included)
    /// and the types of imported files they use, with the compiler's
    /// layout; record types are the structs annotated `$Hollow.record`.
    /// This is the schema a dataset of these types has, to compare with a
    /// blob's (`hollow_schema::evolution`).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), hollow_codegen::Error> {
    /// let schema = hollow_codegen::Config::new().schema(&["schemas/movies.capnp"])?;
    /// assert!(schema.records().any(|s| s.name == "Movie"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`generate`](Self::generate), less the refusals that only Rust
    /// generation needs: [`ErrorKind::Schema`] here means the schema IR
    /// cannot hold the types, or a key names a missing field.
    pub fn schema(&self, files: &[impl AsRef<Path>]) -> Result<hollow_schema::Schema, Error> {
        let request = self.request(files)?;
        Ok(resolve::schema(&request)?.0)
    }

    /// Checks that `files` exist and runs the compiler on them.
    fn request(&self, files: &[impl AsRef<Path>]) -> Result<Vec<u8>, Error> {
        let files: Vec<PathBuf> = files.iter().map(|f| f.as_ref().to_path_buf()).collect();
        if files.is_empty() {
            return Err(Error::new(ErrorKind::Config, "no schema files given"));
        }
        for f in &files {
            if !f.is_file() {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("schema file {} does not exist", f.display()),
                ));
            }
        }
        let mut prefixes: Vec<PathBuf> = Vec::new();
        for f in &files {
            let parent = f.parent().map(Path::to_path_buf).unwrap_or_default();
            if !parent.as_os_str().is_empty() && !prefixes.contains(&parent) {
                prefixes.push(parent);
            }
        }
        compiler::run(
            &self.compiler,
            &Inputs {
                files: &files,
                src_prefixes: &prefixes,
                import_paths: &self.import_paths,
            },
        )
    }

    /// Generates and writes into the output directory, touching only files
    /// whose content changed and removing stale generated files. Nothing is
    /// written when generation fails.
    ///
    /// # Errors
    /// As [`generate`](Self::generate), plus [`ErrorKind::Io`] when a file
    /// cannot be written.
    pub fn compile(&self, files: &[impl AsRef<Path>]) -> Result<WriteReport, Error> {
        let generated = self.generate(files)?;
        writer::write(self.output_dir(), &generated)
    }

    /// Generates and compares with the output directory, writing nothing:
    /// the files that would change (empty when up to date).
    ///
    /// # Errors
    /// As [`generate`](Self::generate), plus [`ErrorKind::Io`] when a file
    /// cannot be read.
    pub fn check(&self, files: &[impl AsRef<Path>]) -> Result<Vec<Drift>, Error> {
        let generated = self.generate(files)?;
        writer::check(self.output_dir(), &generated)
    }
}

/// The `.capnp` files directly in `dir`, sorted, without `hollow.capnp`
/// (the bundled annotations file is used instead).
///
/// # Errors
/// [`ErrorKind::Io`] when `dir` cannot be listed; [`ErrorKind::Config`] when
/// it holds no schema file.
pub fn schema_files(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, Error> {
    let dir = dir.as_ref();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("listing", dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io("listing", dir, e))?.path();
        let is_schema = path.extension().is_some_and(|x| x == "capnp")
            && path.file_name().is_some_and(|n| n != "hollow.capnp")
            && path.is_file();
        if is_schema {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::new(
            ErrorKind::Config,
            format!("no .capnp schema files in {}", dir.display()),
        ));
    }
    Ok(files)
}
