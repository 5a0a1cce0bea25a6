//! Text the server sent about the data (a failing row's values in DETAIL, a COPY line
//! in CONTEXT, a value in a message), remembered as errors quote it, so that what leaves
//! the machine (a ping to a notification service) can carry the failing line and the
//! SQLSTATE without it. The terminal and the log still show everything.

use std::sync::Mutex;

static SERVER_TEXT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers `text` (from the server, about the data) as not for third parties.
pub fn server_text(text: &str) {
    if text.trim().is_empty() {
        return;
    }
    if let Ok(mut t) = SERVER_TEXT.lock() {
        t.push(text.to_string());
    }
}

/// `body` with every remembered server text replaced by "…".
pub fn scrub(body: &str) -> String {
    let mut out = body.to_string();
    if let Ok(texts) = SERVER_TEXT.lock() {
        // Longest first: a text inside another goes with it.
        let mut texts: Vec<&String> = texts.iter().collect();
        texts.sort_by_key(|t| std::cmp::Reverse(t.len()));
        for t in texts {
            out = out.replace(t.as_str(), "…");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_texts_leave_the_body() {
        server_text("Failing row contains (1, a@example.com, $argon2id$v=19$x).");
        let body = "line 7 (data of users): ERROR: new row violates check constraint \"c\" (SQLSTATE 23514); Failing row contains (1, a@example.com, $argon2id$v=19$x).; rolled back";
        let scrubbed = scrub(body);
        assert!(!scrubbed.contains("a@example.com"), "{scrubbed}");
        assert!(scrubbed.contains("line 7") && scrubbed.contains("SQLSTATE 23514"));
    }
}
