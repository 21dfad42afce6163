"""How a recording is decoded and which segments are kept. One frozen value per model."""

from __future__ import annotations

from dataclasses import dataclass

from transcriber.chinese import has_cjk
from transcriber.lexicon import HEARD_ZH, LEXICON_ZH, combine

ZH_PROMPT = "以下是普通话的句子，号码零幺二三四五六七八九。"
"""An initial prompt in Simplified Chinese with full-width punctuation: the model
continues in the script and style it was shown. It shows a number written one Chinese
digit per syllable, and so shown the model writes a phone, ID or card number read digit
by digit that way too: it loses fewer digits than in Arabic ones, which go several to a
token (``transcriber.numbers`` then writes them in Arabic digits). Its words are what
no caller says and its digits no one's number (a count from 0 to 9), so that any copy
of them in the output is certainly an echo and is removed
(``guards.strip_prompt_echo``)."""


@dataclass(frozen=True, slots=True)
class Options:
    """Decoding and guard settings; the defaults are the measured best on 2 CPU cores."""

    beam_size: int = 5
    beam_size_zh: int | None = 3
    """Beam width for Mandarin (``None``: ``beam_size``). On natural Mandarin report
    calls beam 3 was both more accurate and faster than 5 (``bench/transcribe.py``:
    CER 0.074 against 0.078, x6.5 against x4.2 real time in the same run)."""
    batch_size: int = 8
    """Speech chunks decoded together (faster-whisper). 1 decodes one window at a time."""
    batched_languages: tuple[str, ...] = ("en", "zh")
    """Languages decoded in batches; the others sequentially. English (espeak-ng
    calls, base int8, 2 cores): batched x7-11 real time at the WER of sequential
    x5-6. Mandarin was kept sequential on espeak-ng's robotic speech (CER 0.73
    batched, 0.58 sequential); on natural speech (Kokoro, report calls, 8 kHz µ-law)
    batched is as accurate or better (``bench/transcribe.py``, transcriber/README.md)
    and cuts sentences where the speaker paused, so both are batched."""
    vad: bool = True
    """Skip non-speech with Silero VAD before decoding (silence, tones, most music)."""
    unheard_seconds: float | None = 2.0
    """Batched decoding can end a window early and leave the rest of its speech
    without text (18 s of a five-minute Mandarin call, on one machine's arithmetic). A
    stretch with no word in it where VAD hears at least this many seconds of speech is
    decoded again alone. ``None``: never."""
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4)
    """Fallback temperatures for sequential decoding; batched decoding uses the first."""
    hotwords: tuple[str, ...] = ()
    """Names and terms the model should prefer (company names, statistics terms)."""
    lexicon_zh: tuple[str, ...] = LEXICON_ZH
    """The hotline's vocabulary (``transcriber.lexicon``), hot words for every Mandarin
    recording after ``hotwords``; ``()`` turns it off."""
    soundalikes: bool = True
    """Rewrite a Mandarin run of characters that sounds like one of the recording's hot
    words (lexicon included) as that word (``transcriber.soundalike``: 快计 -> 会计)."""
    heard_zh: tuple[str, ...] = HEARD_ZH
    """Words a Mandarin transcript is also compared with for sound-alikes, without
    being shown to the model (``transcriber.lexicon.HEARD_ZH``); ``()`` for none."""
    prompt_zh: str = ZH_PROMPT
    prompt_en: str | None = None
    languages: tuple[str, ...] = ("zh", "en")
    """What ``language="auto"`` chooses from; empty for any language the model knows."""
    no_speech_threshold: float = 0.6
    """Drop a segment whose no-speech probability is above this and whose
    average log-probability is below ``logprob_threshold`` (Whisper's own rule)."""
    logprob_threshold: float = -1.0
    certain_no_speech: float = 0.85
    """Drop a segment whose no-speech probability is above this, however sure the text."""
    max_compression_ratio: float = 2.4
    """Drop a segment whose text compresses better than this (a phrase looping)."""
    max_duration: float = 4 * 3600.0
    """Longest recording accepted, in seconds; longer input is refused before decoding."""
    hallucinations: str | None = None
    """A phrase list file replacing the bundled ``data/hallucinations.txt``."""

    def __post_init__(self) -> None:
        # Lists from configuration files become tuples: the options stay hashable,
        # so ``transcriber.load`` can reuse a model loaded with the same ones.
        for name in (
            "temperatures",
            "hotwords",
            "languages",
            "batched_languages",
            "lexicon_zh",
            "heard_zh",
        ):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.temperatures:
            raise ValueError("Options.temperatures needs at least one temperature")

    def beam_for(self, language: str) -> int:
        if language == "zh" and self.beam_size_zh is not None:
            return self.beam_size_zh
        return self.beam_size

    def prompt_for(self, language: str) -> str | None:
        return self.prompt_zh if language == "zh" else self.prompt_en if language == "en" else None

    def hotwords_for(
        self, language: str, hotwords: tuple[str, ...] | None = None, extra: tuple[str, ...] = ()
    ) -> tuple[str, ...]:
        """The hot words of one recording: ``extra`` (a case's names), then ``hotwords``
        (``None``: the configured ones), then the lexicon of the language."""
        configured = self.hotwords if hotwords is None else hotwords
        lexicon = self.lexicon_zh if language == "zh" else ()
        return combine(extra, configured, lexicon)

    def hotword_text(self, language: str, hotwords: tuple[str, ...] | None = None) -> str | None:
        """The hot words as the model is shown them. Mandarin words follow each other
        with nothing between, as in running Chinese text (a space beside a word in
        Latin letters or digits): each ``、`` was one more token in the prompt of every
        window (the lexicon: 123 tokens instead of 149), and without them the CER was
        the same or lower on every set of calls measured (transcriber/README.md).
        Other languages: ``", "``."""
        words = self.hotwords if hotwords is None else hotwords
        if not words:
            return None
        if language != "zh":
            return ", ".join(words)
        text = words[0]
        for word in words[1:]:
            text += word if has_cjk(text[-1]) and has_cjk(word[0]) else f" {word}"
        return text
