//! The agent's web screens in a real browser.
