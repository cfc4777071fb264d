"""Shared text resources every stage may use: Korean helpers (`korean`), sentence splitting
(`sentences`), the shipped word lists (`wordlists`, data in `lists/`) and PII redaction
(`redaction`: the pipeline's redaction step, and the LLM stage's before a transcript leaves)."""
