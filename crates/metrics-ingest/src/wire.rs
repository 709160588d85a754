//! A zero-copy decoder for remote-write 1.0 `WriteRequest`s: label names and values stay
//! slices of the decompressed body, samples of all series go into one vector, so decoding
//! allocates a handful of vectors per request instead of several per series. It reads the
//! same wire format as the prost types in [`crate::proto`] (tests check they agree).

use crate::proto;
use pharos_model::Sample;
use prost::Message;
use std::ops::Range;

/// One series: ranges into the request's flat vectors.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlatSeries {
    pub labels: Range<usize>,
    /// Where the series' label fields sit in the body, if nothing else is between them:
    /// equal bytes here mean equal labels (the store's cache key).
    pub label_bytes: Option<Range<usize>>,
    pub samples: Range<usize>,
    pub exemplars: Range<usize>,
    pub histograms: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FlatExemplar<'a> {
    pub labels: Range<usize>,
    pub value: f64,
    pub t: i64,
    _p: std::marker::PhantomData<&'a ()>,
}

/// A decoded `WriteRequest` borrowing from the body.
#[derive(Debug, Default)]
pub struct FlatRequest<'a> {
    pub series: Vec<FlatSeries>,
    /// Label pairs of all series (and, after them, of exemplars).
    pub labels: Vec<(&'a [u8], &'a [u8])>,
    pub samples: Vec<Sample>,
    pub exemplars: Vec<FlatExemplar<'a>>,
    pub metadata: Vec<proto::MetricMetadata>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct WireError(pub &'static str);

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self
                .buf
                .get(self.pos)
                .ok_or(WireError("truncated varint"))?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err(WireError("varint overflows 64 bits"));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(WireError("varint too long"))
    }

    fn fixed64(&mut self) -> Result<u64, WireError> {
        let s = self
            .buf
            .get(self.pos..self.pos + 8)
            .ok_or(WireError("truncated fixed64"))?;
        self.pos += 8;
        Ok(u64::from_le_bytes(s.try_into().expect("8 bytes")))
    }

    fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let n = usize::try_from(self.varint()?).map_err(|_| WireError("length overflow"))?;
        let end = self
            .pos
            .checked_add(n)
            .ok_or(WireError("length overflow"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or(WireError("truncated length-delimited field"))?;
        self.pos = end;
        Ok(s)
    }

    /// Reads a key; returns (field number, wire type).
    fn key(&mut self) -> Result<(u64, u8), WireError> {
        let k = self.varint()?;
        // Keys are 32-bit; field numbers run from 1 to 2^29 - 1.
        if k > u64::from(u32::MAX) {
            return Err(WireError("invalid key"));
        }
        let field = k >> 3;
        if field == 0 {
            return Err(WireError("field number 0"));
        }
        Ok((field, (k & 7) as u8))
    }

    fn skip(&mut self, field: u64, wire: u8) -> Result<(), WireError> {
        self.skip_nested(wire, Some(field), 0)
    }

    /// Skips one field; a group (deprecated wire types 3/4) is skipped up to its end tag.
    fn skip_nested(&mut self, wire: u8, field: Option<u64>, depth: u32) -> Result<(), WireError> {
        match wire {
            3 => {
                if depth >= 100 {
                    return Err(WireError("groups nested too deep"));
                }
                let start_field = field;
                loop {
                    let (f, w) = self.key()?;
                    if w == 4 {
                        return if start_field == Some(f) {
                            Ok(())
                        } else {
                            Err(WireError("mismatched end group"))
                        };
                    }
                    self.skip_nested(w, Some(f), depth + 1)?;
                }
            }
            4 => Err(WireError("unexpected end group")),
            _ => self.skip_plain(wire),
        }
    }

    fn skip_plain(&mut self, wire: u8) -> Result<(), WireError> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => self.fixed64().map(|_| ()),
            2 => self.bytes().map(|_| ()),
            5 => {
                let end = self.pos + 4;
                if end > self.buf.len() {
                    return Err(WireError("truncated fixed32"));
                }
                self.pos = end;
                Ok(())
            }
            _ => Err(WireError("unsupported wire type")),
        }
    }
}

fn expect(wire: u8, want: u8) -> Result<(), WireError> {
    if wire == want {
        Ok(())
    } else {
        Err(WireError("wrong wire type for a known field"))
    }
}

fn label(buf: &[u8]) -> Result<(&[u8], &[u8]), WireError> {
    let mut c = Cursor { buf, pos: 0 };
    let (mut name, mut value): (&[u8], &[u8]) = (&[], &[]);
    while !c.done() {
        match c.key()? {
            (1, w) => {
                expect(w, 2)?;
                name = c.bytes()?;
            }
            (2, w) => {
                expect(w, 2)?;
                value = c.bytes()?;
            }
            (f, w) => c.skip(f, w)?,
        }
    }
    Ok((name, value))
}

fn sample(buf: &[u8]) -> Result<Sample, WireError> {
    let mut c = Cursor { buf, pos: 0 };
    let mut s = Sample { t: 0, v: 0.0 };
    while !c.done() {
        match c.key()? {
            (1, w) => {
                expect(w, 1)?;
                s.v = f64::from_bits(c.fixed64()?);
            }
            (2, w) => {
                expect(w, 0)?;
                s.t = c.varint()? as i64;
            }
            (f, w) => c.skip(f, w)?,
        }
    }
    Ok(s)
}

fn exemplar<'a>(
    buf: &'a [u8],
    tail: &mut Vec<(&'a [u8], &'a [u8])>,
) -> Result<FlatExemplar<'a>, WireError> {
    let mut c = Cursor { buf, pos: 0 };
    let start = tail.len();
    let (mut value, mut t) = (0.0, 0i64);
    while !c.done() {
        match c.key()? {
            (1, w) => {
                expect(w, 2)?;
                tail.push(label(c.bytes()?)?);
            }
            (2, w) => {
                expect(w, 1)?;
                value = f64::from_bits(c.fixed64()?);
            }
            (3, w) => {
                expect(w, 0)?;
                t = c.varint()? as i64;
            }
            (f, w) => c.skip(f, w)?,
        }
    }
    Ok(FlatExemplar {
        labels: start..tail.len(),
        value,
        t,
        _p: std::marker::PhantomData,
    })
}

/// Decodes a (decompressed) `WriteRequest`.
pub fn decode(buf: &[u8]) -> Result<FlatRequest<'_>, WireError> {
    let mut req = FlatRequest::default();
    let mut exemplar_labels = Vec::new();
    let mut c = Cursor { buf, pos: 0 };
    while !c.done() {
        match c.key()? {
            (1, w) => {
                expect(w, 2)?;
                let ts = c.bytes()?;
                let ts_start = c.pos - ts.len();
                let mut s = FlatSeries {
                    labels: req.labels.len()..req.labels.len(),
                    label_bytes: None,
                    samples: req.samples.len()..req.samples.len(),
                    exemplars: req.exemplars.len()..req.exemplars.len(),
                    histograms: 0,
                };
                let mut tc = Cursor { buf: ts, pos: 0 };
                // Label fields so far: the byte range, and whether it has no gaps.
                let mut label_span: Option<Range<usize>> = None;
                let mut label_gap = false;
                while !tc.done() {
                    let field_start = tc.pos;
                    match tc.key()? {
                        (1, w) => {
                            expect(w, 2)?;
                            req.labels.push(label(tc.bytes()?)?);
                            match &mut label_span {
                                Some(span) if span.end == field_start => span.end = tc.pos,
                                Some(_) => label_gap = true,
                                None => label_span = Some(field_start..tc.pos),
                            }
                        }
                        (2, w) => {
                            expect(w, 2)?;
                            req.samples.push(sample(tc.bytes()?)?);
                        }
                        (3, w) => {
                            expect(w, 2)?;
                            let e = exemplar(tc.bytes()?, &mut exemplar_labels)?;
                            req.exemplars.push(e);
                        }
                        (4, w) => {
                            expect(w, 2)?;
                            tc.bytes()?;
                            s.histograms += 1;
                        }
                        (f, w) => tc.skip(f, w)?,
                    }
                }
                // Labels, samples and exemplars of one series may interleave on the wire only
                // if the sender interleaves fields; prost accepts that, and so do ranges as
                // long as each kind is contiguous, which holds because we append per kind.
                s.labels.end = req.labels.len();
                if !label_gap {
                    s.label_bytes = label_span.map(|r| ts_start + r.start..ts_start + r.end);
                }
                s.samples.end = req.samples.len();
                s.exemplars.end = req.exemplars.len();
                req.series.push(s);
            }
            (3, w) => {
                expect(w, 2)?;
                let m = proto::MetricMetadata::decode(c.bytes()?)
                    .map_err(|_| WireError("invalid metadata"))?;
                req.metadata.push(m);
            }
            (f, w) => c.skip(f, w)?,
        }
    }
    // Exemplar labels go after all series labels; shift their ranges.
    let base = req.labels.len();
    for e in &mut req.exemplars {
        e.labels = e.labels.start + base..e.labels.end + base;
    }
    req.labels.extend(exemplar_labels);
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{
        Exemplar, Label, MetricMetadata, Sample as PSample, TimeSeries, WriteRequest,
    };

    #[test]
    fn agrees_with_prost() {
        let req = WriteRequest {
            timeseries: vec![
                TimeSeries {
                    labels: vec![Label::new("__name__", "a"), Label::new("job", "x")],
                    samples: vec![
                        PSample {
                            value: 1.5,
                            timestamp: 10,
                        },
                        PSample {
                            value: -2.0,
                            timestamp: -20,
                        },
                    ],
                    exemplars: vec![Exemplar {
                        labels: vec![Label::new("trace_id", "abc")],
                        value: 0.5,
                        timestamp: 11,
                    }],
                    histograms: vec![bytes::Bytes::from_static(b"\x08\x01")],
                },
                TimeSeries {
                    labels: vec![Label::new("__name__", "b")],
                    samples: vec![PSample {
                        value: f64::NAN,
                        timestamp: 0,
                    }],
                    ..Default::default()
                },
            ],
            metadata: vec![MetricMetadata {
                r#type: 1,
                metric_family_name: "a".into(),
                help: "h".into(),
                unit: "s".into(),
            }],
        };
        let bytes = req.encode_to_vec();
        let flat = decode(&bytes).unwrap();
        assert_eq!(flat.series.len(), 2);
        let s0 = &flat.series[0];
        assert_eq!(
            flat.labels[s0.labels.clone()],
            [(&b"__name__"[..], &b"a"[..]), (&b"job"[..], &b"x"[..])]
        );
        assert_eq!(
            flat.samples[s0.samples.clone()],
            [Sample { t: 10, v: 1.5 }, Sample { t: -20, v: -2.0 }]
        );
        assert_eq!(s0.histograms, 1);
        // The label bytes are exactly the label fields as a sender encodes them.
        let only_labels = TimeSeries {
            labels: vec![Label::new("__name__", "a"), Label::new("job", "x")],
            ..Default::default()
        };
        assert_eq!(
            &bytes[s0.label_bytes.clone().unwrap()],
            &only_labels.encode_to_vec()[..]
        );
        let e = &flat.exemplars[s0.exemplars.clone()][0];
        assert_eq!((e.value, e.t), (0.5, 11));
        assert_eq!(
            flat.labels[e.labels.clone()],
            [(&b"trace_id"[..], &b"abc"[..])]
        );
        assert!(flat.samples[flat.series[1].samples.clone()][0].v.is_nan());
        assert_eq!(flat.metadata, req.metadata);
        // Inputs the fuzzer found: a key beyond 32 bits; groups (wire types 3/4) are skipped.
        for input in [
            &b"\xd2\xd2\x93\xff\xff\xfa\x3c\x00"[..],
            b"\x13\x08\x01\x14",
            b"\x13\x1c",
            b"\x14",
            b"\x13\x08\x01",
            b"\x48\xad\xad\xad\xad\xad\xad\xad\xad\xc0\x40",
        ] {
            assert_eq!(
                decode(input).is_ok(),
                WriteRequest::decode(input).is_ok(),
                "{input:?}"
            );
        }
        // Every truncation either fails cleanly or decodes a prefix, like prost.
        for cut in 0..bytes.len() {
            let ours = decode(&bytes[..cut]).is_ok();
            let prost = WriteRequest::decode(&bytes[..cut]).is_ok();
            assert_eq!(ours, prost, "cut at {cut}");
        }
    }
}
