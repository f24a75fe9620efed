//! Traits for the state the request path shares, so the proxy does not depend on sled directly
//! and tests can substitute a failing or slow store (RELIABILITY D1, G2).
//!
//! Owns: [`AuditStore`], the audit operations on the request path, implemented by
//! [`AuditLog`] (sled). Object-safe: keep it as `Arc<dyn AuditStore>`.
//! A consent store and a shared SQL implementation can come later behind the same pattern.

use std::future::Future;
use std::pin::Pin;

use crate::audit::{AuditError, AuditLog, AuditRecord, Completion, Seq, SubjectRef};

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
}
