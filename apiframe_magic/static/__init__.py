"""Static forms: what a notebook keeps when no kernel is attached (text captions, escaped HTML,
the image/jpeg twin of a job, the permutation matrix sheet) and the exported HTML gallery."""
