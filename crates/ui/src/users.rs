//! UI users who log in with a name and password (`[[ui.users]]`, Argon2 PHC hashes).
//!
//! Verification is slow and memory-hungry on purpose (Argon2), so it runs on the blocking
//! pool, two at a time at most. An unknown name is checked against a dummy hash, so the
//! answer takes as long as for a known name.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use pharos_config::{Config, Scope};
use rand::RngCore;
use std::sync::Arc;
use tokio::sync::Semaphore;

struct User {
    name: String,
    hash: String,
    scope: Scope,
}

pub struct Users {
    users: Vec<User>,
    dummy: String,
    permits: Semaphore,
}

impl Users {
    /// The configured users; entries with a hash that is not a PHC string, or with the
    /// `ingest` scope, are left out with an error in the log.
    pub fn from_config(config: &Config) -> Arc<Users> {
        let mut users = Vec::new();
        for u in &config.ui.users {
            if let Err(e) = PasswordHash::new(&u.password_hash) {
                tracing::error!(user = %u.name, error = %e, "ui.users: password_hash is not an Argon2 PHC string; this user cannot log in");
                continue;
            }
            if u.scope == Scope::Ingest {
                tracing::error!(user = %u.name, "ui.users: scope must be read or admin; this user cannot log in");
                continue;
            }
            users.push(User {
                name: u.name.clone(),
                hash: u.password_hash.clone(),
                scope: u.scope,
            });
        }
        let dummy = if users.is_empty() {
            String::new()
        } else {
            hash_password("pharos-dummy-password").unwrap_or_default()
        };
        Arc::new(Users {
            users,
            dummy,
            permits: Semaphore::new(2),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The scope of `name` if `password` is right.
    pub async fn verify(self: &Arc<Self>, name: &str, password: &str) -> Option<Scope> {
        let _permit = self.permits.acquire().await.ok()?;
        let (me, name, password) = (self.clone(), name.to_owned(), password.to_owned());
        tokio::task::spawn_blocking(move || me.verify_blocking(&name, &password))
            .await
            .ok()
            .flatten()
    }

    fn verify_blocking(&self, name: &str, password: &str) -> Option<Scope> {
        let user = self.users.iter().find(|u| u.name == name);
        let hash = user.map_or(self.dummy.as_str(), |u| u.hash.as_str());
        let parsed = PasswordHash::new(hash).ok()?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        user.filter(|_| ok).map(|u| u.scope)
    }
}

/// An Argon2id PHC string for `password` (for tests and the dummy hash).
pub fn hash_password(password: &str) -> Option<String> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).ok()?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .ok()
        .map(|h| h.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_configured_users() {
        let mut config = Config::default();
        let hash = hash_password("s3cret").unwrap();
        let user = |name: &str, hash: &str, scope: Scope| {
            toml::from_str::<pharos_config::Config>(&format!(
                "[[ui.users]]\nname = \"{name}\"\npassword_hash = \"{hash}\"\nscope = \"{}\"\n",
                scope.as_str()
            ))
            .unwrap()
            .ui
            .users
            .remove(0)
        };
        config.ui.users = vec![
            user("alice", &hash, Scope::Admin),
            user("bob", "not-a-hash", Scope::Read),
            user("ingest", &hash, Scope::Ingest),
        ];
        let users = Users::from_config(&config);
        assert_eq!(users.verify("alice", "s3cret").await, Some(Scope::Admin));
        assert_eq!(users.verify("alice", "wrong").await, None);
        assert_eq!(users.verify("bob", "anything").await, None);
        assert_eq!(users.verify("ingest", "s3cret").await, None);
        assert_eq!(users.verify("nobody", "s3cret").await, None);
    }
}
