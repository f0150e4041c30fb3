"""Phase 1: one batch of articles to arrays, in worker processes, streamed into the feature store.

The steps, in the order data flows through them: ``normalise`` (text to word tokens with offsets, one vectorised
pass over the batch), ``banal`` (the shingles with no content of their own: numbers and date words), ``shingle``
(word k-grams as hashes), ``sign`` (MinHash signatures), ``features`` (``extract``: the batch's shard of the
feature store — fingerprints, postings, paragraph spans, signatures, metadata). Plain arrays in, arrays out; phase 2
(``dedup.phase2``) reads what this writes.
"""
