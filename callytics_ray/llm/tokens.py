"""Token estimates without a tokenizer for every model an endpoint may serve.

Rule of thumb used (documented, deliberately pessimistic): one token per 4 characters of Latin
text and one token per CJK/Hangul character, plus 4 tokens of framing per message. BPE tokenizers
(tiktoken cl100k/o200k, Llama, Qwen) give 3.5 to 4.5 characters per English token and 0.7 to 1.5
tokens per Hangul syllable, so budgets computed this way are rarely exceeded.
"""

from __future__ import annotations

import math

_MESSAGE_OVERHEAD = 4


def _is_wide(ch: str) -> bool:
    code = ord(ch)
    return 0xAC00 <= code <= 0xD7A3 or 0x3040 <= code <= 0x30FF or 0x4E00 <= code <= 0x9FFF or 0x1100 <= code <= 0x11FF


def estimate_tokens(text: str) -> int:
    """Estimated tokens of `text`."""
    wide = sum(1 for ch in text if _is_wide(ch))
    return wide + math.ceil((len(text) - wide) / 4)


def estimate_message_tokens(messages: list[dict[str, str]]) -> int:
    """Estimated prompt tokens of a chat request."""
    return sum(estimate_tokens(m.get("content") or "") + _MESSAGE_OVERHEAD for m in messages)
