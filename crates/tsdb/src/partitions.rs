//! Time partitions: one directory per day (`parts/YYYY-MM-DD/`) holding segment files.
//!
//! Retention deletes whole directories. Merging (compaction) rewrites several segments
//! of a day into one, streaming series by series in id order, which also removes exact
//! duplicates and overlapping re-sends; the new segment names the ones it replaces, so a
//! crash between writing it and deleting them is repaired on open.

use crate::codec::block;
use crate::days::{day_name, day_start, parse_day_name, DAY_MS};
use crate::head::sort_dedup;
use crate::segment::{frame_blocks, parse_segment_name, segment_file, Segment, SegmentWriter};
use parking_lot::{Mutex, RwLock};
use pharos_model::Sample;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

pub struct Partition {
    pub segments: Vec<Arc<Segment>>,
    /// When a segment was last added (merges wait for a quiet partition).
    pub last_added: Instant,
}

pub struct Partitions {
    dir: PathBuf,
    pub parts: RwLock<BTreeMap<i32, Partition>>,
    next_id: AtomicU64,
    /// Held while segment files are being merged or deleted (snapshots take it too).
    pub maintenance: Mutex<()>,
}

impl Partitions {
    pub fn open(dir: &Path) -> io::Result<Partitions> {
        fs::create_dir_all(dir)?;
        let mut parts = BTreeMap::new();
        let mut max_id = 0;
        for e in fs::read_dir(dir)? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(day) = parse_day_name(&name) else {
                tracing::warn!(path = %e.path().display(), "ignoring unknown entry in partitions directory");
                continue;
            };
            let segments = open_day(&e.path())?;
            max_id = max_id.max(segments.iter().map(|s| s.id).max().unwrap_or(0));
            if !segments.is_empty() {
                parts.insert(
                    day,
                    Partition {
                        segments,
                        last_added: Instant::now(),
                    },
                );
            }
        }
        Ok(Partitions {
            dir: dir.to_owned(),
            parts: RwLock::new(parts),
            next_id: AtomicU64::new(max_id + 1),
            maintenance: Mutex::new(()),
        })
    }

    pub fn day_dir(&self, day: i32) -> PathBuf {
        self.dir.join(day_name(day))
    }

    pub fn new_writer(&self, day: i32) -> io::Result<SegmentWriter> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        SegmentWriter::create(&self.day_dir(day), id)
    }

    pub fn add(&self, day: i32, seg: Segment) {
        let mut parts = self.parts.write();
        let p = parts.entry(day).or_insert_with(|| Partition {
            segments: Vec::new(),
            last_added: Instant::now(),
        });
        p.segments.push(Arc::new(seg));
        p.last_added = Instant::now();
    }

    /// Segments overlapping `[start, end]`, oldest first within each day.
    pub fn overlapping(&self, start: i64, end: i64) -> Vec<Arc<Segment>> {
        let (d0, d1) = (crate::day_of(start), crate::day_of(end));
        let parts = self.parts.read();
        parts
            .range(d0..=d1)
            .flat_map(|(_, p)| {
                p.segments
                    .iter()
                    .filter(|s| s.overlaps(start, end))
                    .cloned()
            })
            .collect()
    }

    pub fn all(&self) -> Vec<(i32, Vec<Arc<Segment>>)> {
        self.parts
            .read()
            .iter()
            .map(|(d, p)| (*d, p.segments.clone()))
            .collect()
    }

    /// Deletes partitions whose whole day ends at or before `cutoff`; returns the days dropped.
    pub fn drop_before(&self, cutoff: i64) -> io::Result<Vec<i32>> {
        let _m = self.maintenance.lock();
        let expired: Vec<i32> = self
            .parts
            .read()
            .keys()
            .copied()
            .filter(|d| day_start(*d) + DAY_MS <= cutoff)
            .collect();
        for day in &expired {
            self.parts.write().remove(day);
            let dir = self.day_dir(*day);
            if dir.exists() {
                fs::remove_dir_all(&dir)?;
            }
            tracing::info!(partition = %day_name(*day), "retention dropped metrics partition");
        }
        // Directories of days without segments (e.g. left empty by a crash) go too.
        for e in fs::read_dir(&self.dir)?.filter_map(Result::ok) {
            if let Some(day) = parse_day_name(&e.file_name().to_string_lossy()) {
                if day_start(day) + DAY_MS <= cutoff {
                    fs::remove_dir_all(e.path())?;
                }
            }
        }
        Ok(expired)
    }

    /// Picks a set of segments of one day to merge: four or more of similar size (size
    /// tiers of ×4), or once the partition has been quiet for `quiet`, all of them (see
    /// [`quiet_merge_range`]).
    pub fn pick_merge(&self, quiet: std::time::Duration) -> Option<(i32, Vec<Arc<Segment>>)> {
        let parts = self.parts.read();
        for (day, p) in parts.iter() {
            if p.segments.len() < 2 {
                continue;
            }
            if p.last_added.elapsed() >= quiet {
                let sizes: Vec<u64> = p.segments.iter().map(|s| s.disk_bytes).collect();
                if let Some(range) = quiet_merge_range(&sizes) {
                    return Some((*day, p.segments[range].to_vec()));
                }
            }
            let mut tiers: BTreeMap<u32, Vec<Arc<Segment>>> = BTreeMap::new();
            for s in &p.segments {
                let tier = (64 - s.disk_bytes.max(1).leading_zeros()) / 2;
                tiers.entry(tier).or_default().push(s.clone());
            }
            if let Some((_, segs)) = tiers.into_iter().find(|(_, v)| v.len() >= 4) {
                return Some((*day, segs));
            }
        }
        None
    }

    /// Merges `inputs` (segments of `day`) into one new segment and swaps it in.
    pub fn merge(&self, day: i32, inputs: &[Arc<Segment>]) -> io::Result<()> {
        let _m = self.maintenance.lock();
        let started = Instant::now();
        let mut inputs: Vec<Arc<Segment>> = inputs.to_vec();
        inputs.sort_by_key(|s| s.id);
        let mut w = self.new_writer(day)?;
        w.set_replaces(inputs.iter().map(|s| s.id).collect());
        let mut cursors: Vec<Cursor> = inputs
            .iter()
            .map(|s| Cursor::new(s.clone()))
            .collect::<io::Result<_>>()?;
        let mut samples_out = 0u64;
        while let Some(sid) = cursors.iter().filter_map(|c| c.peek_sid()).min() {
            let mut samples: Vec<Sample> = Vec::new();
            for c in cursors.iter_mut() {
                // Older segments first, so the newest write wins on equal timestamps.
                while c.peek_sid() == Some(sid) {
                    samples.extend(c.take()?);
                }
            }
            sort_dedup(&mut samples);
            samples_out += samples.len() as u64;
            w.add(sid, &samples)?;
        }
        let seg = w.finish()?;
        let ids: HashSet<u64> = inputs.iter().map(|s| s.id).collect();
        let bytes_in: u64 = inputs.iter().map(|s| s.disk_bytes).sum();
        let bytes_out = seg.disk_bytes;
        {
            let mut parts = self.parts.write();
            if let Some(p) = parts.get_mut(&day) {
                p.segments.retain(|s| !ids.contains(&s.id));
                p.segments.push(Arc::new(seg));
                p.segments.sort_by_key(|s| s.id);
            }
        }
        for s in &inputs {
            fs::remove_file(&s.path)?;
        }
        tracing::debug!(
            partition = %day_name(day), segments = inputs.len(), samples = samples_out,
            bytes_in, bytes_out, elapsed_ms = started.elapsed().as_millis() as u64,
            "merged metrics segments"
        );
        Ok(())
    }

    pub fn disk_bytes(&self) -> u64 {
        self.parts
            .read()
            .values()
            .flat_map(|p| p.segments.iter())
            .map(|s| s.disk_bytes)
            .sum()
    }
}

/// A segment larger than this many times all the others of its day is not rewritten to
/// absorb them when the day is quiet.
const QUIET_REWRITE_RATIO: u64 = 8;

/// Which of a quiet day's segments (sizes in id order) to merge: all of them, unless the
/// largest outweighs the others together by more than [`QUIET_REWRITE_RATIO`]; then only the
/// segments newer than it (a contiguous suffix, so the newest write still wins), if there
/// are two or more. Otherwise an idle server that flushes a few self-monitoring samples
/// every 15 s rewrote its whole day each time, taking a core and the frame cache from
/// queries.
fn quiet_merge_range(sizes: &[u64]) -> Option<std::ops::Range<usize>> {
    if sizes.len() < 2 {
        return None;
    }
    let (largest, &big) = sizes.iter().enumerate().max_by_key(|(_, b)| **b)?;
    let rest: u64 = sizes.iter().sum::<u64>() - big;
    if rest.saturating_mul(QUIET_REWRITE_RATIO) >= big {
        return Some(0..sizes.len());
    }
    let newer = largest + 1..sizes.len();
    (newer.len() >= 2).then_some(newer)
}

/// Opens the segments of one day directory, repairing what a crash may have left.
fn open_day(dir: &Path) -> io::Result<Vec<Arc<Segment>>> {
    let mut segs = Vec::new();
    for e in fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") {
            fs::remove_file(e.path())?;
            continue;
        }
        let Some(id) = parse_segment_name(&name) else {
            continue;
        };
        match Segment::open(&e.path(), id) {
            Ok(s) => segs.push(s),
            Err(err) => {
                // Only a finished, fsynced segment is renamed to .seg; keep the bad file for
                // inspection rather than deleting data.
                tracing::error!(path = %e.path().display(), error = %err, "cannot open segment; moving it aside");
                fs::rename(e.path(), e.path().with_extension("corrupt"))?;
            }
        }
    }
    let replaced: HashSet<u64> = segs
        .iter()
        .flat_map(|s| s.replaces.iter().copied())
        .collect();
    let mut kept = Vec::new();
    for s in segs {
        if replaced.contains(&s.id) {
            tracing::info!(path = %s.path.display(), "removing segment superseded by a merge");
            fs::remove_file(&s.path)?;
        } else {
            kept.push(Arc::new(s));
        }
    }
    kept.sort_by_key(|s| s.id);
    Ok(kept)
}

/// Reads a segment's series in id order, one frame at a time.
struct Cursor {
    seg: Arc<Segment>,
    next_frame: usize,
    pending: std::collections::VecDeque<(u32, Vec<u8>)>,
}

impl Cursor {
    fn new(seg: Arc<Segment>) -> io::Result<Cursor> {
        let mut c = Cursor {
            seg,
            next_frame: 0,
            pending: Default::default(),
        };
        c.fill()?;
        Ok(c)
    }

    fn fill(&mut self) -> io::Result<()> {
        while self.pending.is_empty() && self.next_frame < self.seg.frames.len() {
            let i = self.next_frame;
            self.next_frame += 1;
            let frame = self.seg.read_frame(i)?;
            let blocks = frame_blocks(&frame, self.seg.frames[i].first_sid).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("corrupt frame in {}", self.seg.path.display()),
                )
            })?;
            self.pending
                .extend(blocks.into_iter().map(|b| (b.sid, b.data.to_vec())));
        }
        Ok(())
    }

    fn peek_sid(&self) -> Option<u32> {
        self.pending.front().map(|(s, _)| *s)
    }

    fn take(&mut self) -> io::Result<Vec<Sample>> {
        let Some((_, data)) = self.pending.pop_front() else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        block::decode(&data, i64::MIN, i64::MAX, &mut out).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("corrupt block in {}", self.seg.path.display()),
            )
        })?;
        self.fill()?;
        Ok(out)
    }
}

/// Path of a segment inside a partitions directory (for snapshots).
pub fn relative_segment_path(day: i32, id: u64) -> PathBuf {
    segment_file(Path::new(&day_name(day)), id)
}

#[cfg(test)]
mod tests {
    use super::quiet_merge_range;

    #[test]
    fn quiet_merges_do_not_rewrite_a_large_segment_for_small_ones() {
        assert_eq!(quiet_merge_range(&[100]), None);
        assert_eq!(quiet_merge_range(&[100, 90]), Some(0..2));
        assert_eq!(quiet_merge_range(&[800, 100]), Some(0..2));
        // A large day and one small flush: wait; two small flushes: merge only those.
        assert_eq!(quiet_merge_range(&[10_000, 5]), None);
        assert_eq!(quiet_merge_range(&[10_000, 5, 7]), Some(1..3));
        // Small segments older than the large one stay until they weigh enough.
        assert_eq!(quiet_merge_range(&[3, 10_000, 5]), None);
        assert_eq!(quiet_merge_range(&[3, 10_000, 5, 4]), Some(2..4));
        assert_eq!(quiet_merge_range(&[700, 5_000, 600]), Some(0..3));
    }
}
