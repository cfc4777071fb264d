"""What each headline flag (`callytics_ray.headline.CallFlag`) is called on the console, and why a
call has it: the one place that words the flags for people."""

from __future__ import annotations

from dataclasses import dataclass

from callytics_ray.headline import AGENT_INTERRUPTIONS, LONG_SILENCE_S, CallFlag


@dataclass(frozen=True, slots=True)
class FlagLabel:
    """A flag as a reviewer reads it: a short badge text and the sentence its title shows."""

    value: str
    label: str
    explanation: str


FLAG_LABELS: dict[str, FlagLabel] = {
    label.value: label
    for label in (
        FlagLabel(CallFlag.CONFLICT.value, "Conflict", "The analysis found an argument or an escalation."),
        FlagLabel(CallFlag.NEGATIVE_CUSTOMER.value, "Unhappy customer",
                  "The customer's overall sentiment is negative."),
        FlagLabel(CallFlag.UNRESOLVED.value, "Unresolved", "The customer's issue was not resolved on the call."),
        FlagLabel(CallFlag.LONG_SILENCE.value, "Long silence",
                  f"A silence of {LONG_SILENCE_S:g} s or more (an unannounced hold?)."),
        FlagLabel(CallFlag.INTERRUPTIONS.value, "Interruptions",
                  f"The agent interrupted the customer {AGENT_INTERRUPTIONS} times or more."),
        FlagLabel(CallFlag.PII.value, "Personal data", "Personal data was found in the transcript (and redacted)."),
        FlagLabel(CallFlag.STAGE_ERROR.value, "Stage failed", "A processing stage failed: the analysis is partial."),
    )
}


def flag_label(value: str) -> FlagLabel:
    """The label of a stored flag value (a value this release does not know is shown as it is)."""
    return FLAG_LABELS.get(value) or FlagLabel(value, value.replace("_", " ").capitalize(), value)
