"""Web pages the server serves: plain HTML, CSS and JavaScript with no build step."""
