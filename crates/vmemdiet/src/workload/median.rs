//! The one summary every benchmark reports: the median of its timed runs.

use std::time::Duration;

/// The median of `runs`, in microseconds: the middle run, or the mean of the two middle runs of
/// an even count; 0 for no runs.
#[must_use]
pub fn median_us(mut runs: Vec<Duration>) -> f64 {
    runs.sort_unstable();
    let n = runs.len();
    if n == 0 {
        return 0.0;
    }
    let mid = if n % 2 == 1 {
        runs[n / 2]
    } else {
        (runs[n / 2 - 1] + runs[n / 2]) / 2
    };
    mid.as_secs_f64() * 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The median of runs of `v` microseconds, in microseconds.
    fn of(v: &[u64]) -> f64 {
        median_us(v.iter().map(|&n| Duration::from_micros(n)).collect())
    }

    fn assert_near(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-6, "{got} != {want}");
    }

    #[test]
    fn median_of_runs_in_us_for_odd_even_unsorted_and_no_runs() {
        // Odd count: the middle run after sorting, not the middle of the input order.
        assert_near(of(&[5, 1, 3]), 3.0);
        assert_near(of(&[7]), 7.0);
        // Even count: the mean of the two middle runs.
        assert_near(of(&[4, 1, 3, 2]), 2.5);
        assert_near(of(&[1000, 1]), 500.5);
        assert_near(of(&[]), 0.0);
    }
}
