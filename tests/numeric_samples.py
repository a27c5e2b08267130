"""``numeric`` values as PostgreSQL writes them, for the tests of the numeric-as-text path of JSON pages
(tests/test_formats.py, tests/test_pipeline.py): ordinary, tiny, zero, wider than a float, and the three
special values. The first four are finite."""

NUMERIC_TEXTS = [
    "12.50",
    "-0.0001",
    "0",
    "123456789012345678901234567890.123456789",
    "NaN",
    "Infinity",
    "-Infinity",
]
