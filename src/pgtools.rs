//! pgtools
