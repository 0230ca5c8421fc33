"""Data quality: Great Expectations suites (``expectations``)."""
