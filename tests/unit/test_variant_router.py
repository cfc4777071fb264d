"""The one rule that sends a call's A/B variant to a recognizer, in-process and on Serve."""

from __future__ import annotations

import pytest

from callytics_ray.errors import ConfigError
from callytics_ray.pipeline import VariantRouter


def test_a_call_without_a_variant_goes_to_the_default():
    assert VariantRouter(default="base", by_variant={"tiny": "tiny"}).route(None) == "base"
    assert VariantRouter(default="base", by_variant={"tiny": "tiny"}, strict=True).route(None) == "base"


def test_a_known_variant_goes_to_its_own_recognizer():
    router = VariantRouter(default="base", by_variant={"tiny": "tiny-model", "large": "large-model"})

    assert [router.route(v) for v in ("tiny", "large")] == ["tiny-model", "large-model"]


def test_an_unlisted_variant_shares_the_default_unless_strict():
    assert VariantRouter(default="base", by_variant={"tiny": "tiny"}).route("control") == "base"
    with pytest.raises(ConfigError, match="unknown speech-recognizer variant 'gone'; deployed: a, b"):
        VariantRouter(default="a", by_variant={"a": "a", "b": "b"}, strict=True).route("gone")
