"""A rescoring backfill on Ray actors judges the rubric's llm items: each worker builds its own
LLM judge from the settings it is given and reaches the (real, local) OpenAI-protocol server."""

from __future__ import annotations

from callytics_ray.backfill import BackfillRunner
from callytics_ray.storage import CallStore
from deployments.backfill import RayChunkExecutor
from tests.analytics.test_llm_judge import COMPLAINT, assert_judged, judged_rescore
from tests.nlp.conftest import chat_server, llm_server  # noqa: F401 (the server fixtures)
from tests.nlp.llm_server import quoting_judge, with_llm


def test_ray_workers_judge_llm_items_with_the_quoted_words(ray_driver, tmp_path, settings, llm_server):
    store = CallStore.from_url(f"sqlite:///{tmp_path / 'calls.db'}")
    ids, job_id = judged_rescore(store, 4)
    llm_server.judge_reply = quoting_judge(COMPLAINT)
    executor = RayChunkExecutor(store.engine.url.render_as_string(hide_password=False), workers=2, num_cpus=0.25,
                                settings=with_llm(settings, llm_server.base_url))
    try:
        assert BackfillRunner(store, executor, lease_s=30).drive(job_id).status == "done"
    finally:
        executor.close()

    assert len(llm_server.requests) == 4  # one per call, from the actors
    assert_judged(store, ids)
