"""Every screen at the sizes it runs on: the Qt apps offscreen, the web pages in Chromium."""
