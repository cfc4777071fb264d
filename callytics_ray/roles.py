"""Which speaker is the agent: phrase cues (English and Korean), who speaks first, questions and
talk share on mono calls; the channel layout on dual-channel calls; a request can override."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from callytics_ray.errors import ConfigError
from callytics_ray.settings import RoleOptions
from callytics_ray.types import AudioInfo, SpeakerRole, Transcript, Utterance

ROLES = ("agent", "customer", "other")


def _talk_times(utterances: Sequence[Utterance]) -> dict[str, float]:
    times: dict[str, float] = {}
    for utterance in utterances:
        times[utterance.speaker] = times.get(utterance.speaker, 0.0) + max(0.0, utterance.end - utterance.start)
    return times


def agent_scores(utterances: Sequence[Utterance], options: RoleOptions) -> dict[str, float]:
    """A score per speaker; higher means more agent-like.

    Cues: agent phrases minus customer phrases (per utterance, so a long monologue does not
    outvote a greeting), opening the call, asking a larger share of questions, and talking more
    (agents explain; weak, so it only breaks ties).
    """
    speakers = list(dict.fromkeys(u.speaker for u in utterances))
    talk = _talk_times(utterances)
    total_talk = sum(talk.values()) or 1.0
    agent_phrases = [p.lower() for p in options.agent_phrases + options.company_names]
    customer_phrases = [p.lower() for p in options.customer_phrases]
    scores = dict.fromkeys(speakers, 0.0)
    questions = dict.fromkeys(speakers, 0)
    sentences = dict.fromkeys(speakers, 0)
    for utterance in utterances:
        text = utterance.text.lower()
        hits = sum(p in text for p in agent_phrases) - sum(p in text for p in customer_phrases)
        scores[utterance.speaker] += options.phrase_weight * max(-2, min(2, hits))
        marks = text.count("?") + text.count("？") + text.count("까요") + text.count("나요")
        questions[utterance.speaker] += marks
        sentences[utterance.speaker] += max(1, sum(text.count(c) for c in ".?!。？！"))
    if speakers:
        scores[speakers[0]] += options.first_speaker_weight
    for speaker in speakers:
        scores[speaker] += options.question_weight * questions[speaker] / max(1, sentences[speaker])
        scores[speaker] += options.talk_share_weight * talk.get(speaker, 0.0) / total_talk
    return scores


def assign_roles(
    utterances: Sequence[Utterance],
    info: AudioInfo | None,
    options: RoleOptions,
    override: Mapping[str, str] | None = None,
    agent_channel: int | None = None,
) -> tuple[SpeakerRole, ...]:
    """Map every speaker to agent, customer or other, with a confidence in [0, 1].

    Args:
        utterances: aligned utterances (speaker labels from diarization).
        info: the call's audio facts; `layout == "dual"` maps channels to roles.
        options: phrase lists, weights, default agent channel.
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
        scores = agent_scores(utterances, options)
        ranked = sorted(speakers, key=lambda s: scores[s], reverse=True)
        margin = scores[ranked[0]] - (scores[ranked[1]] if len(ranked) > 1 else 0.0)
        confidence = round(min(1.0, max(0.0, margin) / (abs(margin) + 1.0) + 0.5 * (len(ranked) == 1)), 3)
        roles[ranked[0]] = ("agent", confidence)
        if len(ranked) > 1:
            customer = max(ranked[1:], key=lambda s: talk.get(s, 0.0))
            roles[customer] = ("customer", confidence)
            for speaker in ranked[1:]:
                if speaker != customer:
                    roles[speaker] = ("other", min(confidence, 1.0 - options.min_confidence))
    for speaker, role in override.items():
        roles[speaker] = (role, 1.0)
    return tuple(
        SpeakerRole(speaker, roles[speaker][0], roles[speaker][1], round(talk.get(speaker, 0.0), 3))
        for speaker in list(dict.fromkeys(speakers + list(override)))
        if speaker in roles
    )


def attribute_speakers(
    transcript: Transcript,
    turns: Sequence,
    info: AudioInfo | None,
    role_options: RoleOptions,
    role_override: Mapping[str, str] | None = None,
    agent_channel: int | None = None,
) -> tuple[tuple[Utterance, ...], tuple[SpeakerRole, ...]]:
    """What the pipeline calls: words to speakers (utterances), then speakers to roles.

    Args:
        transcript: ASR output with word timestamps.
        turns: diarization output (SpeakerTurn list).
        info: audio facts (layout decides channel-based roles).
        role_options: settings.roles.
        role_override: per-request speaker -> role.
        agent_channel: per-request agent channel for dual-channel calls.
    """
    from callytics_ray.alignment import align_words

    utterances = align_words(transcript, turns)
    return utterances, assign_roles(utterances, info, role_options, role_override, agent_channel)
