//! Traits for the state the request path shares, so the proxy does not depend on sled directly
//! and tests can substitute a failing or slow store (RELIABILITY D1, G2).
//!
//! Owns: [`AuditStore`], the audit operations on the request path, implemented by
//! [`AuditLog`] (sled); [`ConsentStore`], the consent registry's operations, implemented by
//! [`ConsentRegistry`] (sled + in-memory index). Both object-safe: `Arc<dyn AuditStore>`,
//! `Arc<dyn ConsentStore>`. A shared SQL implementation can come later behind the same traits.
//!
//! `AppState` holds the concrete types (as it does for the audit log) so the admin API and the
//! CLI reach every operation; code that wants to substitute a store takes the trait.

use std::future::Future;
use std::pin::Pin;

use crate::audit::{AuditError, AuditLog, AuditRecord, Completion, Seq, SubjectRef};
use crate::consent::{
    ConsentCheck, ConsentError, ConsentEvent, ConsentRegistry, PurgeReport as ConsentPurgeReport,
};

/// A boxed, sendable future (object-safe async trait methods).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, AuditError>> + Send + 'a>>;

/// The audit operations on the request path. Fail closed: any `Err` means "do not forward".
pub trait AuditStore: Send + Sync + 'static {
    /// The blind index of a subject id.
    fn subject_ref(&self, subject_id: &str) -> SubjectRef;

    /// Writes an intent record; `Ok` only once it is durable.
    fn append_intent(&self, record: AuditRecord) -> StoreFuture<'_, Seq>;

    /// Writes the completion of an intent; `Ok` only once it is durable.
    fn complete(&self, intent: Seq, completion: Completion) -> StoreFuture<'_, Seq>;
}

impl AuditStore for AuditLog {
    fn subject_ref(&self, subject_id: &str) -> SubjectRef {
        AuditLog::subject_ref(self, subject_id)
    }

    fn append_intent(&self, record: AuditRecord) -> StoreFuture<'_, Seq> {
        Box::pin(AuditLog::append_intent(self, record))
    }

    fn complete(&self, intent: Seq, completion: Completion) -> StoreFuture<'_, Seq> {
        Box::pin(AuditLog::complete(self, intent, completion))
    }
}

/// The consent registry's operations. `lookup` runs on every request and must not block (serve
/// it from memory); the others do I/O and may block, so async callers run them on the blocking
/// pool. Fail closed: a `lookup` cannot fail, and a write is acknowledged only once durable.
pub trait ConsentStore: Send + Sync + 'static {
    /// Consent of `subject_id` for `purpose`, and whether its processing is restricted.
    fn lookup(&self, subject_id: &str, purpose: &str) -> ConsentCheck;

    /// Appends an event to the subject's history; `Ok` once durable and visible to `lookup`.
    fn record(&self, subject_id: &str, event: ConsentEvent) -> Result<u64, ConsentError>;

    /// The subject's history, oldest first.
    fn history(&self, subject_id: &str) -> Result<Vec<ConsentEvent>, ConsentError>;

    /// Deletes the subject's history (Art. 17); the number of events deleted.
    fn erase_subject(&self, subject_id: &str) -> Result<u64, ConsentError>;

    /// Deletes events older than `keep` before `now_ms`, keeping every current state.
    fn purge(
        &self,
        keep: std::time::Duration,
        now_ms: u64,
    ) -> Result<ConsentPurgeReport, ConsentError>;
}

impl ConsentStore for ConsentRegistry {
    fn lookup(&self, subject_id: &str, purpose: &str) -> ConsentCheck {
        ConsentRegistry::lookup(self, subject_id, purpose)
    }

    fn record(&self, subject_id: &str, event: ConsentEvent) -> Result<u64, ConsentError> {
        ConsentRegistry::record(self, subject_id, event)
    }

    fn history(&self, subject_id: &str) -> Result<Vec<ConsentEvent>, ConsentError> {
        ConsentRegistry::history(self, subject_id)
    }

    fn erase_subject(&self, subject_id: &str) -> Result<u64, ConsentError> {
        ConsentRegistry::erase_subject(self, subject_id)
    }

    fn purge(
        &self,
        keep: std::time::Duration,
        now_ms: u64,
    ) -> Result<ConsentPurgeReport, ConsentError> {
        ConsentRegistry::purge(self, keep, now_ms)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::audit::{AuditOptions, Decision};

    #[tokio::test]
    async fn audit_log_is_usable_as_a_trait_object() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn AuditStore> =
            Arc::new(AuditLog::open(dir.path(), AuditOptions::default()).unwrap());
        let seq = store
            .append_intent(AuditRecord {
                subject: Some(store.subject_ref("x")),
                ..AuditRecord::default()
            })
            .await
            .unwrap();
        store
            .complete(seq, Completion::new(Decision::Forwarded))
            .await
            .unwrap();
    }

    #[test]
    fn consent_registry_is_usable_as_a_trait_object() {
        use crate::consent::{ConsentEventKind, ConsentState};
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn ConsentStore> = Arc::new(ConsentRegistry::open(dir.path()).unwrap());
        let event = ConsentEvent::new(ConsentEventKind::Grant, Some("support"), "test");
        store.record("x", event).unwrap();
        assert_eq!(store.lookup("x", "support").state, ConsentState::Granted);
        assert_eq!(store.history("x").unwrap().len(), 1);
    }
}
