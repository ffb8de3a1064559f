"""Results for readers: README tables from metrics/ (tables) and the offline HTML report (html)."""
