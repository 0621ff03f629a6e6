//! Headless Chromium driven over WebDriver (chromedriver) with fantoccini.
