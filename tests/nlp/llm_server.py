"""A real local HTTP server that speaks the OpenAI chat-completions protocol, for the LLM tests.

It answers from the transcript it receives (so a test can see what reached it): the summary
quotes the longest customer and agent lines, topics are the transcript's most frequent content
words, the agent is whoever first says something matching `agent_pattern` (a greeting by
default; the first speaker when nobody does), with `agent_confidence`. Behaviour per request follows `script`: "good", "malformed"
(not JSON), "wrong_schema" (JSON missing fields), "http500", "slow" (sleeps past the client
timeout), "tool" (answers with a tool call); when the script is empty it answers "good", or, with
`failure_rate` set, fails that share of requests at random (500, slow or malformed, seeded).
A request for call-driver names (the "call_driver_names" format) is answered per group with
"Calls about <the group's most frequent content word>". A request to judge rubric items (the
"rubric_item_answers" format) is answered by `judge_reply(prompt)`, a test's stand-in judge
(by default cannot_tell to every question).
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_LINE = re.compile(r"^\[\d\d:\d\d\] (\S+): (.*)$")
GREETING = r"how can i help|thank you for calling"
_STOP = set("the a an and i you to is it of for my on in me can that this your have with was be are am "
            "help thank thanks today please yes okay hear there".split())


def answer_from_transcript(prompt: str, agent_pattern: str = GREETING, agent_confidence: float = 0.9) -> dict:
    lines = [m.groups() for m in (_LINE.match(line) for line in prompt.splitlines()) if m]
    speakers = list(dict.fromkeys(s for s, _ in lines))
    greeter = next((s for s, t in lines if re.search(agent_pattern, t, re.I)), None)
    agent = greeter or (speakers[0] if speakers else "")
    customer_lines = [t for s, t in lines if s != agent]
    agent_lines = [t for s, t in lines if s == agent]
    # "charged" counts as "charge": a crude stem, enough for a stand-in model.
    words = Counter(re.sub(r"(?<=e)d$", "", w) for _, t in lines for w in re.findall(r"[a-z]+", t.lower())
                    if w not in _STOP and len(w) > 3)
    summary = " ".join(filter(None, [
        f"The customer said: {max(customer_lines, key=len)}" if customer_lines else "",
        f"The agent said: {max(agent_lines, key=len)}" if agent_lines else "",
    ])) or "Partial analyses were merged."
    judgement = {
        "speaker": agent,
        "reason": f"{agent} greets and offers help" if greeter else f"{agent} speaks first",
        "confidence": agent_confidence if greeter else 0.55,
    }
    if not lines:  # a merge request: carry the parts' summaries and topics, and the opening's agent, forward
        parts = [json.loads(m) for m in re.findall(r"^Part \d+: (\{.*\})$", prompt, re.M)]
        summary = " ".join(p["summary"] for p in parts)
        words = Counter(t for p in parts for t in p["topics"])
        judgement = parts[0]["agent"] if parts else judgement
    return {
        "summary": summary,
        "topics": [w for w, _ in words.most_common(4)],
        "reason": customer_lines[0] if customer_lines else "unknown",
        "outcome": agent_lines[-1] if agent_lines else "unknown",
        "resolved": True,
        "satisfaction": 4,
        "conflict": {"flag": False, "evidence": []},
        "action_items": [],
        "roles": [{"speaker": s, "role": "agent" if s == agent else "customer"} for s in speakers],
        "agent": judgement,
    }


_GROUP = re.compile(r"^Group (\d+) \(\d+ calls?\):$")


def names_from_groups(prompt: str) -> dict:
    """Call-driver names: each group's most frequent content word among its example reasons."""
    words: dict[int, Counter] = {}
    group = None
    for line in prompt.splitlines():
        if match := _GROUP.match(line):
            group = int(match.group(1))
            words[group] = Counter()
        elif line.startswith("- ") and group is not None:
            words[group].update(w for w in re.findall(r"[a-z]+", line.lower()) if w not in _STOP and len(w) > 3)
    return {"groups": [{"group": g, "label": f"Calls about {c.most_common(1)[0][0] if c else 'something'}"}
                       for g, c in words.items()]}


_QUESTION = re.compile(r"^Q(\d+)\. ", re.M)


def cannot_tell(prompt: str) -> dict:
    """A judge that never knows: cannot_tell to every question of the prompt."""
    return {"answers": [{"question": int(n), "verdict": "cannot_tell", "utterance": 0, "quote": "",
                         "reason": "the transcript does not say"} for n in _QUESTION.findall(prompt)]}


def with_llm(settings, base_url: str | None):
    """`settings` pointing the LLM at `base_url` (None: offline), with quick retries for tests."""
    from callytics_ray.settings import LLMOptions

    options = LLMOptions(timeout_s=5, max_retries=1, backoff_initial_s=0.01, backoff_max_s=0.02)
    return settings.model_copy(update={"llm": settings.llm.model_copy(update={"base_url": base_url,
                                                                              "options": options})})


# One judge-prompt line per utterance: "3. [12.4-15.0 s] agent: text".
JUDGE_LINE = re.compile(r"^(\d+)\. \[([\d.]+)-([\d.]+) s\] (\S+): (.*)$", re.M)


def quote_between(first: str, last: str) -> Callable[[str], str]:
    """How to quote a line for `quoting_judge`: its words from `first` to `last`."""
    return lambda text: re.search(rf"{first}.*?{last}", text, re.I).group()


def quoting_judge(*answers: tuple[str, str, Callable[[str], str]]) -> Callable[[str], dict]:
    """A stand-in judge for `ChatServer.judge_reply`: per question, (verdict, a word that picks
    the first line saying it, how to quote from that line's text as sent), numbered as the prompt
    numbers the lines."""

    def reply(prompt: str) -> dict:
        lines = JUDGE_LINE.findall(prompt)
        out = []
        for question, (verdict, cue, quote) in enumerate(answers, start=1):
            number, _, _, _, text = next(line for line in lines if cue in line[4].lower())
            out.append({"question": question, "verdict": verdict, "utterance": int(number), "quote": quote(text),
                        "reason": f"the transcript says so ({cue})"})
        return {"answers": out}

    return reply


def _format_name(body: dict) -> str | None:
    if "tools" in body:
        return body["tools"][0]["function"]["name"]
    return body.get("response_format", {}).get("json_schema", {}).get("name")


class ChatServer:
    """ThreadingHTTPServer on 127.0.0.1 and a free port; `requests` keeps every request body."""

    FAILURES = ("http500", "slow", "malformed")

    def __init__(self, *, failure_rate: float = 0.0, seed: int = 0) -> None:
        self.script: list[str] = []
        self.failure_rate = failure_rate
        self._random = random.Random(seed)
        self.requests: list[dict] = []
        self.slow_s = 3.0
        self.agent_pattern = GREETING
        self.agent_confidence = 0.9
        self.judge_reply: Callable[[str], dict] = cannot_tell
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                    behaviour = server.script.pop(0) if server.script else server._unscripted()
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": "not found"}})
                if behaviour == "http500":
                    return self._send(500, {"error": {"message": "internal error", "type": "server_error"}})
                if behaviour == "slow":
                    time.sleep(server.slow_s)
                prompt = body["messages"][1]["content"]
                if _format_name(body) in ("call_driver_names", "record_call_driver_names"):
                    analysis = names_from_groups(prompt)
                elif _format_name(body) in ("rubric_item_answers", "record_rubric_item_answers"):
                    analysis = server.judge_reply(prompt)
                else:
                    analysis = answer_from_transcript(prompt, server.agent_pattern, server.agent_confidence)
                if behaviour == "wrong_schema":
                    analysis.pop("summary", None)
                    analysis["satisfaction"] = 11
                content = "Sure! Here is the analysis: {summary: ..." if behaviour == "malformed" else json.dumps(analysis)
                message: dict = {"role": "assistant", "content": content}
                if behaviour == "tool" or "tools" in body:
                    message = {"role": "assistant", "content": None, "tool_calls": [{
                        "id": "call_1", "type": "function",
                        "function": {"name": body["tools"][0]["function"]["name"], "arguments": content},
                    }]}
                self._send(200, {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()),
                    "model": body["model"],
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": len(json.dumps(body)) // 4, "completion_tokens": len(content) // 4,
                              "total_tokens": len(json.dumps(body)) // 4 + len(content) // 4},
                })

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def _unscripted(self) -> str:
        """"good", or one of FAILURES for `failure_rate` of the requests (call with the lock held)."""
        if self.failure_rate > 0 and self._random.random() < self.failure_rate:
            return self._random.choice(self.FAILURES)
        return "good"

    def start(self) -> ChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self, *script: str) -> None:
        with self._lock:
            self.script = list(script)
            self.requests.clear()
            self.agent_pattern, self.agent_confidence = GREETING, 0.9
            self.judge_reply = cannot_tell
