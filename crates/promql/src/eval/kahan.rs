//! Compensated (Kahan–Neumaier) summation, as Prometheus uses for sums and means.

/// Adds `inc` to `sum` with compensation `c`; returns the new sum and compensation.
#[inline]
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Sum of `vals` with compensation.
#[cfg(test)]
pub(crate) fn kahan_sum(vals: impl IntoIterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for v in vals {
        (s, c) = kahan_inc(v, s, c);
    }
    s + c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compensates_small_terms() {
        let naive: f64 = [1e16, 1.0, -1e16].iter().sum();
        assert_eq!(naive, 0.0);
        assert_eq!(kahan_sum([1e16, 1.0, -1e16]), 1.0);
    }
}
