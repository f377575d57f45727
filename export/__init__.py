"""Export distilled students and their teacher to the formats people ship, each validated against eager."""
