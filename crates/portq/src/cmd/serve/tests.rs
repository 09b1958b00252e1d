//! HTTP-level tests of the console router.
