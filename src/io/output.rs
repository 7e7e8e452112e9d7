//! HDF5 output files that appear only when complete, with the `/provenance`
//! and `/timings` groups every job writes (I/O layer).

use std::path::{Path, PathBuf};

use anyhow::Context;
use hdf5::types::VarLenUnicode;
use ndarray::Array2;

use crate::timings::Phase;

/// An HDF5 file written under a temporary name beside its final path and
/// renamed into place by [`AtomicH5::commit`]. Dropped uncommitted, the
/// temporary file is removed: a failed run leaves nothing behind.
pub struct AtomicH5 {
    file: Option<hdf5::File>,
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

/// The hidden file `.NAME<suffix>` beside `target` (in `.` for a bare name).
pub fn hidden_beside(target: &Path, suffix: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    dir.join(format!(".{name}{suffix}"))
}

/// The temporary name used while `target` is being written by process
/// `pid`: `.NAME.tmp-PID` beside it, so the rename is atomic.
pub fn temp_path(target: &Path, pid: u64) -> PathBuf {
    hidden_beside(target, &format!(".tmp-{pid}"))
}

/// The temporary name this process uses while `target` is being written.
pub fn temp_path_for(target: &Path) -> PathBuf {
    temp_path(target, u64::from(std::process::id()))
}

/// Checks that `target` can be written (a file name in an existing,
/// writable directory) by creating the empty file `temp`, and registers it
/// for clean-up. A plain file is the probe: HDF5's own message for a
/// read-only directory is a long error stack.
fn create_temp(target: &Path, temp: &Path) -> anyhow::Result<std::fs::File> {
    if target.file_name().is_none() || target.is_dir() {
        anyhow::bail!(
            "output path '{}' is a directory; give a file name",
            target.display()
        );
    }
    let dir = temp.parent().expect("temp path has a parent");
    if !dir.is_dir() {
        anyhow::bail!(
            "cannot write output '{}': directory '{}' does not exist",
            target.display(),
            dir.display()
        );
    }
    let file = std::fs::File::create(temp)
        .with_context(|| format!("cannot write output '{}'", target.display()))?;
    crate::io::cleanup::register_temp_file(temp.to_path_buf());
    Ok(file)
}

/// Removes a temporary file and forgets it.
fn discard_temp(temp: &Path) {
    let _ = std::fs::remove_file(temp);
    crate::io::cleanup::unregister_temp_file(temp);
}

/// Renames a finished temporary file to its target and forgets it.
fn rename_into_place(temp: &Path, target: &Path) -> anyhow::Result<PathBuf> {
    release_unused(temp);
    std::fs::rename(temp, target)
        .with_context(|| format!("renaming '{}' to '{}'", temp.display(), target.display()))?;
    crate::io::cleanup::unregister_temp_file(temp);
    Ok(target.to_path_buf())
}

/// Closes an HDF5 file so that a full disk or quota is an error, never a
/// crash or a corrupt file reported as written. It flushes first: a failed
/// flush leaves the file open and valid, and HDF5 1.10 would otherwise keep
/// a file whose close failed half-open and crash closing it again inside
/// `MPI_Finalize`. On a failed flush the file (a temporary about to be
/// discarded) is emptied so that the close can complete, and the error,
/// such as `No space left on device`, is returned.
fn close_checked(f: hdf5::File, temp: &Path, target: &Path) -> anyhow::Result<()> {
    if let Err(e) = f.flush() {
        empty_temp(temp);
        let _ = f.close();
        return Err(anyhow::Error::new(e)).with_context(|| {
            format!("writing '{}' (nothing was written there)", target.display())
        });
    }
    f.close()
        .with_context(|| format!("closing '{}' (nothing was written there)", target.display()))
}

/// Returns the blocks reserved past the end of a finished file to the disk
/// (growing it by a byte and shrinking it back truncates past its end).
fn release_unused(path: &Path) {
    if let Ok(f) = std::fs::OpenOptions::new().write(true).open(path) {
        if let Ok(m) = f.metadata() {
            let _ = f.set_len(m.len() + 1).and_then(|()| f.set_len(m.len()));
        }
    }
}

/// Disk reserved for a serial HDF5 output beyond what its writer asks for:
/// the headroom of metadata, provenance and timings.
pub const METADATA_RESERVE: u64 = 1 << 20;

/// Empties the temporary file `temp` (so that closing it needs no space)
/// and returns the space to the disk.
fn empty_temp(temp: &Path) {
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .open(temp)
        .and_then(|h| h.set_len(0));
}

/// Gives up an unfinished output: the temporary file is emptied before its
/// HDF5 handle closes (so a full disk cannot leave HDF5 with a half-closed
/// file that crashes inside `MPI_Finalize`), then removed.
fn abandon(file: Option<hdf5::File>, temp: &Path) {
    empty_temp(temp);
    if let Some(f) = file {
        let _ = f.close();
    }
    discard_temp(temp);
}

/// Reserves `bytes` of disk for `path` (fallocate), so that a full disk or
/// an exhausted quota is found before any work rather than as writes that
/// MPI-IO may drop without an error. Filesystems without fallocate are
/// left as they are.
fn reserve_space(path: &Path, target: &Path, bytes: u64) -> anyhow::Result<()> {
    use std::os::unix::io::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .with_context(|| format!("cannot write output '{}'", target.display()))?;
    let len = libc::off_t::try_from(bytes).unwrap_or(libc::off_t::MAX);
    // KEEP_SIZE: blocks reserved past the end, used as HDF5 extends the file and
    // released by `release_unused` once it is complete
    // SAFETY: fallocate on a file descriptor this function owns; no memory is passed.
    let rc = unsafe { libc::fallocate(f.as_raw_fd(), libc::FALLOC_FL_KEEP_SIZE, 0, len) };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) | Some(libc::EINVAL) => Ok(()),
        _ => Err(anyhow::Error::new(err)).with_context(|| {
            format!(
                "cannot write output '{}': it needs about {:.1} MB",
                target.display(),
                bytes as f64 / 1e6
            )
        }),
    }
}

/// A plain (non-HDF5) output file, such as a CSV table or a FITS image,
/// written under a temporary name and renamed into place by
/// [`AtomicFile::commit`]; dropped uncommitted, the temporary file is removed.
pub struct AtomicFile {
    writer: Option<std::io::BufWriter<std::fs::File>>,
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Creates the temporary file now, so an unwritable path fails first.
    pub fn create(target: &Path) -> anyhow::Result<AtomicFile> {
        AtomicFile::create_reserved(target, 0)
    }

    /// [`AtomicFile::create`], reserving `bytes` of disk first so that a full
    /// disk or quota fails here, before any work.
    pub fn create_reserved(target: &Path, bytes: u64) -> anyhow::Result<AtomicFile> {
        let temp = temp_path_for(target);
        let file = create_temp(target, &temp)?;
        if let Err(e) = reserve_space(&temp, target, bytes) {
            discard_temp(&temp);
            return Err(e);
        }
        Ok(AtomicFile {
            writer: Some(std::io::BufWriter::new(file)),
            temp,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// The buffered writer of the temporary file.
    pub fn writer(&mut self) -> &mut std::io::BufWriter<std::fs::File> {
        self.writer.as_mut().expect("open until commit")
    }

    /// Flushes, closes and renames the file to its final path.
    pub fn commit(mut self) -> anyhow::Result<PathBuf> {
        let w = self.writer.take().expect("open until commit");
        let file = w
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("writing '{}'", self.target.display()))?;
        file.sync_all()
            .with_context(|| format!("writing '{}'", self.target.display()))?;
        drop(file);
        let path = rename_into_place(&self.temp, &self.target)?;
        self.committed = true;
        Ok(path)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            self.writer.take();
            discard_temp(&self.temp);
        }
    }
}

/// An output file that another library (CFITSIO) creates itself, under a
/// temporary name beside its target; renamed into place by
/// [`TempOutput::commit`], removed when dropped uncommitted (and by the
/// clean-up on a signal or panic).
pub struct TempOutput {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl TempOutput {
    /// Checks that `target` can be written (by creating and removing its
    /// temporary file) and returns the temporary name, free for the writer
    /// to create.
    pub fn prepare(target: &Path) -> anyhow::Result<TempOutput> {
        let temp = temp_path_for(target);
        drop(create_temp(target, &temp)?);
        let _ = std::fs::remove_file(&temp);
        Ok(TempOutput {
            temp,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// The temporary name the writer creates and writes.
    pub fn temp(&self) -> &Path {
        &self.temp
    }

    /// Reserves `bytes` of disk for the temporary file, once created, so
    /// that a full disk or quota fails before the writing.
    pub fn reserve(&self, bytes: u64) -> anyhow::Result<()> {
        reserve_space(&self.temp, &self.target, bytes)
    }

    /// Syncs the closed temporary file to disk and renames it into place.
    pub fn commit(mut self) -> anyhow::Result<PathBuf> {
        std::fs::File::open(&self.temp)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("writing '{}'", self.target.display()))?;
        let path = rename_into_place(&self.temp, &self.target)?;
        self.committed = true;
        Ok(path)
    }
}

impl Drop for TempOutput {
    fn drop(&mut self) {
        if !self.committed {
            discard_temp(&self.temp);
        }
    }
}

impl AtomicH5 {
    /// Creates the temporary file now, so an unwritable output path fails
    /// before any computing.
    pub fn create(target: &Path) -> anyhow::Result<AtomicH5> {
        AtomicH5::create_reserved(target, 0)
    }

    /// [`AtomicH5::create`], reserving `bytes` (plus [`METADATA_RESERVE`])
    /// of disk first, so that a full disk or quota is an error here, before
    /// any work, and not a write that fails half-way.
    pub fn create_reserved(target: &Path, bytes: u64) -> anyhow::Result<AtomicH5> {
        let temp = temp_path_for(target);
        drop(create_temp(target, &temp)?);
        let file = hdf5::File::create(&temp)
            .with_context(|| format!("cannot create HDF5 file '{}'", temp.display()))
            .and_then(|f| {
                reserve_space(&temp, target, bytes.saturating_add(METADATA_RESERVE))?;
                Ok(f)
            });
        let file = match file {
            Ok(f) => f,
            Err(e) => {
                discard_temp(&temp);
                return Err(e);
            }
        };
        Ok(AtomicH5 {
            file: Some(file),
            temp,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// The open file.
    pub fn file(&self) -> &hdf5::File {
        self.file.as_ref().expect("file is open until commit")
    }

    /// Closes the file and renames it to its final path.
    pub fn commit(mut self) -> anyhow::Result<PathBuf> {
        if let Some(f) = self.file.take() {
            close_checked(f, &self.temp, &self.target)?;
        }
        let path = rename_into_place(&self.temp, &self.target)?;
        self.committed = true;
        Ok(path)
    }
}

impl Drop for AtomicH5 {
    fn drop(&mut self) {
        if !self.committed {
            abandon(self.file.take(), &self.temp);
        }
    }
}

/// An HDF5 file that every rank writes through MPI-IO, under rank 0's
/// temporary name, renamed by rank 0 when complete. Small metadata
/// (strings, provenance, timings) is added afterwards by rank 0 alone, with
/// the file reopened serially: variable-length strings cannot be written
/// through MPI-IO, and collective metadata calls would need identical
/// values on every rank.
pub struct ParallelH5 {
    file: Option<hdf5::File>,
    temp: PathBuf,
    target: PathBuf,
    rank: usize,
}

impl ParallelH5 {
    /// Creates the file collectively: every rank must call it with the same
    /// `target` and `reserve_bytes`. Rank 0 checks the path first, so a bad
    /// path fails before any work, and reserves `reserve_bytes` of disk for
    /// it (the job's estimate of its output), so that a full disk or quota
    /// fails here and not in writes that MPI-IO may drop without an error.
    pub fn create(
        comm: &impl crate::comm::Comm,
        target: &Path,
        reserve_bytes: u64,
    ) -> anyhow::Result<ParallelH5> {
        // one temporary name for all ranks: rank 0's process id
        let mut pid = [u64::from(std::process::id())];
        comm.broadcast_u64(&mut pid);
        ParallelH5::create_at(comm, target, temp_path(target, pid[0]), reserve_bytes)
    }

    /// [`ParallelH5::create`] under the given temporary name (the same on
    /// every rank), e.g. a checkpoint's `partial.h5`.
    pub fn create_at(
        comm: &impl crate::comm::Comm,
        target: &Path,
        temp: PathBuf,
        reserve_bytes: u64,
    ) -> anyhow::Result<ParallelH5> {
        let probe = if comm.rank() == 0 {
            create_temp(target, &temp).map(drop)
        } else {
            Ok(())
        };
        comm.agree(probe)?;
        let file = comm
            .create_parallel_h5(&temp)
            .with_context(|| format!("creating '{}' through MPI-IO", temp.display()));
        let file = comm.agree(file)?;
        let out = ParallelH5 {
            file: Some(file),
            temp,
            target: target.to_path_buf(),
            rank: comm.rank(),
        };
        let reserved = if comm.rank() == 0 {
            reserve_space(&out.temp, target, reserve_bytes)
        } else {
            Ok(())
        };
        comm.agree(reserved)?;
        Ok(out)
    }

    /// Opens an existing temporary file `temp` (a checkpoint's partial
    /// output, valid on disk) collectively for writing, to continue it.
    pub fn open_at(
        comm: &impl crate::comm::Comm,
        target: &Path,
        temp: PathBuf,
    ) -> anyhow::Result<ParallelH5> {
        let file = comm.open_parallel_h5(&temp).with_context(|| {
            format!(
                "reopening the partial output '{}' through MPI-IO",
                temp.display()
            )
        });
        let file = comm.agree(file)?;
        if comm.rank() == 0 {
            crate::io::cleanup::register_temp_file(temp.clone());
        }
        Ok(ParallelH5 {
            file: Some(file),
            temp,
            target: target.to_path_buf(),
            rank: comm.rank(),
        })
    }

    /// Collective flush: what is written so far (dataset layout included)
    /// is on disk as a valid HDF5 file.
    pub fn flush(&self, comm: &impl crate::comm::Comm) -> anyhow::Result<()> {
        let r = self
            .file()
            .flush()
            .with_context(|| format!("writing '{}'", self.temp.display()));
        comm.agree(r)
    }

    /// Collective close that keeps the temporary file (a checkpoint's
    /// partial output after a stop, resumed later).
    pub fn close_keep(mut self, comm: &impl crate::comm::Comm) -> anyhow::Result<()> {
        let f = self.file.take().expect("open until closed");
        let r = f
            .flush()
            .and_then(|()| f.close())
            .with_context(|| format!("closing '{}'", self.temp.display()));
        crate::io::cleanup::unregister_temp_file(&self.temp);
        self.temp = PathBuf::new();
        comm.agree(r)
    }

    /// The open file, for collective dataset creation and writes.
    pub fn file(&self) -> &hdf5::File {
        self.file.as_ref().expect("open until closed")
    }

    /// Collective close; rank 0 gets the handle to finish the file.
    pub fn close_parallel(
        mut self,
        comm: &impl crate::comm::Comm,
    ) -> anyhow::Result<Option<ClosedH5>> {
        let f = self.file.take().expect("open until closed");
        // flush first (collectively): a failed flush leaves the file valid to close
        let flushed = f.flush().with_context(|| {
            format!(
                "writing '{}' (nothing was written there)",
                self.target.display()
            )
        });
        if let Err(e) = comm.agree(flushed) {
            if self.rank == 0 {
                empty_temp(&self.temp);
            }
            comm.barrier();
            let _ = f.close();
            return Err(e);
        }
        let closed = f.close().with_context(|| {
            format!(
                "closing '{}' (nothing was written there)",
                self.target.display()
            )
        });
        comm.agree(closed)?;
        if self.rank == 0 {
            Ok(Some(ClosedH5 {
                temp: std::mem::take(&mut self.temp),
                target: self.target.clone(),
                committed: false,
                file: None,
            }))
        } else {
            Ok(None)
        }
    }
}

impl Drop for ParallelH5 {
    fn drop(&mut self) {
        if self.rank == 0 && !self.temp.as_os_str().is_empty() {
            abandon(self.file.take(), &self.temp);
        }
    }
}

/// A parallel file after its collective close, held by rank 0.
pub struct ClosedH5 {
    temp: PathBuf,
    target: PathBuf,
    committed: bool,
    /// The file reopened serially by [`ClosedH5::reopen`].
    file: Option<hdf5::File>,
}

impl ClosedH5 {
    /// Opens the file serially (read-write) to add metadata; held until
    /// [`ClosedH5::finish`] (or abandoned with the output on drop).
    pub fn reopen(&mut self) -> anyhow::Result<&hdf5::File> {
        let f = hdf5::File::open_rw(&self.temp)
            .with_context(|| format!("reopening '{}'", self.temp.display()))?;
        Ok(self.file.insert(f))
    }

    /// Closes the reopened file (every error checked, see `close_checked`)
    /// and renames it to its final path.
    pub fn finish(mut self) -> anyhow::Result<PathBuf> {
        if let Some(f) = self.file.take() {
            close_checked(f, &self.temp, &self.target)?;
        }
        let path = rename_into_place(&self.temp, &self.target)?;
        self.committed = true;
        Ok(path)
    }
}

impl Drop for ClosedH5 {
    fn drop(&mut self) {
        if !self.committed {
            abandon(self.file.take(), &self.temp);
        }
    }
}

/// `s` as an HDF5 variable-length UTF-8 string; interior NULs become spaces.
pub fn varlen_str(s: &str) -> VarLenUnicode {
    // VarLenUnicode rejects interior NULs only
    s.replace('\0', " ").parse().expect("string without NUL")
}

/// Writes the scalar `f64` dataset `name` in `group`.
pub fn write_f64(group: &hdf5::Group, name: &str, value: f64) -> hdf5::Result<()> {
    group
        .new_dataset::<f64>()
        .create(name)?
        .write_scalar(&value)
}

/// Writes the scalar `u64` dataset `name` in `group`.
pub fn write_u64(group: &hdf5::Group, name: &str, value: u64) -> hdf5::Result<()> {
    group
        .new_dataset::<u64>()
        .create(name)?
        .write_scalar(&value)
}

/// Writes the scalar variable-length string dataset `name` in `group`.
pub fn write_str(group: &hdf5::Group, name: &str, value: &str) -> hdf5::Result<()> {
    group
        .new_dataset::<VarLenUnicode>()
        .create(name)?
        .write_scalar(&varlen_str(value))
}

/// Writes `values` as the 1-D variable-length string dataset `name` in `group`.
pub fn write_str_list(group: &hdf5::Group, name: &str, values: &[String]) -> hdf5::Result<()> {
    let v: Vec<VarLenUnicode> = values.iter().map(|s| varlen_str(s)).collect();
    group.new_dataset_builder().with_data(&v[..]).create(name)?;
    Ok(())
}

/// Writes the scalar variable-length string attribute `name` on `loc`.
pub fn attr_str(loc: &hdf5::Location, name: &str, value: &str) -> hdf5::Result<()> {
    loc.new_attr::<VarLenUnicode>()
        .create(name)?
        .write_scalar(&varlen_str(value))
}

/// Writes `values` as the 1-D variable-length string attribute `name` on `loc`.
pub fn attr_str_list(loc: &hdf5::Location, name: &str, values: &[&str]) -> hdf5::Result<()> {
    let v: Vec<VarLenUnicode> = values.iter().map(|s| varlen_str(s)).collect();
    loc.new_attr_builder().with_data(&v[..]).create(name)?;
    Ok(())
}

/// What produced a file: written to `/provenance` as scalar datasets.
#[derive(Clone, Debug)]
pub struct Provenance {
    /// The job's name, e.g. `mc` or `image` (`/provenance/job`).
    pub job: String,
    /// The arguments the binary got, joined by spaces (`/provenance/command_line`).
    pub command_line: String,
    /// The resolved configuration as TOML (`/provenance/config`).
    pub config_toml: String,
    /// Number of MPI ranks (`/provenance/ranks`).
    pub ranks: usize,
    /// Rayon threads per rank (`/provenance/threads_per_rank`).
    pub threads_per_rank: usize,
    /// Compute backend, `cpu` or `gpu` (`/provenance/backend`).
    pub backend: String,
    /// Device used: `cpu`, or each distinct GPU with its rank count
    /// (`/provenance/device`).
    pub device: String,
    /// The MPI library's version string (`/provenance/mpi_library`).
    pub mpi_library: String,
    /// Host names with their rank counts (`/provenance/hosts`).
    pub hosts: Vec<String>,
    /// When the job started, RFC 3339 (`/provenance/start_time`).
    pub start_time: String,
    /// When the job finished, RFC 3339 (`/provenance/end_time`).
    pub end_time: String,
}

/// The current UTC time in RFC 3339, to the second.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The linked HDF5 library's version, `MAJOR.MINOR.RELEASE`.
pub fn hdf5_version() -> String {
    let (a, b, c) = hdf5::library_version();
    format!("{a}.{b}.{c}")
}

impl Provenance {
    /// Creates `/provenance` in `file`: these fields plus `tessera_version`,
    /// `git_commit` and `hdf5_library`. Fails if the group already exists.
    pub fn write(&self, file: &hdf5::File) -> hdf5::Result<()> {
        let g = file.create_group("provenance")?;
        write_str(&g, "tessera_version", env!("CARGO_PKG_VERSION"))?;
        write_str(&g, "git_commit", env!("TESSERA_GIT_COMMIT"))?;
        write_str(&g, "job", &self.job)?;
        write_str(&g, "command_line", &self.command_line)?;
        write_str(&g, "config", &self.config_toml)?;
        write_u64(&g, "ranks", self.ranks as u64)?;
        write_u64(&g, "threads_per_rank", self.threads_per_rank as u64)?;
        write_str(&g, "backend", &self.backend)?;
        write_str(&g, "device", &self.device)?;
        write_str(&g, "mpi_library", &self.mpi_library)?;
        write_str(&g, "hdf5_library", &hdf5_version())?;
        write_str_list(&g, "hosts", &self.hosts)?;
        write_str(&g, "start_time", &self.start_time)?;
        write_str(&g, "end_time", &self.end_time)?;
        Ok(())
    }
}

/// Writes `/timings`: seconds, one row per rank, one column per phase, the
/// column names in the attribute `phases`.
pub fn write_timings(file: &hdf5::File, rows: &[Vec<f64>]) -> anyhow::Result<()> {
    let cols = Phase::ALL.len();
    let flat: Vec<f64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    let table = Array2::from_shape_vec((rows.len(), cols), flat).context("timing table shape")?;
    let ds = file
        .new_dataset_builder()
        .with_data(&table)
        .create("timings")?;
    attr_str_list(&ds, "phases", &Phase::names())?;
    attr_str(&ds, "units", "seconds")?;
    Ok(())
}

/// `/gpu_timings`: per rank, the seconds a GPU backend spent copying to
/// the device, in kernels and copying back (summed over its work items).
pub fn write_gpu_timings(file: &hdf5::File, rows: &[Vec<f64>]) -> anyhow::Result<()> {
    let flat: Vec<f64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    let table = Array2::from_shape_vec((rows.len(), 3), flat).context("GPU timing table shape")?;
    let ds = file
        .new_dataset_builder()
        .with_data(&table)
        .create("gpu_timings")?;
    attr_str_list(
        &ds,
        "phases",
        &["host_to_device", "kernel", "device_to_host"],
    )?;
    attr_str(&ds, "units", "seconds")?;
    Ok(())
}

/// Unique host names with their rank counts, e.g. `node01 (2 ranks)`.
pub fn summarise_hosts(per_rank: &[String]) -> Vec<String> {
    let mut hosts: Vec<(String, usize)> = Vec::new();
    for h in per_rank {
        match hosts.iter_mut().find(|(name, _)| name == h) {
            Some((_, n)) => *n += 1,
            None => hosts.push((h.clone(), 1)),
        }
    }
    hosts
        .into_iter()
        .map(|(h, n)| format!("{h} ({n} rank{})", if n == 1 { "" } else { "s" }))
        .collect()
}
