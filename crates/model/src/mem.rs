//! An in-memory `SeriesSource`, for tests and the PromQL conformance runner.

use crate::matcher::all_match;
use crate::{Labels, Matcher, Sample, SeriesData, SeriesSource, SourceError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::RwLock;

/// Series kept in a map from labels to sorted samples.
#[derive(Default)]
pub struct MemSource {
    series: RwLock<BTreeMap<Labels, Vec<Sample>>>,
}

impl MemSource {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a sample; a sample at an existing timestamp replaces the old one.
    pub fn add(&self, labels: &Labels, t: i64, v: f64) {
        let mut map = self.series.write().unwrap();
        let samples = map.entry(labels.clone()).or_default();
        match samples.binary_search_by_key(&t, |s| s.t) {
            Ok(i) => samples[i].v = v,
            Err(i) => samples.insert(i, Sample { t, v }),
        }
    }

    pub fn clear(&self) {
        self.series.write().unwrap().clear();
    }

    fn matching(&self, matchers: &[Matcher], start: i64, end: i64) -> Vec<SeriesData> {
        let map = self.series.read().unwrap();
        map.iter()
            .filter(|(l, _)| all_match(matchers, l))
            .filter_map(|(l, s)| {
                let lo = s.partition_point(|x| x.t < start);
                let hi = s.partition_point(|x| x.t <= end);
                (lo < hi).then(|| SeriesData {
                    labels: l.clone(),
                    samples: s[lo..hi].to_vec(),
                })
            })
            .collect()
    }
}

impl SeriesSource for MemSource {
    fn select(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<SeriesData>, SourceError> {
        Ok(self.matching(matchers, start, end))
    }

    fn series(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<Labels>, SourceError> {
        Ok(self
            .matching(matchers, start, end)
            .into_iter()
            .map(|s| s.labels)
            .collect())
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<String>, SourceError> {
        let set: BTreeSet<String> = self
            .matching(matchers, start, end)
            .iter()
            .flat_map(|s| s.labels.iter().map(|l| l.name.to_string()))
            .collect();
        Ok(set.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        start: i64,
        end: i64,
    ) -> Result<Vec<String>, SourceError> {
        let set: BTreeSet<String> = self
            .matching(matchers, start, end)
            .iter()
            .filter_map(|s| s.labels.get(name).map(str::to_owned))
            .collect();
        Ok(set.into_iter().collect())
    }
}
