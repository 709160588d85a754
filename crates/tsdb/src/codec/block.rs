//! The on-disk block: the samples of one series in one frame of a segment.
//!
//! Timestamps are delta-of-delta varints. Values are stored, when every finite value of
//! the block is a decimal with at most 15 digits after the point, as integer mantissas
//! with one shared decimal exponent (VictoriaMetrics's trick: counters of bytes, CPU
//! seconds with two decimals and constants become small integers), delta or
//! delta-of-delta coded, whichever is smaller; non-finite values (staleness markers,
//! NaN, ±Inf) are kept exactly as exceptions. Otherwise values fall back to Gorilla XOR.
//! The frame around blocks is zstd-compressed, which squeezes the varint streams further.

use super::bits::{BitReader, BitWriter};
use super::varint::{put_uvarint, put_varint, Reader};
use pharos_model::Sample;

const MODE_DECIMAL_DELTA: u8 = 0;
const MODE_DECIMAL_DOD: u8 = 1;
const MODE_XOR: u8 = 2;
const MAX_EXP: i32 = 15;
const MAX_MANTISSA: f64 = 9_007_199_254_740_992.0; // 2^53
/// Upper bound on samples in one block, to bound allocations when decoding.
pub const MAX_BLOCK_SAMPLES: u64 = 1 << 24;

#[derive(Debug, PartialEq, Eq)]
pub struct CorruptBlock;

/// Encodes samples (sorted, unique timestamps) and appends them to `out`.
pub fn encode(samples: &[Sample], out: &mut Vec<u8>) {
    put_uvarint(out, samples.len() as u64);
    if samples.is_empty() {
        return;
    }
    put_timestamps(samples, out);
    match to_decimal(samples) {
        Some((exp, mantissas, exceptions)) => put_decimal(exp, &mantissas, &exceptions, out),
        None => put_xor(samples, out),
    }
}

/// The number of samples in a block written by [`encode`] (0 if it is unreadable), without
/// decoding them.
pub fn sample_count(buf: &[u8]) -> u64 {
    Reader::new(buf).uvarint().unwrap_or(0)
}

/// Decodes a block written by [`encode`], appending the samples with `start <= t <= end`.
pub fn decode(buf: &[u8], start: i64, end: i64, out: &mut Vec<Sample>) -> Result<(), CorruptBlock> {
    decode_with(buf, start, end, &mut Vec::new(), out)
}

/// [`decode`] with a caller-owned buffer for the timestamps, so that a reader decoding many
/// blocks allocates once. Values are decoded only up to the last sample in range, and only
/// the samples in range are materialised.
pub fn decode_with(
    buf: &[u8],
    start: i64,
    end: i64,
    ts: &mut Vec<i64>,
    out: &mut Vec<Sample>,
) -> Result<(), CorruptBlock> {
    let mut r = Reader::new(buf);
    let n = r.uvarint().ok_or(CorruptBlock)?;
    if n == 0 {
        return Ok(());
    }
    if n > MAX_BLOCK_SAMPLES || n > buf.len() as u64 * 8 {
        return Err(CorruptBlock);
    }
    read_timestamps(&mut r, n as usize, ts)?;
    // Timestamps of a block are ascending (as written); the slice in range is contiguous.
    let from = ts.partition_point(|t| *t < start);
    let to = ts.partition_point(|t| *t <= end).max(from);
    if from == to {
        return Ok(());
    }
    let base = out.len();
    out.reserve(to - from);
    out.extend(ts[from..to].iter().map(|&t| Sample { t, v: 0.0 }));
    let dst = &mut out[base..];
    match r.u8().ok_or(CorruptBlock)? {
        mode @ (MODE_DECIMAL_DELTA | MODE_DECIMAL_DOD) => {
            read_decimal(&mut r, n as usize, mode == MODE_DECIMAL_DOD, from, dst)
        }
        MODE_XOR => read_xor(&mut r, from, dst),
        _ => Err(CorruptBlock),
    }
    .inspect_err(|_| out.truncate(base))
}

fn put_timestamps(samples: &[Sample], out: &mut Vec<u8>) {
    put_varint(out, samples[0].t);
    let mut prev_delta = 0i64;
    for w in samples.windows(2) {
        let delta = w[1].t.wrapping_sub(w[0].t);
        put_varint(out, delta.wrapping_sub(prev_delta));
        prev_delta = delta;
    }
}

fn read_timestamps(r: &mut Reader, n: usize, ts: &mut Vec<i64>) -> Result<(), CorruptBlock> {
    ts.clear();
    ts.reserve(n);
    let mut t = r.varint().ok_or(CorruptBlock)?;
    ts.push(t);
    let mut delta = 0i64;
    for _ in 1..n {
        delta = delta.wrapping_add(r.varint().ok_or(CorruptBlock)?);
        t = t.wrapping_add(delta);
        ts.push(t);
    }
    Ok(())
}

fn pow10(e: i32) -> f64 {
    10f64.powi(e)
}

/// The smallest exponent e ≤ MAX_EXP with v·10^e an exactly round-tripping integer.
fn decimal_exp(v: f64) -> Option<i32> {
    if v == 0.0 && v.is_sign_positive() {
        return Some(0);
    }
    (0..=MAX_EXP).find(|&e| mantissa(v, e).is_some())
}

fn mantissa(v: f64, e: i32) -> Option<i64> {
    let p = pow10(e);
    let m = (v * p).round();
    (m.abs() < MAX_MANTISSA && (m / p).to_bits() == v.to_bits()).then_some(m as i64)
}

type Decimal = (i32, Vec<i64>, Vec<(usize, u64)>);

fn to_decimal(samples: &[Sample]) -> Option<Decimal> {
    let mut exp = 0;
    for s in samples.iter().filter(|s| s.v.is_finite()) {
        exp = exp.max(decimal_exp(s.v)?);
    }
    let mut mantissas = Vec::with_capacity(samples.len());
    let mut exceptions = Vec::new();
    let mut prev = 0i64;
    for (i, s) in samples.iter().enumerate() {
        if s.v.is_finite() {
            prev = mantissa(s.v, exp)?;
        } else {
            exceptions.push((i, s.v.to_bits()));
        }
        mantissas.push(prev);
    }
    Some((exp, mantissas, exceptions))
}

fn put_decimal(exp: i32, m: &[i64], exceptions: &[(usize, u64)], out: &mut Vec<u8>) {
    let deltas: Vec<i64> = std::iter::once(m[0])
        .chain(m.windows(2).map(|w| w[1].wrapping_sub(w[0])))
        .collect();
    let dods: Vec<i64> = std::iter::once(deltas[0])
        .chain(deltas.get(1).copied())
        .chain(deltas.windows(2).skip(1).map(|w| w[1].wrapping_sub(w[0])))
        .collect();
    let cost = |xs: &[i64]| xs.iter().map(|x| varint_len(*x)).sum::<usize>();
    let (mode, stream) = if cost(&dods) < cost(&deltas) {
        (MODE_DECIMAL_DOD, &dods)
    } else {
        (MODE_DECIMAL_DELTA, &deltas)
    };
    out.push(mode);
    out.push(exp as u8);
    put_uvarint(out, exceptions.len() as u64);
    for (i, bits) in exceptions {
        put_uvarint(out, *i as u64);
        out.extend_from_slice(&bits.to_le_bytes());
    }
    for x in stream {
        put_varint(out, *x);
    }
}

fn varint_len(x: i64) -> usize {
    let z = super::varint::zigzag(x);
    ((64 - z.leading_zeros()).max(1) as usize).div_ceil(7)
}

fn put_xor(samples: &[Sample], out: &mut Vec<u8>) {
    out.push(MODE_XOR);
    let mut w = BitWriter::new();
    let mut prev = 0u64;
    let (mut lead, mut trail) = (0xffu8, 0u8);
    for s in samples {
        let x = s.v.to_bits() ^ prev;
        prev = s.v.to_bits();
        if x == 0 {
            w.bit(false);
            continue;
        }
        w.bit(true);
        let l = (x.leading_zeros() as u8).min(31);
        let t = x.trailing_zeros() as u8;
        if lead != 0xff && l >= lead && t >= trail {
            w.bit(false);
            w.bits(x >> trail, 64 - lead - trail);
        } else {
            lead = l;
            trail = t;
            let sig = 64 - l - t;
            w.bit(true);
            w.bits(u64::from(l), 5);
            w.bits(u64::from(sig) & 0x3f, 6);
            w.bits(x >> t, sig);
        }
    }
    put_uvarint(out, w.as_bytes().len() as u64);
    out.extend_from_slice(w.as_bytes());
}

/// Decodes the values of samples `from..from + dst.len()` of a decimal block into `dst`
/// (whose timestamps are set); the stream is read only as far as needed.
fn read_decimal(
    r: &mut Reader,
    n: usize,
    dod: bool,
    from: usize,
    dst: &mut [Sample],
) -> Result<(), CorruptBlock> {
    let exp = i32::from(r.u8().ok_or(CorruptBlock)?);
    if exp > MAX_EXP {
        return Err(CorruptBlock);
    }
    let n_exc = r.uvarint().ok_or(CorruptBlock)?;
    if n_exc > n as u64 {
        return Err(CorruptBlock);
    }
    let mut exceptions = Vec::new();
    for _ in 0..n_exc {
        let i = r.uvarint().ok_or(CorruptBlock)?;
        let bits = r.u64_le().ok_or(CorruptBlock)?;
        if i >= n as u64 {
            return Err(CorruptBlock);
        }
        exceptions.push((i as usize, bits));
    }
    let p = pow10(exp);
    // Division by 10^0 is exact: skip it for integer blocks (counters, constants).
    let scale = |m: i64| if exp == 0 { m as f64 } else { m as f64 / p };
    let mut cursor = DecimalCursor {
        dod,
        index: 0,
        mantissa: 0,
        delta: 0,
    };
    for _ in 0..from {
        cursor.next(r).ok_or(CorruptBlock)?;
    }
    for s in dst.iter_mut() {
        s.v = scale(cursor.next(r).ok_or(CorruptBlock)?);
    }
    for (i, bits) in exceptions {
        if let Some(s) = i.checked_sub(from).and_then(|j| dst.get_mut(j)) {
            s.v = f64::from_bits(bits);
        }
    }
    Ok(())
}

/// The running state of a decimal value stream (delta or delta-of-delta coded mantissas).
struct DecimalCursor {
    dod: bool,
    index: usize,
    mantissa: i64,
    delta: i64,
}

impl DecimalCursor {
    /// The next mantissa.
    fn next(&mut self, r: &mut Reader) -> Option<i64> {
        let x = r.varint()?;
        if self.index == 0 {
            self.mantissa = x;
        } else if self.dod && self.index > 1 {
            self.delta = self.delta.wrapping_add(x);
            self.mantissa = self.mantissa.wrapping_add(self.delta);
        } else {
            self.delta = x;
            self.mantissa = self.mantissa.wrapping_add(x);
        }
        self.index += 1;
        Some(self.mantissa)
    }
}

/// Decodes the values of samples `from..from + dst.len()` of a XOR block into `dst`.
fn read_xor(r: &mut Reader, from: usize, dst: &mut [Sample]) -> Result<(), CorruptBlock> {
    let bytes = r.len_prefixed().ok_or(CorruptBlock)?;
    let mut cursor = XorCursor {
        bits: BitReader::new(bytes),
        prev: 0,
        lead: 0,
        trail: 0,
    };
    for _ in 0..from {
        cursor.next().ok_or(CorruptBlock)?;
    }
    for s in dst.iter_mut() {
        s.v = f64::from_bits(cursor.next().ok_or(CorruptBlock)?);
    }
    Ok(())
}

/// The running state of a Gorilla XOR value stream.
struct XorCursor<'a> {
    bits: BitReader<'a>,
    prev: u64,
    lead: u8,
    trail: u8,
}

impl XorCursor<'_> {
    /// The bits of the next value.
    fn next(&mut self) -> Option<u64> {
        let br = &mut self.bits;
        if br.bit()? {
            if br.bit()? {
                self.lead = br.bits(5)? as u8;
                let mut sig = br.bits(6)? as u8;
                if sig == 0 {
                    sig = 64;
                }
                self.trail = 64u8.checked_sub(self.lead + sig)?;
            }
            let sig = 64 - self.lead - self.trail;
            self.prev ^= br.bits(sig)? << self.trail;
        }
        Some(self.prev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pharos_model::{stale_nan, STALE_NAN_BITS};

    fn round_trip(samples: &[Sample]) -> usize {
        let mut buf = Vec::new();
        encode(samples, &mut buf);
        let mut out = Vec::new();
        decode(&buf, i64::MIN, i64::MAX, &mut out).unwrap();
        let a: Vec<_> = samples.iter().map(|s| (s.t, s.v.to_bits())).collect();
        let b: Vec<_> = out.iter().map(|s| (s.t, s.v.to_bits())).collect();
        assert_eq!(a, b);
        buf.len()
    }

    fn series(f: impl Fn(usize) -> f64) -> Vec<Sample> {
        (0..720)
            .map(|i| Sample {
                t: 1_700_000_000_000 + i as i64 * 15_000,
                v: f(i),
            })
            .collect()
    }

    #[test]
    fn decimal_series_are_small_and_exact() {
        let counter = series(|i| (i * 512 * 7) as f64);
        let cpu = series(|i| (i * 37 + 100_025) as f64 / 100.0);
        let constant = series(|_| 1.0);
        assert!(round_trip(&counter) < 720 * 3, "counter");
        assert!(round_trip(&cpu) < 720 * 3, "cpu");
        assert!(round_trip(&constant) < 720 * 2 + 16, "constant");
    }

    #[test]
    fn special_values_and_full_precision_round_trip() {
        let mut s = series(|i| i as f64 / 3.0);
        round_trip(&s);
        s[5].v = stale_nan();
        s[9].v = f64::INFINITY;
        s[10].v = -0.0;
        round_trip(&s);
        let mut d = series(|i| i as f64);
        d[719].v = stale_nan();
        round_trip(&d);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        encode(&d, &mut buf);
        decode(&buf, d[700].t, d[719].t, &mut out).unwrap();
        assert_eq!(out.len(), 20);
        assert_eq!(out[19].v.to_bits(), STALE_NAN_BITS);
        round_trip(&[]);
        round_trip(&[Sample { t: -5, v: 1e300 }]);
    }

    #[test]
    fn sub_ranges_decode_like_a_filtered_full_decode() {
        let mut xor = series(|i| i as f64 / 3.0);
        xor[3].v = stale_nan();
        let mut decimal = series(|i| (i * 7) as f64 / 100.0);
        decimal[4].v = f64::NAN;
        for samples in [xor, decimal] {
            let mut buf = Vec::new();
            encode(&samples, &mut buf);
            let (t0, t_last) = (samples[0].t, samples[719].t);
            let mut ts = Vec::new();
            for (start, end) in [
                (t0, t0),
                (t0 + 1, t0 + 60_000),
                (t0 + 45_000, t_last - 15_000),
                (t_last, t_last + 1),
                (t_last + 1, i64::MAX),
                (i64::MIN, t0 - 1),
            ] {
                let mut got = vec![Sample { t: -1, v: 0.0 }];
                decode_with(&buf, start, end, &mut ts, &mut got).unwrap();
                let want: Vec<_> = std::iter::once((-1, 0f64.to_bits()))
                    .chain(
                        samples
                            .iter()
                            .filter(|s| s.t >= start && s.t <= end)
                            .map(|s| (s.t, s.v.to_bits())),
                    )
                    .collect();
                let got: Vec<_> = got.iter().map(|s| (s.t, s.v.to_bits())).collect();
                assert_eq!(got, want, "[{start}, {end}]");
            }
        }
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        let mut buf = Vec::new();
        encode(&series(|i| i as f64 / 7.0), &mut buf);
        for cut in [1, 5, buf.len() / 2, buf.len() - 1] {
            assert!(decode(&buf[..cut], i64::MIN, i64::MAX, &mut Vec::new()).is_err());
        }
        assert!(decode(&[0xff, 0xff, 0xff, 0x7f], 0, 0, &mut Vec::new()).is_err());
    }
}
