//! The communication layer: the only module that talks to MPI (rsmpi).
//!
//! Jobs see the [`Comm`] trait: rank, size, broadcast, scatter of ranges,
//! gathers, agreement on failure and abort. [`MpiComm`] implements it over
//! `MPI_COMM_WORLD`; [`SerialComm`] is a one-rank stand-in for unit tests.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use mpi::datatype::PartitionMut;
use mpi::environment::Universe;
use mpi::raw::AsRaw;
use mpi::topology::SimpleCommunicator;
use mpi::traits::*;
use mpi::Threading;

/// An error after which no other rank waits on this one: returned by
/// [`Comm::agree`] on the failing rank (every rank knows), or raised after
/// the last collective of a job. The process can end normally with exit
/// code 1 instead of aborting the job.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct Coordinated(pub anyhow::Error);

/// Error returned by [`Comm::agree`] on a rank that did not fail itself:
/// another rank failed and has reported why.
#[derive(Debug, thiserror::Error)]
#[error("another rank failed (see its message)")]
pub struct PeerFailed;

/// What a job needs from the parallel environment.
pub trait Comm {
    /// This process's rank in the job, `0..size()`.
    fn rank(&self) -> usize;
    /// Number of ranks in the job.
    fn size(&self) -> usize;
    /// Ranks sharing this node (for thread counts and GPU choice).
    fn node_size(&self) -> usize;
    /// This rank's index among the ranks of its node, `0..node_size()`.
    fn node_rank(&self) -> usize;
    /// Blocks until every rank has called it.
    fn barrier(&self);
    /// A barrier that sleeps instead of spinning, for ranks left idle while
    /// others are timed (benchmarks).
    fn idle_barrier(&self);
    /// Rank 0's `buf` overwrites everyone's (same length everywhere).
    fn broadcast_u64(&self, buf: &mut [u64]);
    /// Rank 0 gives each rank `ranges[r]`; `ranges` is read on rank 0 only.
    fn scatter_ranges(&self, ranges: &[(u64, u64)]) -> (u64, u64);
    /// Variable-length gather of f64 to rank 0: `Some(per-rank vectors)` on
    /// rank 0, `None` elsewhere.
    fn gather_f64(&self, local: &[f64]) -> Option<Vec<Vec<f64>>>;
    /// [`Comm::gather_f64`] for bytes (e.g. UTF-8 host or device names).
    fn gather_bytes(&self, local: &[u8]) -> Option<Vec<Vec<u8>>>;
    /// True on every rank iff `ok` is true on every rank.
    fn all_ok(&self, ok: bool) -> bool;
    /// Aborts the whole job (MPI_Abort); never returns.
    fn abort(&self, code: i32) -> !;
    /// Dynamic hand-out, worker side (ranks other than 0): asks rank 0 for
    /// the next item (`stopping`: this rank was asked to stop, so rank 0
    /// stops handing out); `None` when all are handed out or the run stops.
    fn request_item(&self, stopping: bool) -> Option<u64>;
    /// Dynamic hand-out, rank 0: the rank of a pending request and whether
    /// that rank is stopping, if any.
    fn poll_request(&self) -> Option<(usize, bool)>;
    /// Dynamic hand-out, rank 0: answers the request of `rank`.
    fn answer_request(&self, rank: usize, item: Option<u64>);
    /// Progress, ranks other than 0: sends this rank's count of units done
    /// (and whether it is the last) to rank 0, which receives it with
    /// [`Comm::poll_progress`] (see the progress module: rank 0 keeps
    /// receiving until every rank's last count is in, so this never waits
    /// forever).
    fn send_progress(&self, done: u64, last: bool);
    /// Progress, rank 0: one pending count `(rank, done, last)`, if any.
    fn poll_progress(&self) -> Option<(usize, u64, bool)>;
    /// This rank's host (MPI processor name; `$HOSTNAME` without MPI).
    fn host_name(&self) -> String;
    /// The MPI library's version string, for provenance.
    fn library_version(&self) -> String;
    /// Creates (truncating) an HDF5 file that every rank then writes into:
    /// collective over all ranks, through MPI-IO (parallel HDF5) when more
    /// than one process may write, a plain HDF5 file for [`SerialComm`].
    /// Everything later done to the file that changes its metadata (creating
    /// datasets, closing) must be done by all ranks alike; raw-data writes of
    /// disjoint hyperslabs may be independent, from the main thread only.
    fn create_parallel_h5(&self, path: &Path) -> anyhow::Result<hdf5::File>;
    /// Opens an existing HDF5 file read-write for every rank (collective).
    fn open_parallel_h5(&self, path: &Path) -> anyhow::Result<hdf5::File>;

    /// Rank 0's `bytes` replace everyone's (any length; collective).
    fn broadcast_bytes(&self, bytes: &mut Vec<u8>) {
        let mut len = [bytes.len() as u64];
        self.broadcast_u64(&mut len);
        let words = (len[0] as usize).div_ceil(8);
        let mut packed = vec![0u64; words];
        if self.rank() == 0 {
            for (w, chunk) in packed.iter_mut().zip(bytes.chunks(8)) {
                let mut b = [0u8; 8];
                b[..chunk.len()].copy_from_slice(chunk);
                *w = u64::from_le_bytes(b);
            }
        }
        self.broadcast_u64(&mut packed);
        if self.rank() != 0 {
            *bytes = packed.iter().flat_map(|w| w.to_le_bytes()).collect();
            bytes.truncate(len[0] as usize);
        }
    }

    /// Turns a per-rank result into a collective one: if any rank failed,
    /// every rank returns an error (the failing one its own, wrapped in
    /// [`Coordinated`]; the others [`PeerFailed`]), so no rank waits forever
    /// in a later collective.
    fn agree<T>(&self, result: anyhow::Result<T>) -> anyhow::Result<T>
    where
        Self: Sized,
    {
        let ok = self.all_ok(result.is_ok());
        match result {
            Err(e) => Err(Coordinated(e).into()),
            Ok(_) if !ok => Err(PeerFailed.into()),
            Ok(v) => Ok(v),
        }
    }
}

/// One rank, no MPI: for unit tests of job drivers.
pub struct SerialComm;

impl Comm for SerialComm {
    fn rank(&self) -> usize {
        0
    }
    fn size(&self) -> usize {
        1
    }
    fn node_size(&self) -> usize {
        1
    }
    fn node_rank(&self) -> usize {
        0
    }
    fn barrier(&self) {}
    fn idle_barrier(&self) {}
    fn broadcast_u64(&self, _buf: &mut [u64]) {}
    fn scatter_ranges(&self, ranges: &[(u64, u64)]) -> (u64, u64) {
        ranges[0]
    }
    fn gather_f64(&self, local: &[f64]) -> Option<Vec<Vec<f64>>> {
        Some(vec![local.to_vec()])
    }
    fn gather_bytes(&self, local: &[u8]) -> Option<Vec<Vec<u8>>> {
        Some(vec![local.to_vec()])
    }
    fn all_ok(&self, ok: bool) -> bool {
        ok
    }
    fn abort(&self, code: i32) -> ! {
        std::process::exit(code)
    }
    fn request_item(&self, _stopping: bool) -> Option<u64> {
        unreachable!("rank 0 never requests items")
    }
    fn poll_request(&self) -> Option<(usize, bool)> {
        None
    }
    fn answer_request(&self, _rank: usize, _item: Option<u64>) {}
    fn send_progress(&self, _done: u64, _last: bool) {}
    fn poll_progress(&self) -> Option<(usize, u64, bool)> {
        None
    }
    fn host_name(&self) -> String {
        std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into())
    }
    fn library_version(&self) -> String {
        "none (serial)".into()
    }
    fn create_parallel_h5(&self, path: &Path) -> anyhow::Result<hdf5::File> {
        hdf5::File::create(path)
            .with_context(|| format!("cannot create HDF5 file '{}'", path.display()))
    }
    fn open_parallel_h5(&self, path: &Path) -> anyhow::Result<hdf5::File> {
        hdf5::File::open_rw(path)
            .with_context(|| format!("cannot open HDF5 file '{}'", path.display()))
    }
}

/// `MPI_COMM_WORLD` through rsmpi. Dropping it finalizes MPI, so it must
/// outlive every job and never be skipped by `process::exit`.
pub struct MpiComm {
    // declared before `_universe` so the communicators are freed before
    // MPI_Finalize runs in the universe's drop
    world: SimpleCommunicator,
    node: SimpleCommunicator,
    _universe: Universe,
}

/// Message tags of the dynamic hand-out protocol.
const TAG_REQUEST: i32 = 7001;
const TAG_ITEM: i32 = 7002;
/// Message tag of progress counts (rank -> rank 0).
const TAG_PROGRESS: i32 = 7003;
const NO_ITEM: u64 = u64::MAX;

impl MpiComm {
    /// Starts MPI with `Funneled` threading (only the main thread calls MPI;
    /// rayon workers never do) and installs a panic hook that aborts the job.
    pub fn init() -> anyhow::Result<MpiComm> {
        let (universe, provided) = mpi::initialize_with_threading(Threading::Funneled)
            .ok_or_else(|| anyhow::anyhow!("MPI was already initialised"))?;
        if provided < Threading::Funneled {
            anyhow::bail!(
                "the MPI library grants thread level {provided:?}; tessera needs Funneled"
            );
        }
        let world = universe.world();
        let node = world.split_shared(world.rank());
        crate::rank::set_world_rank(world.rank() as usize);
        install_abort_on_panic();
        crate::io::cleanup::install_cleanup_on_signals();
        Ok(MpiComm {
            world,
            node,
            _universe: universe,
        })
    }
}

/// A panic on one rank would leave the others blocked in a collective: print
/// the panic with the rank, then MPI_Abort the whole job.
fn install_abort_on_panic() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        crate::io::cleanup::remove_registered_temp_files();
        eprintln!(
            "[rank {}] fatal: {info}; aborting all ranks",
            crate::rank::current_rank()
        );
        let _ = default_hook;
        SimpleCommunicator::world().abort(70);
    }));
}

fn displacements(counts: &[i32]) -> Vec<i32> {
    counts
        .iter()
        .scan(0i32, |acc, &c| {
            let d = *acc;
            *acc += c;
            Some(d)
        })
        .collect()
}

impl MpiComm {
    fn gather_var<T: Equivalence + Default + Clone>(&self, local: &[T]) -> Option<Vec<Vec<T>>> {
        let root = self.world.process_at_rank(0);
        let n = local.len() as i32;
        // an empty Rust slice of bytes points at address 1, which is OpenMPI's
        // MPI_IN_PLACE: give MPI a real address for zero-length buffers
        let spare = [T::default()];
        let local = if local.is_empty() { &spare[..0] } else { local };
        if self.world.rank() == 0 {
            let mut counts = vec![0i32; self.size()];
            root.gather_into_root(&n, &mut counts[..]);
            let displs = displacements(&counts);
            let total: i32 = counts.iter().sum();
            let mut all = vec![T::default(); (total as usize).max(1)];
            {
                let mut part =
                    PartitionMut::new(&mut all[..total as usize], &counts[..], &displs[..]);
                root.gather_varcount_into_root(local, &mut part);
            }
            Some(
                counts
                    .iter()
                    .zip(&displs)
                    .map(|(&c, &d)| all[d as usize..(d + c) as usize].to_vec())
                    .collect(),
            )
        } else {
            root.gather_into(&n);
            root.gather_varcount_into(local);
            None
        }
    }
}

impl Comm for MpiComm {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }
    fn size(&self) -> usize {
        self.world.size() as usize
    }
    fn node_size(&self) -> usize {
        self.node.size() as usize
    }
    fn node_rank(&self) -> usize {
        self.node.rank() as usize
    }
    fn barrier(&self) {
        self.world.barrier();
    }
    fn idle_barrier(&self) {
        let mut req = self.world.immediate_barrier();
        loop {
            match req.test() {
                Ok(_) => return,
                Err(r) => req = r,
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    fn broadcast_u64(&self, buf: &mut [u64]) {
        self.world.process_at_rank(0).broadcast_into(buf);
    }
    fn scatter_ranges(&self, ranges: &[(u64, u64)]) -> (u64, u64) {
        let root = self.world.process_at_rank(0);
        let mut mine = [0u64; 2];
        if self.world.rank() == 0 {
            let flat: Vec<u64> = ranges.iter().flat_map(|&(a, b)| [a, b]).collect();
            root.scatter_into_root(&flat[..], &mut mine[..]);
        } else {
            root.scatter_into(&mut mine[..]);
        }
        (mine[0], mine[1])
    }
    fn gather_f64(&self, local: &[f64]) -> Option<Vec<Vec<f64>>> {
        self.gather_var(local)
    }
    fn gather_bytes(&self, local: &[u8]) -> Option<Vec<Vec<u8>>> {
        self.gather_var(local)
    }
    fn all_ok(&self, ok: bool) -> bool {
        let mine = u32::from(ok);
        let mut all = 0u32;
        self.world
            .all_reduce_into(&mine, &mut all, mpi::collective::SystemOperation::min());
        all == 1
    }
    fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
    fn request_item(&self, stopping: bool) -> Option<u64> {
        let root = self.world.process_at_rank(0);
        root.send_with_tag(&u64::from(stopping), TAG_REQUEST);
        let (item, _) = root.receive_with_tag::<u64>(TAG_ITEM);
        (item != NO_ITEM).then_some(item)
    }
    fn poll_request(&self) -> Option<(usize, bool)> {
        let status = self
            .world
            .any_process()
            .immediate_probe_with_tag(TAG_REQUEST)?;
        let src = status.source_rank();
        let (stopping, _) = self
            .world
            .process_at_rank(src)
            .receive_with_tag::<u64>(TAG_REQUEST);
        Some((src as usize, stopping != 0))
    }
    fn answer_request(&self, rank: usize, item: Option<u64>) {
        let item = item.unwrap_or(NO_ITEM);
        self.world
            .process_at_rank(rank as i32)
            .send_with_tag(&item, TAG_ITEM);
    }
    fn send_progress(&self, done: u64, last: bool) {
        // 16 bytes: sent eagerly by every MPI in practice, and matched by
        // rank 0's polling in any case
        let msg = [done, u64::from(last)];
        self.world
            .process_at_rank(0)
            .send_with_tag(&msg[..], TAG_PROGRESS);
    }
    fn poll_progress(&self) -> Option<(usize, u64, bool)> {
        let status = self
            .world
            .any_process()
            .immediate_probe_with_tag(TAG_PROGRESS)?;
        let src = status.source_rank();
        let mut msg = [0u64; 2];
        self.world
            .process_at_rank(src)
            .receive_into_with_tag(&mut msg[..], TAG_PROGRESS);
        Some((src as usize, msg[0], msg[1] != 0))
    }
    fn host_name(&self) -> String {
        mpi::environment::processor_name().unwrap_or_else(|_| "unknown".into())
    }
    fn library_version(&self) -> String {
        mpi::environment::library_version()
            .map(|v| v.trim_end_matches(['\0', '\n', ' ']).to_string())
            .unwrap_or_else(|_| "unknown".into())
    }
    fn create_parallel_h5(&self, path: &Path) -> anyhow::Result<hdf5::File> {
        let raw = self.world.as_raw();
        hdf5::File::with_options()
            .with_fapl(|p| p.mpio(raw, None))
            .create(path)
            .with_context(|| {
                format!(
                    "cannot create parallel HDF5 file '{}' (MPI-IO)",
                    path.display()
                )
            })
    }
    fn open_parallel_h5(&self, path: &Path) -> anyhow::Result<hdf5::File> {
        let raw = self.world.as_raw();
        hdf5::File::with_options()
            .with_fapl(|p| p.mpio(raw, None))
            .open_rw(path)
            .with_context(|| {
                format!(
                    "cannot open parallel HDF5 file '{}' (MPI-IO)",
                    path.display()
                )
            })
    }
}

/// Splits `items` into `parts` contiguous ranges whose sizes differ by at
/// most one, in order: rank `r` gets `ranges[r]`.
pub fn even_ranges(items: u64, parts: usize) -> Vec<(u64, u64)> {
    let p = parts as u128;
    (0..parts as u128)
        .map(|r| {
            (
                (items as u128 * r / p) as u64,
                (items as u128 * (r + 1) / p) as u64,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_ranges_cover_everything_once() {
        for items in [0u64, 1, 5, 1000, u64::MAX / 3] {
            for parts in 1..9 {
                let r = even_ranges(items, parts);
                assert_eq!(r.len(), parts);
                assert_eq!(r[0].0, 0);
                assert_eq!(r[parts - 1].1, items);
                for w in r.windows(2) {
                    assert_eq!(w[0].1, w[1].0);
                }
                let sizes: Vec<u64> = r.iter().map(|(a, b)| b - a).collect();
                assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
            }
        }
    }

    #[test]
    fn serial_agree_wraps_own_failure() {
        let r: anyhow::Result<()> = SerialComm.agree(Err(anyhow::anyhow!("disk full")));
        let e = r.unwrap_err();
        assert!(e.downcast_ref::<Coordinated>().is_some());
        assert_eq!(e.to_string(), "disk full");
    }
}
