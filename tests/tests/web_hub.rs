//! The hub's web screens in a real browser.
