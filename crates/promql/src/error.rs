//! Query errors, each carrying the `errorType` Prometheus's API reports for it.

/// Prometheus's error classes (`errorType` in the API), with their HTTP status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad input: unparsable query, bad parameters. HTTP 400.
    BadData,
    /// The expression cannot be executed (e.g. duplicate label sets, too many samples). HTTP 422.
    Execution,
    /// The query ran out of time. HTTP 503.
    Timeout,
    /// The query was cancelled. HTTP 503.
    Canceled,
    /// A storage or internal failure. HTTP 500.
    Internal,
}

impl ErrorKind {
    /// The `errorType` string of Prometheus's API.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadData => "bad_data",
            ErrorKind::Execution => "execution",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Canceled => "canceled",
            ErrorKind::Internal => "internal",
        }
    }

    /// The HTTP status Prometheus answers with.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::BadData => 400,
            ErrorKind::Execution => 422,
            ErrorKind::Timeout | ErrorKind::Canceled => 503,
            ErrorKind::Internal => 500,
        }
    }
}

/// A failed query.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub kind: ErrorKind,
    pub message: String,
}

impl QueryError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        QueryError {
            kind,
            message: message.into(),
        }
    }
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadData, message)
    }
    pub fn execution(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Execution, message)
    }
    pub fn timeout() -> Self {
        Self::new(
            ErrorKind::Timeout,
            "query timed out in expression evaluation",
        )
    }
    pub fn too_many_samples() -> Self {
        Self::execution(
            "query processing would load too many samples into memory in query execution",
        )
    }
    pub fn same_labelset() -> Self {
        Self::execution("vector cannot contain metrics with the same labelset")
    }
}

impl From<pharos_model::SourceError> for QueryError {
    fn from(e: pharos_model::SourceError) -> Self {
        use pharos_model::SourceError as S;
        match e {
            S::LimitExceeded(m) => QueryError::execution(m),
            S::Cancelled(m) => {
                QueryError::new(ErrorKind::Canceled, format!("query cancelled: {m}"))
            }
            S::Storage(m) => QueryError::new(ErrorKind::Internal, format!("storage error: {m}")),
        }
    }
}
