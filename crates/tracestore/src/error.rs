//! Errors of the trace store.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("trace store I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("trace store database: {0}")]
    Db(#[from] sled::Error),
    #[error("trace store data is corrupt: {0}")]
    Corrupt(String),
    #[error("trace store is overloaded: the write queue is full")]
    Overloaded,
    #[error("trace store is closed")]
    Closed,
    #[error("trace store configuration: {0}")]
    Config(String),
}
