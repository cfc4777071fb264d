"""Call drivers: why customers called, across a tenant's stored calls (embeddings of each call's
reason, clusters, names from the LLM or keyphrases offline, counts and trends).

A layer above the stages, like the pipeline: it composes the shared sentence encoder, the LLM
client and the keyphrase extractor over stored calls, so it lives outside `analytics/` (which
stands on the shared floor only and is imported by the stages' callers and backfills alike).
"""
