"""Which speaker is the agent: phrase cues (English and Korean), who speaks first (and whether
the opener only said "hello?"), questions, talk share, how each addresses the other ("your"
against "my") and, in Korean, the speech level (agents' formal -습니다 against customers' -요)
on mono calls; the channel layout on dual-channel calls; a request can override.

On mono calls the cues give every speaker an agent score in log-odds; the confidence is a
calibrated probability that the agent/customer assignment is right: the softmax of the
speakers' scores, with the cue weights (`RoleOptions.*_weight`) fitted on labelled dev calls
(bench/roles.py, bench/data/role_dev_calls.json). With an LLM endpoint, the LLM's own judgement
of who the agent is joins that probability in log-odds (`revise_roles`).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from callytics_ray.alignment import align_words
from callytics_ray.errors import ConfigError
from callytics_ray.settings import RoleOptions, UtteranceOptions
from callytics_ray.types import AudioInfo, RoleJudgement, SpeakerRole, Transcript, Utterance

logger = logging.getLogger(__name__)

ROLES = ("agent", "customer", "other")


@dataclass(frozen=True, slots=True)
class RoleEvidence:
    """What the mono-call cues say, before calibration.

    Attributes:
        cues: the cues of every person (recorded prompts excluded), in order of first speech.
        scores: their agent scores (the weighted cues).
        machines: speakers who only play recorded prompts (an IVR before the transfer).
        lone_baseline: what a lone speaker scores without any cue (speaking first and all the
            talk); a lone person's margin is measured from it.
    """

    cues: dict[str, Cues]
    scores: dict[str, float]
    machines: tuple[str, ...]
    lone_baseline: float

    @property
    def ranked(self) -> list[str]:
        return sorted(self.scores, key=lambda s: self.scores[s], reverse=True)

    def agent_probabilities(self) -> dict[str, float]:
        """P(speaker is the agent) for every person: the softmax of the scores (for two people
        the logistic of the score margin). A lone person: the logistic of score - lone_baseline,
        i.e. their agent-like words against none."""
        if len(self.scores) == 1:
            [(speaker, score)] = self.scores.items()
            return {speaker: _sigmoid(score - self.lone_baseline)}
        top = max(self.scores.values(), default=0.0)
        weights = {s: math.exp(v - top) for s, v in self.scores.items()}
        total = sum(weights.values())
        return {s: w / total for s, w in weights.items()}


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def _logit(p: float) -> float:
    p = min(1.0 - 1e-6, max(1e-6, p))
    return math.log(p / (1.0 - p))


def _talk_times(utterances: Sequence[Utterance]) -> dict[str, float]:
    times: dict[str, float] = {}
    for utterance in utterances:
        times[utterance.speaker] = times.get(utterance.speaker, 0.0) + max(0.0, utterance.end - utterance.start)
    return times


def compile_phrases(phrases: Sequence[str]) -> tuple[str | re.Pattern[str], ...]:
    """Lower-case phrases as matchers: a substring, or where the phrase holds "*" (any one word:
    "this is * from") a regular expression."""
    return tuple(
        re.compile(r"\S+".join(map(re.escape, p.lower().split("*")))) if "*" in p else p.lower() for p in phrases
    )


def _hits(text: str, matchers: Sequence[str | re.Pattern[str]]) -> int:
    """How many of the phrases occur in `text` (each counted once)."""
    return sum(m in text if isinstance(m, str) else m.search(text) is not None for m in matchers)


def _spans(text: str, matchers: Sequence[str | re.Pattern[str]]) -> list[tuple[int, int]]:
    """Where each phrase first occurs in `text`: (start, end) per phrase found."""
    spans = []
    for m in matchers:
        if isinstance(m, str):
            if (i := text.find(m)) >= 0:
                spans.append((i, i + len(m)))
        elif found := m.search(text):
            spans.append(found.span())
    return spans


def phrase_balance(
    text: str, agent: Sequence[str | re.Pattern[str]], customer: Sequence[str | re.Pattern[str]]
) -> int:
    """Agent phrases minus customer phrases in lower-cased `text`. Each stretch of text counts
    once, for the longest phrase found there: "i just wanted to let you know" is the agent's
    "wanted to let you know", not also the customer's "i just wanted", and "무엇을 도와드릴까요"
    is one agent phrase, not two. An agent and a customer phrase of the same length on the same
    words both drop out."""
    found = [(span, 1) for span in _spans(text, agent)] + [(span, -1) for span in _spans(text, customer)]
    found.sort(key=lambda f: f[0][0] - f[0][1])  # longest first
    kept: list[tuple[tuple[int, int], int]] = []
    for (start, end), side in found:
        clash = [k for k in kept if k[0][0] < end and start < k[0][1]]
        if not clash:
            kept.append(((start, end), side))
        elif any(k[1] != side and k[0][1] - k[0][0] == end - start for k in clash):
            kept = [k for k in kept if k not in clash]  # a tie between the two sides: neither counts
    return sum(side for _, side in kept)


def machine_speakers(utterances: Sequence[Utterance], options: RoleOptions) -> tuple[str, ...]:
    """Speakers at least half of whose utterances are recorded prompts ("press one", "this call may
    be recorded"): an IVR that diarization gave its own label. Only with two more speakers
    left, so a call always keeps an agent and a customer (a prompt merged into a person's label
    stays theirs)."""
    speakers = list(dict.fromkeys(u.speaker for u in utterances))
    if len(speakers) < 3:
        return ()
    phrases = compile_phrases(options.ivr_phrases)
    prompts = dict.fromkeys(speakers, 0)
    counts = dict.fromkeys(speakers, 0)
    for u in utterances:
        counts[u.speaker] += 1
        prompts[u.speaker] += _hits(u.text.lower(), phrases) > 0
    machines = tuple(s for s in speakers if prompts[s] * 2 >= counts[s] and prompts[s] > 0)
    return machines if len(speakers) - len(machines) >= 2 else ()


# Utterances that are nothing but a telephone "hello" (the person who picks up, or a caller
# whose greeting went unheard): said by whoever answers a ringing phone, so on an opener they
# point to the customer of an outbound call or a caller speaking before the agent.
_BARE_HELLO = re.compile(r"^(?:(?:hello|hi|hey|hallo|yeah|yes|yep|여보세요|네|예)[\s,.?!…]*){1,3}$")
_SENTENCES = re.compile(r"[^.?!。？！\n]+[.?!。？！]*")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


@dataclass(frozen=True, slots=True)
class Cues:
    """One speaker's agent cues on a mono call (`RoleOptions` weighs them into a score).

    Attributes:
        phrases: per utterance, agent phrases minus customer phrases (capped at +/-2, so a
            long monologue does not outvote a greeting), summed.
        first: 1 for the speaker who opens the call, unless their opening is a bare "hello?".
        hello: -1 for the opener whose first words are a bare telephone "hello?" / "여보세요"
            (whoever picks up a ringing phone: the customer of an outbound call, or a caller
            who did not hear the agent's greeting).
        questions: share of their sentences that are questions.
        talk: share of the talk time (agents explain).
        address: (words addressing the other party - words about oneself) / (both + 1), in
            (-1, 1): "your account" against "my card".
        register: Korean speech levels, (formal -습니다/-ㅂ니까 endings - polite -요 endings)
            / (both + 1), set phrases ("감사합니다", "알겠습니다") left out: call-centre agents
            speak in the formal level, customers in the polite one. 0 in English.
    """

    phrases: float = 0.0
    first: float = 0.0
    hello: float = 0.0
    questions: float = 0.0
    talk: float = 0.0
    address: float = 0.0
    register: float = 0.0

    def vector(self) -> tuple[float, ...]:
        return tuple(getattr(self, cue) for cue, _ in CUE_WEIGHTS)

    def score(self, options: RoleOptions) -> float:
        return sum(getattr(self, cue) * getattr(options, weight) for cue, weight in CUE_WEIGHTS)


# Each cue and the RoleOptions field that weighs it (bench/roles.py fits them all).
CUE_WEIGHTS: tuple[tuple[str, str], ...] = (
    ("phrases", "phrase_weight"),
    ("first", "first_speaker_weight"),
    ("hello", "opener_hello_weight"),
    ("questions", "question_weight"),
    ("talk", "talk_share_weight"),
    ("address", "address_weight"),
    ("register", "register_weight"),
)


def is_bare_hello(text: str) -> bool:
    """Whether an utterance is nothing but a telephone hello ("Hello?", "Yeah?", "네, 여보세요.")."""
    return bool(_BARE_HELLO.match(text.strip().lower()))


def _speech_levels(text: str, options: RoleOptions) -> tuple[int, int]:
    """(formal, polite) sentence endings of Korean text; set phrases are not counted."""
    formal = polite = 0
    for sentence in _SENTENCES.findall(text):
        words = sentence.strip(" .?!。？！,…").split()
        if not words or not _HANGUL.search(words[-1]):
            continue
        last = words[-1]
        if any(last.endswith(p) for p in options.speech_level_exceptions):
            continue
        if last.endswith(("니다", "니까", "십시오", "시오")):
            formal += 1
        elif last.endswith(("요", "죠")):
            polite += 1
    return formal, polite


def speaker_cues(utterances: Sequence[Utterance], options: RoleOptions) -> dict[str, Cues]:
    """The cues of every speaker, in order of first speech."""
    speakers = list(dict.fromkeys(u.speaker for u in utterances))
    talk = _talk_times(utterances)
    total_talk = sum(talk.values()) or 1.0
    agent_phrases = compile_phrases(options.agent_phrases + options.company_names)
    customer_phrases = compile_phrases(options.customer_phrases)
    addressee, own = re.compile(options.addressee_pattern), re.compile(options.self_pattern)
    phrases = dict.fromkeys(speakers, 0)
    questions = dict.fromkeys(speakers, 0)
    sentences = dict.fromkeys(speakers, 0)
    address = {s: [0, 0] for s in speakers}
    levels = {s: [0, 0] for s in speakers}
    for utterance in utterances:
        text = utterance.text.lower()
        hits = phrase_balance(text, agent_phrases, customer_phrases)
        phrases[utterance.speaker] += max(-2, min(2, hits))
        marks = text.count("?") + text.count("？") + text.count("까요") + text.count("나요")
        questions[utterance.speaker] += marks
        sentences[utterance.speaker] += max(1, sum(text.count(c) for c in ".?!。？！"))
        address[utterance.speaker][0] += len(addressee.findall(text))
        address[utterance.speaker][1] += len(own.findall(text))
        formal, polite = _speech_levels(text, options)
        levels[utterance.speaker][0] += formal
        levels[utterance.speaker][1] += polite
    opener_hello = bool(utterances) and is_bare_hello(utterances[0].text)
    return {
        s: Cues(
            phrases=phrases[s], first=float(i == 0 and not opener_hello),
            hello=-float(i == 0 and opener_hello),
            questions=min(1.0, questions[s] / max(1, sentences[s])),
            talk=talk.get(s, 0.0) / total_talk,
            address=(address[s][0] - address[s][1]) / (address[s][0] + address[s][1] + 1),
            register=(levels[s][0] - levels[s][1]) / (levels[s][0] + levels[s][1] + 1),
        )
        for i, s in enumerate(speakers)
    }


def role_evidence(utterances: Sequence[Utterance], options: RoleOptions) -> RoleEvidence:
    """The cues of a mono call: recorded prompts set aside, the people scored among themselves."""
    machines = machine_speakers(utterances, options)
    cues = speaker_cues([u for u in utterances if u.speaker not in machines], options)
    return RoleEvidence(
        cues=cues,
        scores={s: c.score(options) for s, c in cues.items()},
        machines=machines,
        lone_baseline=options.first_speaker_weight + options.talk_share_weight,
    )


def _mono_roles(utterances: Sequence[Utterance], options: RoleOptions) -> dict[str, tuple[str, float]]:
    evidence = role_evidence(utterances, options)
    talk = _talk_times(utterances)
    probabilities = evidence.agent_probabilities()
    roles: dict[str, tuple[str, float]] = {}
    for machine in evidence.machines:  # too few IVR calls in the dev set to calibrate this one
        roles[machine] = ("other", 1.0 - options.min_confidence)
    ranked = evidence.ranked
    if len(ranked) == 1:
        # One voice (a voicemail, a one-sided recording): agent only when it sounds like one.
        p = probabilities[ranked[0]]
        roles[ranked[0]] = ("agent", p) if p >= 0.5 else ("customer", 1.0 - p)
        return roles
    confidence = probabilities[ranked[0]]
    roles[ranked[0]] = ("agent", confidence)
    customer = max(ranked[1:], key=lambda s: talk.get(s, 0.0))
    roles[customer] = ("customer", confidence)
    for speaker in ranked[1:]:
        if speaker != customer:
            roles[speaker] = ("other", min(confidence, 1.0 - options.min_confidence))
    return roles


def assign_roles(
    utterances: Sequence[Utterance],
    info: AudioInfo | None,
    options: RoleOptions,
    override: Mapping[str, str] | None = None,
    agent_channel: int | None = None,
) -> tuple[SpeakerRole, ...]:
    """Map every speaker to agent, customer or other, with a confidence in [0, 1].

    Mono calls: the confidence is the calibrated probability that the speaker's role is right
    (about 0.5 when the cues are absent or contradict each other). Dual-channel calls: roles
    follow the channel mapping, `agent_channel` of the request, else `options.agent_channel`
    (default 0); the confidence is 1.0 because the mapping is configuration, not a guess from
    speech (a wrongly wired recorder is a configuration error the roles cannot see).

    Args:
        utterances: aligned utterances (speaker labels from diarization).
        info: the call's audio facts; `layout == "dual"` maps channels to roles.
        options: phrase lists, cue weights (the calibration), default agent channel.
        override: per-request speaker -> role; those speakers get confidence 1.
        agent_channel: per-request agent channel of a dual-channel call (wins over options).

    Raises:
        ConfigError: an override names a role other than agent/customer/other.
    """
    override = dict(override or {})
    if bad := {r for r in override.values() if r not in ROLES}:
        raise ConfigError(f"role override may only use {', '.join(ROLES)}; got {', '.join(sorted(bad))}")
    talk = _talk_times(utterances)
    speakers = list(dict.fromkeys(u.speaker for u in utterances))
    roles: dict[str, tuple[str, float]] = {}
    if info is not None and info.layout == "dual":
        channel = options.agent_channel if agent_channel is None else agent_channel
        for speaker in speakers:
            is_agent = speaker == f"CHANNEL_{channel}"
            roles[speaker] = ("agent" if is_agent else "customer", 1.0)
    elif speakers:
        roles = _mono_roles(utterances, options)
    for speaker, role in override.items():
        roles[speaker] = (role, 1.0)
    return tuple(
        SpeakerRole(speaker, roles[speaker][0], round(roles[speaker][1], 3), round(talk.get(speaker, 0.0), 3))
        for speaker in list(dict.fromkeys(speakers + list(override)))
        if speaker in roles
    )


def revise_roles(
    roles: Sequence[SpeakerRole],
    judgement: RoleJudgement | None,
    info: AudioInfo | None,
    options: RoleOptions,
    override: Mapping[str, str] | None = None,
) -> tuple[SpeakerRole, ...]:
    """Join an LLM's judgement of who the agent is with the offline roles of a mono call.

    Log-odds that the offline agent A (not the customer C) is the agent: logit(p_offline)
    +/- llm_weight * logit(q), with q the LLM's confidence capped at `llm_max_confidence`
    (+ when it names A, - when it names C). Below 0 agent and customer swap. The LLM sees the
    transcript without our roles, so its answer is independent evidence; the cap keeps one
    answer from overturning clear offline evidence. Unchanged when the request named roles,
    on dual-channel calls (the channel mapping is configuration), without a judgement, or
    when the LLM names a speaker that is neither the agent nor the customer.
    """
    roles = tuple(roles)
    if judgement is None or override or (info is not None and info.layout == "dual"):
        return roles
    agent = next((r for r in roles if r.role == "agent"), None)
    customer = next((r for r in roles if r.role == "customer"), None)
    if agent is None or customer is None or judgement.agent not in (agent.speaker, customer.speaker):
        logger.info("LLM names %r as the agent, not one of the two parties: roles unchanged", judgement.agent)
        return roles
    q = min(options.llm_max_confidence, max(0.5, judgement.confidence))
    sign = 1.0 if judgement.agent == agent.speaker else -1.0
    log_odds = _logit(agent.confidence) + sign * options.llm_weight * _logit(q)
    p = _sigmoid(log_odds)
    swap = p < 0.5
    confidence = round(1.0 - p if swap else p, 3)
    if swap:
        logger.info("LLM judgement moves the agent role from %s to %s (%.3f): %s",
                    agent.speaker, customer.speaker, confidence, judgement.reason)
    new_role = {agent.speaker: "customer" if swap else "agent", customer.speaker: "agent" if swap else "customer"}
    return tuple(
        SpeakerRole(r.speaker, new_role[r.speaker], confidence, r.talk_time_s) if r.speaker in new_role else r
        for r in roles
    )


def attribute_speakers(
    transcript: Transcript,
    turns: Sequence,
    info: AudioInfo | None,
    role_options: RoleOptions,
    role_override: Mapping[str, str] | None = None,
    agent_channel: int | None = None,
    utterance_options: UtteranceOptions | None = None,
) -> tuple[tuple[Utterance, ...], tuple[SpeakerRole, ...]]:
    """What the pipeline calls: words to speakers (utterances), then speakers to roles.

    Args:
        transcript: ASR output with word timestamps.
        turns: diarization output (SpeakerTurn list).
        info: audio facts (layout decides channel-based roles).
        role_options: settings.roles.
        role_override: per-request speaker -> role.
        agent_channel: per-request agent channel for dual-channel calls.
        utterance_options: where utterances end (settings.utterances).
    """
    utterances = align_words(transcript, turns, utterance_options)
    return utterances, assign_roles(utterances, info, role_options, role_override, agent_channel)
