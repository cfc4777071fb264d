"""Custom vocabulary terms as every layer reads them: parsed from a form field, cleaned, limited,
merged (no models)."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from callytics_ray.vocabulary import MAX_REQUEST_TERMS, MAX_TENANT_TERMS, RequestTerms, TenantTerms, merge_terms, parse_terms

TENANT = TypeAdapter(TenantTerms)


def test_a_form_field_is_a_json_list_or_comma_separated():
    assert parse_terms('["Callytics Pro", "Acme, Inc."]') == ["Callytics Pro", "Acme, Inc."]
    assert parse_terms(" Zentrafy, Callytics Pro ,, ") == ["Zentrafy", " Callytics Pro "]
    assert parse_terms(["Zentrafy"]) == ["Zentrafy"]
    with pytest.raises(ValueError, match="not one"):
        parse_terms("[Zentrafy")


def test_terms_are_cleaned_and_each_kept_once_in_its_first_spelling():
    assert TENANT.validate_python(["  Callytics   Pro ", "callytics pro", "Zentrafy", "ZENTRAFY"]) == [
        "Callytics Pro", "Zentrafy"]
    assert merge_terms(["Whittemore"], ["Zentrafy", "whittemore"]) == ("Whittemore", "Zentrafy")


@pytest.mark.parametrize("terms, reason", [
    (["x" * 65], "at most 64 characters"),
    (["--"], "needs a letter or digit"),
    (["Zen\x00trafy"], "control characters"),
    ([""], "needs a letter or digit"),
    ([3], "valid string"),
    ([f"term {i}" for i in range(MAX_TENANT_TERMS + 1)], f"at most {MAX_TENANT_TERMS} items"),
])
def test_nonsense_is_refused_with_the_reason(terms, reason):
    with pytest.raises(ValidationError, match=reason):
        TENANT.validate_python(terms)


def test_a_request_brings_fewer_terms_than_a_tenant():
    TypeAdapter(RequestTerms).validate_python([f"t{i}" for i in range(MAX_REQUEST_TERMS)])
    with pytest.raises(ValidationError, match=f"at most {MAX_REQUEST_TERMS} items"):
        TypeAdapter(RequestTerms).validate_python([f"t{i}" for i in range(MAX_REQUEST_TERMS + 1)])
