//! The embedded UI.
//!
//! In: browser page loads at `/` and login form posts.
//! Out: the built front-end assets (embedded in the binary), session cookies, and the
//! provisioned dashboards from the dashboards folder; the UI itself calls the query APIs.
