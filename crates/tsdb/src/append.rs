//! The write path: validate, resolve series ids, append to the head, log to the WAL, and
//! return only once the WAL is fsynced.

use crate::guard::{check_labels, too_many_labels, RejectReason};
use crate::self_metrics::metrics;
use crate::series_key::{encode_pairs, hash};
use crate::{day_of, now_ms, wal, Tsdb, TsdbError};
use pharos_model::{Exemplar, MetricMetadata, Sample};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// Bytes of series registered in memory but not yet in sled beyond which an append writes
/// them out itself (normally the flush does).
const PENDING_INDEX_BYTES: usize = 16 << 20;

/// One series of an append batch. Labels may come in any order; empty values are dropped.
pub struct SeriesRow<'a> {
    pub labels: RowLabels<'a>,
    pub samples: &'a [Sample],
    pub exemplars: &'a [Exemplar],
}

/// A row's label set, as text or as a wire format's raw bytes.
#[derive(Clone, Copy)]
pub enum RowLabels<'a> {
    Text(&'a [(&'a str, &'a str)]),
    /// Label pairs still to be checked as UTF-8, and `key`: [`wire_key`] of the label bytes
    /// exactly as they arrived. A series seen before with the same key skips validation
    /// (see [`crate::wire_cache`]).
    ///
    /// [`wire_key`]: crate::wire_key
    Wire {
        key: u128,
        pairs: &'a [(&'a [u8], &'a [u8])],
    },
}

impl<'a> From<&'a [(&'a str, &'a str)]> for RowLabels<'a> {
    fn from(pairs: &'a [(&'a str, &'a str)]) -> Self {
        RowLabels::Text(pairs)
    }
}

impl<'a, const N: usize> From<&'a [(&'a str, &'a str); N]> for RowLabels<'a> {
    fn from(pairs: &'a [(&'a str, &'a str); N]) -> Self {
        RowLabels::Text(pairs)
    }
}

impl<'a> From<&'a Vec<(&'a str, &'a str)>> for RowLabels<'a> {
    fn from(pairs: &'a Vec<(&'a str, &'a str)>) -> Self {
        RowLabels::Text(pairs)
    }
}

/// Appends a row's labels to `out` as text; the error names the first pair that is not UTF-8.
fn labels_as_text<'a>(
    labels: RowLabels<'a>,
    out: &mut Vec<(&'a str, &'a str)>,
) -> Result<(), String> {
    match labels {
        RowLabels::Text(p) => out.extend_from_slice(p),
        RowLabels::Wire { pairs, .. } => utf8_label_pairs(pairs, out)?,
    }
    Ok(())
}

/// Appends label pairs given as bytes to `out` as text; the error names the first pair
/// that is not UTF-8.
pub fn utf8_label_pairs<'a>(
    pairs: &[(&'a [u8], &'a [u8])],
    out: &mut Vec<(&'a str, &'a str)>,
) -> Result<(), String> {
    for (n, v) in pairs {
        let n = std::str::from_utf8(n).map_err(|_| "label name is not valid UTF-8".to_owned())?;
        let v = std::str::from_utf8(v)
            .map_err(|_| format!("value of label {n:?} is not valid UTF-8"))?;
        out.push((n, v));
    }
    Ok(())
}

/// Samples refused for one reason, with the first message as an example.
#[derive(Clone, Debug, PartialEq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub samples: u64,
    pub series: u64,
    pub example: String,
}

/// What an append stored and what it refused.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AppendOutcome {
    /// Samples acknowledged (stored, or exact duplicates of stored ones).
    pub samples_accepted: u64,
    pub samples_duplicate: u64,
    pub exemplars_accepted: u64,
    pub series_created: u64,
    /// Refusals by reason, in reason order.
    pub rejected: Vec<Rejection>,
}

impl AppendOutcome {
    pub fn samples_rejected(&self) -> u64 {
        self.rejected.iter().map(|r| r.samples).sum()
    }

    /// A one-line summary of what was refused, for a 400 body.
    pub fn rejection_message(&self) -> String {
        self.rejected
            .iter()
            .map(|r| {
                format!(
                    "{} sample(s) of {} series rejected ({}): {}",
                    r.samples,
                    r.series,
                    r.reason.as_str(),
                    r.example
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[derive(Default)]
struct Rejections(BTreeMap<RejectReason, Rejection>);

impl Rejections {
    fn add(&mut self, reason: RejectReason, samples: u64, message: impl FnOnce() -> String) {
        metrics()
            .samples_rejected
            .with_label_values(&[reason.as_str()])
            .inc_by(samples);
        let r = self.0.entry(reason).or_insert_with(|| Rejection {
            reason,
            samples: 0,
            series: 0,
            example: message(),
        });
        r.samples += samples;
        r.series += 1;
    }
}

enum Resolved {
    Sid(u32),
    Rejected(RejectReason, String),
}

impl Tsdb {
    /// Stores a batch. Returns after every accepted sample, exemplar and metadata entry is
    /// in the fsynced WAL. Invalid series and samples are refused individually (see
    /// [`AppendOutcome::rejected`]); the valid rest is stored.
    pub fn append(
        &self,
        rows: &[SeriesRow<'_>],
        metadata: &[MetricMetadata],
    ) -> Result<AppendOutcome, TsdbError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(TsdbError::Closed);
        }
        if self.head.data_bytes() > self.head_limit.saturating_mul(2) {
            self.notify();
            return Err(TsdbError::Overloaded(format!(
                "in-memory head holds {} MiB, twice its budget; flushing",
                self.head.data_bytes() >> 20
            )));
        }
        let now = now_ms();
        let cutoff = now - self.retention_ms;
        let future = now + self.config.metrics.future_margin.as_millis() as i64;
        let mut out = AppendOutcome::default();
        let mut rejections = Rejections::default();
        let mut new_series: Vec<(u32, u128, Vec<u8>)> = Vec::new();
        let mut wal_samples: Vec<(u32, i64, f64)> = Vec::new();
        let mut exemplar_rows = Vec::new();
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        let mut enc: Vec<u8> = Vec::with_capacity(256);
        let mut ok: Vec<Sample> = Vec::new();
        let mut last_seq = 0;
        let mut acc = crate::head::AppendAcc::default();
        let mut activating = 0usize;
        {
            let _gate = self.gate.read();
            for row in rows {
                let n = row.samples.len() as u64;
                // A sender's label bytes seen before: they were checked then.
                let cached = match row.labels {
                    RowLabels::Wire { key, .. } => self.wire_cache.get(key),
                    RowLabels::Text(_) => None,
                };
                pairs.clear();
                if cached.is_none() {
                    if let Err((reason, msg)) = self.checked_labels(row.labels, &mut pairs) {
                        rejections.add(reason, n, || msg);
                        continue;
                    }
                }
                ok.clear();
                let (mut old, mut fut) = (0u64, 0u64);
                for s in row.samples {
                    if s.t < cutoff {
                        old += 1;
                    } else if s.t > future {
                        fut += 1;
                    } else {
                        ok.push(*s);
                    }
                }
                let series_text = || row_text(row.labels);
                if old > 0 {
                    rejections.add(RejectReason::TooOld, old, || {
                        format!(
                            "{} has samples older than the retention period",
                            series_text()
                        )
                    });
                }
                if fut > 0 {
                    rejections.add(RejectReason::TooFarInFuture, fut, || {
                        format!(
                            "{} has samples more than {:?} in the future",
                            series_text(),
                            self.config.metrics.future_margin
                        )
                    });
                }
                let exemplars: Vec<&Exemplar> = row
                    .exemplars
                    .iter()
                    .filter(|e| e.t >= cutoff && e.t <= future)
                    .collect();
                if ok.is_empty() && exemplars.is_empty() {
                    continue;
                }
                let hit = cached.and_then(|sid| {
                    let stored = self.head.append_active(sid, &ok, &mut acc)?;
                    Some((sid, stored))
                });
                let (sid, stored) = match hit {
                    Some(hit) => hit,
                    None => {
                        // Not cached, or cached but no longer in the head: the full path,
                        // which applies the limits to (re)activating a series.
                        if pairs.is_empty() {
                            if let Err((reason, msg)) = self.checked_labels(row.labels, &mut pairs)
                            {
                                rejections.add(reason, n, || msg);
                                continue;
                            }
                        }
                        enc.clear();
                        encode_pairs(pairs.iter().copied(), &mut enc);
                        let h = hash(&enc);
                        let sid = match self.resolve(
                            h,
                            &enc,
                            &mut new_series,
                            &mut last_seq,
                            &mut activating,
                        )? {
                            Resolved::Sid(sid) => sid,
                            Resolved::Rejected(reason, msg) => {
                                rejections.add(reason, ok.len() as u64, || {
                                    format!("{}: {msg}", series_text())
                                });
                                continue;
                            }
                        };
                        if let RowLabels::Wire { key, .. } = row.labels {
                            self.wire_cache.insert(key, sid);
                        }
                        (sid, self.head.append(sid, &ok, &mut acc))
                    }
                };
                let stored = stored as u64;
                out.samples_accepted += ok.len() as u64;
                out.samples_duplicate += ok.len() as u64 - stored;
                wal_samples.extend(ok.iter().map(|s| (sid, s.t, s.v)));
                for e in exemplars {
                    let mut le = Vec::new();
                    encode_pairs(
                        e.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())),
                        &mut le,
                    );
                    exemplar_rows.push((day_of(e.t), sid, e.t, e.value, le));
                }
            }
            self.head.commit(&acc);
            let mut payload = Vec::new();
            if !wal_samples.is_empty() {
                wal::encode_samples(&wal_samples, &mut payload);
                last_seq = self.wal.append(&payload);
            }
            for (day, sid, t, v, labels) in &exemplar_rows {
                let _ = day;
                payload.clear();
                wal::encode_exemplar(*sid, *t, *v, labels, &mut payload);
                last_seq = self.wal.append(&payload);
            }
            for m in metadata {
                payload.clear();
                wal::encode_metadata(&m.metric, &m.kind, &m.help, &m.unit, &mut payload);
                last_seq = self.wal.append(&payload);
            }
        }
        let pending = if new_series.is_empty() {
            0
        } else {
            self.index.register(&new_series)?
        };
        if pending > PENDING_INDEX_BYTES {
            // Bound the in-memory part of the index: write it out now (one batch).
            self.index.persist()?;
        }
        if !exemplar_rows.is_empty() {
            self.index
                .put_exemplars(&exemplar_rows, self.config.metrics.max_exemplars_per_series)?;
        }
        for m in metadata {
            self.index.put_metadata(m)?;
        }
        if last_seq > 0 {
            self.wal.sync(last_seq)?;
        }
        out.exemplars_accepted = exemplar_rows.len() as u64;
        out.series_created = new_series.len() as u64;
        out.rejected = rejections.0.into_values().collect();
        let m = metrics();
        m.samples_appended
            .inc_by(out.samples_accepted - out.samples_duplicate);
        m.samples_duplicate.inc_by(out.samples_duplicate);
        m.series_created.inc_by(out.series_created);
        self.series_total
            .fetch_add(out.series_created, Ordering::Relaxed);
        if out.samples_accepted > 0 {
            self.last_append.store(now, Ordering::Relaxed);
        }
        if self.head.data_bytes() >= self.head_limit {
            self.notify();
        }
        Ok(out)
    }

    /// A row's labels as text, checked and normalised (see [`check_labels`]).
    fn checked_labels<'a>(
        &self,
        labels: RowLabels<'a>,
        pairs: &mut Vec<(&'a str, &'a str)>,
    ) -> Result<(), (RejectReason, String)> {
        let cfg = &self.config.metrics;
        if let RowLabels::Wire { pairs: raw, .. } = labels {
            if raw.len() > cfg.max_labels_per_series {
                return Err((
                    RejectReason::TooManyLabels,
                    too_many_labels(raw.len(), cfg.max_labels_per_series),
                ));
            }
        }
        labels_as_text(labels, pairs).map_err(|msg| (RejectReason::InvalidUtf8, msg))?;
        check_labels(pairs, cfg)
    }

    /// The series id for a label set, activating or creating the series within the limits.
    fn resolve(
        &self,
        h: u128,
        enc: &[u8],
        new_series: &mut Vec<(u32, u128, Vec<u8>)>,
        last_seq: &mut u64,
        activating: &mut usize,
    ) -> Result<Resolved, TsdbError> {
        if let Some(sid) = self.head.lookup(h) {
            return Ok(Resolved::Sid(sid));
        }
        let cfg = &self.config.metrics;
        self.head.with_hash_shard(h, |map| {
            if let Some(sid) = map.get(&h) {
                return Ok(Resolved::Sid(*sid));
            }
            // Series activated earlier in this batch are not counted by the head yet.
            let active = self.head.active_series() + *activating;
            let over_active = active >= cfg.max_active_series;
            if let Some((sid, stored)) = self.index.lookup_hash_with_bytes(h)? {
                if stored != enc {
                    tracing::error!(
                        sid,
                        "128-bit series hash collision; refusing the newer series"
                    );
                    return Ok(Resolved::Rejected(
                        RejectReason::InvalidLabels,
                        "series hash collision".into(),
                    ));
                }
                if over_active && !self.head.is_active(sid) {
                    return Ok(Resolved::Rejected(
                        RejectReason::MaxActiveSeries,
                        format!(
                            "{active} active series, the limit is {}",
                            cfg.max_active_series
                        ),
                    ));
                }
                map.insert(h, sid);
                *activating += 1;
                return Ok(Resolved::Sid(sid));
            }
            if over_active {
                return Ok(Resolved::Rejected(
                    RejectReason::MaxActiveSeries,
                    format!(
                        "{active} active series, the limit is {}",
                        cfg.max_active_series
                    ),
                ));
            }
            if !self.new_series.try_take() {
                return Ok(Resolved::Rejected(
                    RejectReason::NewSeriesRateLimit,
                    format!(
                        "more than {} new series in the last minute",
                        cfg.max_new_series_per_minute
                    ),
                ));
            }
            let sid = self.next_sid.fetch_add(1, Ordering::Relaxed);
            if sid == u32::MAX {
                return Err(TsdbError::Overloaded("series id space exhausted".into()));
            }
            // Log the definition before any sample can refer to it.
            let mut payload = Vec::with_capacity(enc.len() + 8);
            wal::encode_series(sid, enc, &mut payload);
            *last_seq = self.wal.append(&payload);
            map.insert(h, sid);
            *activating += 1;
            new_series.push((sid, h, enc.to_vec()));
            Ok(Resolved::Sid(sid))
        })
    }
}

/// A row's label set for a message (invalid UTF-8 shown as U+FFFD).
fn row_text(labels: RowLabels<'_>) -> String {
    let labels = match labels {
        RowLabels::Text(p) => pharos_model::Labels::from_pairs(p.iter().copied()),
        RowLabels::Wire { pairs, .. } => {
            pharos_model::Labels::from_pairs(pairs.iter().map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            }))
        }
    };
    let mut s = labels.to_string();
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}
