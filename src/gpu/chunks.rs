//! How much work goes to the device at once (job-driver layer).
//!
//! Rule: a rank may use [`FRACTION`] of the device's free memory, divided
//! by the number of ranks sharing the device (`budget`). A batch is split
//! into consecutive chunks of items, in order, each chunk as large as fits
//! in that budget after the per-launch fixed bytes (kernel tables, the
//! filter), and at most `max_items` items (a launch-grid limit). An item
//! larger than the whole budget cannot run and is reported. Because chunks
//! are consecutive and results are written back by item index, chunking
//! never changes a result: a batch larger than the device still runs, in
//! more launches.

use std::ops::Range;

/// Share of the free device memory a rank plans to use; the rest is
/// headroom for the driver, the PTX module and fragmentation.
pub const FRACTION: f64 = 0.8;

/// Bytes one rank may use out of `free` device bytes shared by `sharers` ranks.
pub fn budget(free: usize, sharers: usize) -> usize {
    (free as f64 * FRACTION / sharers.max(1) as f64) as usize
}

/// Splits items `0..sizes.len()` (item `i` needing `sizes[i]` device bytes)
/// into consecutive ranges that each fit in `budget - fixed` bytes and hold
/// at most `max_items` items. Errors name the first item that cannot fit.
pub fn plan(
    sizes: &[usize],
    fixed: usize,
    budget: usize,
    max_items: usize,
) -> Result<Vec<Range<usize>>, String> {
    let room = budget.checked_sub(fixed).filter(|&r| r > 0).ok_or_else(|| {
        format!("the device memory budget ({budget} bytes) does not cover the fixed {fixed} bytes of a launch")
    })?;
    let max_items = max_items.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    let mut used = 0usize;
    for (i, &s) in sizes.iter().enumerate() {
        if s > room {
            return Err(format!(
                "item {i} needs {s} bytes of device memory but only {room} are available to this rank"
            ));
        }
        if used + s > room || i - start == max_items {
            out.push(start..i);
            start = i;
            used = 0;
        }
        used += s;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    Ok(out)
}

/// [`plan`] for `count` items of equal size, without a size table.
pub fn plan_uniform(
    count: usize,
    item_bytes: usize,
    fixed: usize,
    budget: usize,
    max_items: usize,
) -> Result<Vec<Range<usize>>, String> {
    let room = budget.checked_sub(fixed).filter(|&r| r > 0).ok_or_else(|| {
        format!("the device memory budget ({budget} bytes) does not cover the fixed {fixed} bytes of a launch")
    })?;
    if count > 0 && item_bytes > room {
        return Err(format!(
            "one item needs {item_bytes} bytes of device memory but only {room} are available to this rank"
        ));
    }
    let per = (room / item_bytes.max(1)).clamp(1, max_items.max(1));
    Ok((0..count)
        .step_by(per)
        .map(|a| a..(a + per).min(count))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covers(chunks: &[Range<usize>], n: usize) {
        assert_eq!(chunks.first().map_or(0, |r| r.start), 0);
        assert_eq!(chunks.last().map_or(0, |r| r.end), n);
        for w in chunks.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
        assert!(chunks.iter().all(|r| !r.is_empty()));
    }

    #[test]
    fn a_batch_larger_than_the_device_is_split_in_order() {
        // 1000 items of 1 MB on a "device" with 64 MB free: 16 ranks would
        // never fit the batch at once
        let sizes = vec![1 << 20; 1000];
        let b = budget(64 << 20, 1);
        let chunks = plan(&sizes, 4 << 20, b, usize::MAX).unwrap();
        covers(&chunks, 1000);
        for c in &chunks {
            assert!(c.len() << 20 <= b - (4 << 20));
        }
        assert_eq!(chunks[0].len(), (b - (4 << 20)) >> 20);
        // everything fits at once on a big device
        assert_eq!(
            plan(&sizes, 0, 80 << 30, usize::MAX).unwrap(),
            vec![0..1000]
        );
    }

    #[test]
    fn ragged_items_and_item_caps() {
        let sizes = [5, 5, 9, 1, 1, 1, 10, 2];
        let chunks = plan(&sizes, 0, 10, usize::MAX).unwrap();
        assert_eq!(chunks, vec![0..2, 2..4, 4..6, 6..7, 7..8]);
        let chunks = plan(&sizes, 0, 100, 3).unwrap();
        assert_eq!(chunks, vec![0..3, 3..6, 6..8]);
        let e = plan(&[1, 11], 0, 10, 9).unwrap_err();
        assert!(e.contains("item 1 needs 11 bytes"), "{e}");
        assert!(plan(&[1], 10, 10, 9).is_err());
        assert_eq!(plan(&[], 0, 10, 9).unwrap(), Vec::<Range<usize>>::new());
    }

    #[test]
    fn uniform_plan_matches_general_plan() {
        for (count, item, fixed, budget, cap) in [
            (1000usize, 24usize, 100usize, 10_000usize, usize::MAX),
            (7, 3, 0, 10, 2),
            (1, 5, 0, 5, 1),
            (0, 5, 0, 5, 1),
        ] {
            let a = plan_uniform(count, item, fixed, budget, cap).unwrap();
            let b = plan(&vec![item; count], fixed, budget, cap).unwrap();
            assert_eq!(a, b, "count {count} item {item}");
            covers(&a, count);
        }
    }

    #[test]
    fn ranks_sharing_a_device_split_its_memory() {
        assert_eq!(budget(1000, 1), 800);
        assert_eq!(budget(1000, 4), 200);
        assert_eq!(budget(1000, 0), 800);
    }
}
