//! A notifier that keeps what it was asked to publish.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::Result;
use crate::ports::Notifier;

use super::Faults;

pub struct MemoryNotifier {
    published: Mutex<Vec<(String, String)>>,
    faults: Arc<Faults>,
}

impl MemoryNotifier {
    pub fn new(faults: Arc<Faults>) -> Self {
        MemoryNotifier {
            published: Mutex::new(Vec::new()),
            faults,
        }
    }

    /// Every (subject, message) published so far.
    pub fn published(&self) -> Vec<(String, String)> {
        self.published.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl Notifier for MemoryNotifier {
    async fn publish(&self, subject: &str, message: &str) -> Result<()> {
        self.faults.run("notifier.publish", || {
            if let Ok(mut published) = self.published.lock() {
                published.push((subject.to_owned(), message.to_owned()));
            }
            Ok(())
        })
    }
}
