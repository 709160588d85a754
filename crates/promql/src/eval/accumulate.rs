//! Series-major accumulation for the simple aggregations (sum, avg, min, max, count,
//! group, stddev, stdvar): each member series is walked once, front to back, updating one
//! running state per step. The arithmetic per step is the same, in the same member order,
//! as Prometheus's per-step loop.

use super::kahan::kahan_inc;
use super::{absent, present, Series};

/// Running state of one aggregation over all steps.
struct Acc {
    /// sum / mean / min / max per step.
    a: Vec<f64>,
    /// Kahan compensation (sum, avg) or the variance accumulator (stddev, stdvar).
    c: Vec<f64>,
    /// Values seen per step (0 = none yet).
    n: Vec<f64>,
    /// avg: switched to the incremental mean after an overflow.
    incremental: Vec<bool>,
    /// avg: the incremental mean.
    mean: Vec<f64>,
}

/// The aggregations this module computes, resolved once per call instead of per value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Group,
    Stddev,
    Stdvar,
}

impl Op {
    fn parse(op: &str) -> Op {
        match op {
            "sum" => Op::Sum,
            "avg" => Op::Avg,
            "min" => Op::Min,
            "max" => Op::Max,
            "count" => Op::Count,
            "group" => Op::Group,
            "stddev" => Op::Stddev,
            _ => Op::Stdvar,
        }
    }
}

/// `op` (one of sum, avg, min, max, count, group, stddev, stdvar) over the `members` of
/// `input`, at every step.
pub(crate) fn aggregate(op: &str, input: &[Series], members: &[usize], steps: usize) -> Vec<f64> {
    let op = Op::parse(op);
    let mut acc = Acc {
        a: vec![0.0; steps],
        c: vec![0.0; steps],
        n: vec![0.0; steps],
        incremental: if op == Op::Avg {
            vec![false; steps]
        } else {
            Vec::new()
        },
        mean: if op == Op::Avg {
            vec![0.0; steps]
        } else {
            Vec::new()
        },
    };
    for &j in members {
        for (i, &v) in input[j].vals.iter().enumerate() {
            if !present(v) {
                continue;
            }
            if acc.n[i] == 0.0 {
                acc.n[i] = 1.0;
                acc.a[i] = v;
                continue;
            }
            acc.n[i] += 1.0;
            match op {
                Op::Sum => (acc.a[i], acc.c[i]) = kahan_inc(v, acc.a[i], acc.c[i]),
                Op::Avg => avg_step(&mut acc, i, v),
                Op::Min if acc.a[i] > v || acc.a[i].is_nan() => acc.a[i] = v,
                Op::Max if acc.a[i] < v || acc.a[i].is_nan() => acc.a[i] = v,
                Op::Stddev | Op::Stdvar => {
                    let delta = v - acc.a[i];
                    acc.a[i] += delta / acc.n[i];
                    acc.c[i] += delta * (v - acc.a[i]);
                }
                _ => {}
            }
        }
    }
    (0..steps)
        .map(|i| {
            let n = acc.n[i];
            if n == 0.0 {
                return absent();
            }
            match op {
                Op::Sum => acc.a[i] + acc.c[i],
                Op::Avg if acc.incremental[i] => acc.mean[i] + acc.c[i],
                Op::Avg => (acc.a[i] + acc.c[i]) / n,
                Op::Count => n,
                Op::Group => 1.0,
                Op::Stddev => (acc.c[i] / n).sqrt(),
                Op::Stdvar => acc.c[i] / n,
                Op::Min | Op::Max => acc.a[i],
            }
        })
        .collect()
}

/// One value into an average: Kahan sum until it would overflow, then an incremental mean.
fn avg_step(acc: &mut Acc, i: usize, v: f64) {
    let n = acc.n[i];
    if !acc.incremental[i] {
        let (ns, nc) = kahan_inc(v, acc.a[i], acc.c[i]);
        if !ns.is_infinite() {
            (acc.a[i], acc.c[i]) = (ns, nc);
            return;
        }
        acc.incremental[i] = true;
        acc.mean[i] = acc.a[i] / (n - 1.0);
        acc.c[i] /= n - 1.0;
    }
    let mean = acc.mean[i];
    if mean.is_infinite() {
        if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
            return;
        }
        if !v.is_infinite() && !v.is_nan() {
            return;
        }
    }
    let q = (n - 1.0) / n;
    (acc.mean[i], acc.c[i]) = kahan_inc(v / n, q * mean, q * acc.c[i]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_model::Labels;

    fn s(vals: &[f64]) -> Series {
        Series {
            labels: Labels::default(),
            vals: vals.to_vec(),
            drop_name: false,
        }
    }

    #[test]
    fn per_step_results() {
        let x = absent();
        let input = vec![s(&[1.0, x, 1e308]), s(&[3.0, 5.0, 1e308]), s(&[x, x, -1.0])];
        let m = [0, 1, 2];
        assert_eq!(aggregate("sum", &input, &m, 3)[..2], [4.0, 5.0]);
        assert_eq!(aggregate("count", &input, &m, 3), [2.0, 1.0, 3.0]);
        assert_eq!(aggregate("min", &input, &m, 3), [1.0, 5.0, -1.0]);
        let avg = aggregate("avg", &input, &m, 3);
        assert_eq!(avg[0], 2.0);
        // The sum overflows; the incremental mean still gets (1e308 + 1e308 - 1) / 3.
        let want = 1e308 / 3.0 * 2.0;
        assert!((avg[2] - want).abs() / want < 1e-12, "{}", avg[2]);
        assert_eq!(aggregate("stdvar", &input, &m, 3)[0], 1.0);
    }
}
