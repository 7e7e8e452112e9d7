//! Dynamic hand-out of fixed tiles to ranks (job-driver layer).
//!
//! Rank 0's main thread is the dispatcher: it answers tile requests from the
//! other ranks, feeds a worker thread of its own (so rank 0 computes too) and
//! writes that worker's results. Every other rank asks for a tile, computes
//! it with its rayon pool, writes it, and asks again. Tiles go out in index
//! order, so a long tile never leaves the other ranks idle for more than
//! one tile. All MPI calls (including MPI-IO writes) stay on main threads,
//! as MPI_THREAD_FUNNELED requires.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::comm::Comm;
use crate::progress::Progress;

/// Where one rank's time went, for `/timings`.
#[derive(Clone, Debug, Default)]
pub struct DispatchTimes {
    /// Waiting for tile assignments.
    pub scatter: f64,
    /// Computing tiles (rank 0: its worker's busy time).
    pub compute: f64,
    /// Writing results.
    pub write: f64,
    /// Tiles this rank computed.
    pub tiles: Vec<u64>,
    /// True on every rank when every tile of the list was computed; false
    /// on every rank when a stop (signal) ended the hand-out early.
    pub complete: bool,
}

/// Processes the tiles of `todo` (the same list on every rank, in order):
/// `compute(tile)` runs on a rayon-capable thread without MPI;
/// `write(tile, result)` runs on the rank's main thread. A `compute` error
/// aborts the job with a message naming rank and tile. A stop request
/// ([`crate::io::cleanup::stop_requested`]) on any rank ends the hand-out:
/// tiles in progress finish and are written, no new ones start, and every
/// rank returns with `complete` false.
pub fn run_tiles<R: Send>(
    comm: &impl Comm,
    todo: &[u64],
    compute: impl Fn(u64) -> anyhow::Result<R> + Sync,
    write: impl FnMut(u64, R) -> anyhow::Result<()>,
) -> anyhow::Result<DispatchTimes> {
    run_tiles_with_progress(comm, todo, &Progress::off(), compute, write)
}

/// [`run_tiles`] counting finished tiles in `progress` (made with
/// [`crate::progress::Aggregation::Known`]): rank 0 knows every rank's
/// count without extra messages, since a rank that asks for a tile has
/// finished the one before.
pub fn run_tiles_with_progress<R: Send>(
    comm: &impl Comm,
    todo: &[u64],
    progress: &Progress,
    compute: impl Fn(u64) -> anyhow::Result<R> + Sync,
    mut write: impl FnMut(u64, R) -> anyhow::Result<()>,
) -> anyhow::Result<DispatchTimes> {
    let mut times = DispatchTimes::default();
    let fail = |tile: u64, e: anyhow::Error| -> ! {
        crate::say!("error: tile {tile}: {e:#}; aborting all ranks");
        crate::io::cleanup::remove_registered_temp_files();
        comm.abort(1)
    };
    use crate::io::cleanup::{request_stop, stop_requested};
    let tiles = todo.len() as u64;
    if comm.rank() != 0 {
        loop {
            let t0 = Instant::now();
            let Some(tile) = comm.request_item(stop_requested()) else {
                times.scatter += t0.elapsed().as_secs_f64();
                break;
            };
            times.scatter += t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            let r = compute(tile).unwrap_or_else(|e| fail(tile, e));
            times.compute += t1.elapsed().as_secs_f64();
            let t2 = Instant::now();
            write(tile, r).unwrap_or_else(|e| fail(tile, e));
            times.write += t2.elapsed().as_secs_f64();
            times.tiles.push(tile);
        }
        times.complete = comm.all_ok(true);
        return Ok(times);
    }

    // rank 0: dispatcher on this thread, a worker thread beside it
    let workers = comm.size() - 1;
    std::thread::scope(|scope| -> anyhow::Result<DispatchTimes> {
        let (to_worker, work_rx) = mpsc::channel::<u64>();
        let (result_tx, results) = mpsc::channel::<(u64, anyhow::Result<R>, f64)>();
        let compute = &compute;
        scope.spawn(move || {
            for tile in work_rx {
                let t = Instant::now();
                let r = compute(tile);
                if result_tx
                    .send((tile, r, t.elapsed().as_secs_f64()))
                    .is_err()
                {
                    break;
                }
            }
        });
        let mut next = 0u64;
        let mut finished_workers = 0;
        // ranks that asked before: their next request means a tile is done
        let mut asked = vec![false; comm.size()];
        let mut others_done = 0u64;
        let mut local_busy = false;
        let mut to_worker = Some(to_worker);
        let mut tiles_left = tiles;
        while finished_workers < workers || local_busy || next < tiles_left {
            let mut progressed = false;
            // a stop asked of any rank ends the hand-out for all
            let mut stop = stop_requested();
            while let Some((rank, stopping)) = comm.poll_request() {
                progressed = true;
                if std::mem::replace(&mut asked[rank], true) {
                    others_done += 1;
                    progress.set_others(others_done);
                }
                if stopping && !stop {
                    request_stop();
                    stop = true;
                }
                if next < tiles && !stop {
                    comm.answer_request(rank, Some(todo[next as usize]));
                    next += 1;
                } else {
                    comm.answer_request(rank, None);
                    finished_workers += 1;
                }
            }
            if stop && next < tiles {
                // nothing more is handed out: the loop ends once the workers
                // and the local tile are done
                tiles_left = next;
            }
            if !local_busy && next < tiles_left {
                if let Some(tx) = &to_worker {
                    tx.send(todo[next as usize]).expect("rank 0 worker alive");
                    next += 1;
                    local_busy = true;
                    progressed = true;
                }
            }
            if next >= tiles_left && !local_busy {
                to_worker = None; // lets the worker thread end
            }
            match results.try_recv() {
                Ok((tile, r, secs)) => {
                    local_busy = false;
                    progressed = true;
                    times.compute += secs;
                    let r = r.unwrap_or_else(|e| fail(tile, e));
                    let t = Instant::now();
                    write(tile, r).unwrap_or_else(|e| fail(tile, e));
                    times.write += t.elapsed().as_secs_f64();
                    times.tiles.push(tile);
                    progress.inc(1);
                }
                Err(mpsc::TryRecvError::Empty) => {}
                Err(mpsc::TryRecvError::Disconnected) if local_busy => {
                    anyhow::bail!("rank 0's worker thread stopped unexpectedly")
                }
                Err(mpsc::TryRecvError::Disconnected) => {}
            }
            progress.tick(comm);
            if !progressed {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
        drop(to_worker);
        times.complete = comm.all_ok(next >= tiles);
        Ok(std::mem::take(&mut times))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::SerialComm;

    #[test]
    fn serial_dispatch_visits_every_tile_once_in_order() {
        let mut seen = Vec::new();
        let all: Vec<u64> = (0..37).collect();
        let t = run_tiles(
            &SerialComm,
            &all,
            |tile| Ok(tile * 10),
            |tile, r| {
                assert_eq!(r, tile * 10);
                seen.push(tile);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, all);
        assert_eq!(t.tiles, seen);
        assert!(t.complete);
    }

    #[test]
    fn zero_tiles_finish_at_once() {
        let t = run_tiles(&SerialComm, &[], |_| Ok(()), |_, _| Ok(())).unwrap();
        assert!(t.tiles.is_empty() && t.complete);
    }
}
