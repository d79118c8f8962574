//! Counting the blocks (page-table spans, vmemmap pages) that address ranges touch.

/// Number of `block`-sized, `block`-aligned blocks that `[start, end)` touches.
pub(super) fn blocks(start: u64, end: u64, block: u64) -> std::ops::Range<u64> {
    start / block..end.div_ceil(block)
}

/// Count of blocks touched by `range` and not by any of `taken`.
pub(super) fn new_blocks(range: std::ops::Range<u64>, taken: &[std::ops::Range<u64>]) -> u64 {
    let mut n = range.end - range.start;
    // `taken` ranges are disjoint and sorted; subtract their overlap with `range`.
    let mut last_end = 0;
    for t in taken {
        let lo = t.start.max(range.start).max(last_end);
        let hi = t.end.min(range.end);
        if hi > lo {
            n -= hi - lo;
            last_end = hi;
        }
    }
    n
}

/// Count of `span`-sized blocks touched by any of `ranges` and by none of `taken`.
pub(super) fn new_blocks_of(ranges: &[(u64, u64)], span: u64, taken: &[(u64, u64)]) -> u64 {
    let merge = |rs: &[(u64, u64)]| {
        let mut bs: Vec<std::ops::Range<u64>> = rs
            .iter()
            .filter(|(lo, hi)| lo < hi)
            .map(|&(lo, hi)| blocks(lo, hi, span))
            .collect();
        bs.sort_by_key(|r| r.start);
        let mut out: Vec<std::ops::Range<u64>> = Vec::new();
        for r in bs {
            match out.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => out.push(r),
            }
        }
        out
    };
    let taken = merge(taken);
    merge(ranges)
        .into_iter()
        .map(|r| new_blocks(r, &taken))
        .sum()
}
