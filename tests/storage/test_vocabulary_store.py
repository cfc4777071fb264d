"""A tenant's vocabulary in the store, on SQLite and PostgreSQL: versions per tenant, kept apart
from rubrics and category sets that share the versioned-config table."""

from __future__ import annotations

import pytest

from callytics_ray.errors import NotFoundError
from tests.storage.test_analytics_store import rubric
from tests.storage.test_store import store  # noqa: F401  (the SQLite / PostgreSQL store fixture)


def test_each_put_is_a_new_version_of_the_tenants_vocabulary(store):
    assert store.get_vocabulary(tenant="acme").model_dump() == {
        "terms": [], "version": 0, "created_at": None, "created_by": None}
    first = store.put_vocabulary(["Zentrafy", "Callytics Pro"], tenant="acme", created_by="ab12cd34")
    store.put_rubric(rubric(), tenant="acme")  # the same table, another kind: its versions are its own
    second = store.put_vocabulary(["Whittemore"], tenant="acme")
    assert (first.version, second.version) == (1, 2) and first.created_at.tzinfo is not None
    assert store.get_vocabulary(tenant="acme").terms == ["Whittemore"]
    assert store.get_vocabulary(tenant="acme", version=1).model_dump(exclude={"created_at"}) == {
        "terms": ["Zentrafy", "Callytics Pro"], "version": 1, "created_by": "ab12cd34"}
    assert store.get_rubric("sales", tenant="acme").version == 1
    assert store.get_vocabulary(tenant="globex").version == 0
    with pytest.raises(NotFoundError, match="vocabulary version 3 not found"):
        store.get_vocabulary(tenant="acme", version=3)


def test_the_versions_come_newest_first_per_tenant_and_limited(store):
    for terms in (["Zentrafy"], ["Zentrafy", "Whittemore"], ["Whittemore"]):
        store.put_vocabulary(terms, tenant="acme", created_by="ab12cd34")
    store.put_vocabulary(["Globex One"], tenant="globex")
    store.put_rubric(rubric(), tenant="acme")
    assert [(v.version, v.terms) for v in store.vocabulary_versions(tenant="acme")] == [
        (3, ["Whittemore"]), (2, ["Zentrafy", "Whittemore"]), (1, ["Zentrafy"])]
    assert [v.version for v in store.vocabulary_versions(tenant="acme", limit=2)] == [3, 2]
    assert store.vocabulary_versions(tenant="initech") == []
