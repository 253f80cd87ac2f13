"""Property-based: random malformed input gets a clear error, never a crash or a wrong answer."""

from __future__ import annotations

import json
import re

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import report, results
from listrank import data as ml
from tests.movielens_files import write_movielens

MOVIES = 20
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])

valid_field = {
    "user": st.integers(1, 10_000),
    "movie": st.integers(1, MOVIES),
    "rating": st.integers(1, 5),
    "time": st.integers(0, 2**31),
}
junk = st.one_of(
    st.text(alphabet="abc.-+ eE\u00e9", min_size=1, max_size=4),
    st.integers(-5, -1).map(str),
    st.just(""),
)


@st.composite
def rows(draw):
    """(line text, is_valid, (user, movie, rating)) for one u.data row."""
    user, movie, rating, stamp = (draw(valid_field[k]) for k in ("user", "movie", "rating", "time"))
    fields = [str(user), str(movie), str(rating), str(stamp)]
    mutation = draw(st.sampled_from(["none", "none", "drop", "extra", "junk", "rating", "movie"]))
    if mutation == "drop":
        fields.pop(draw(st.integers(0, 3)))
    elif mutation == "extra":
        fields.append(draw(st.integers(0, 9)).__str__())
    elif mutation == "junk":
        fields[draw(st.integers(0, 3))] = draw(junk)
    elif mutation == "rating":
        fields[2] = str(draw(st.one_of(st.integers(-3, 0), st.integers(6, 99))))
    elif mutation == "movie":
        fields[1] = str(draw(st.integers(MOVIES + 1, 5000)))
    valid = mutation == "none"
    return "\t".join(fields), valid, (user, movie, rating)


@SETTINGS
@given(st.lists(rows(), min_size=1, max_size=12, unique_by=lambda r: r[2][0]))
def test_malformed_ratings_give_a_clear_error_or_exactly_the_valid_rows(tmp_path_factory, table):
    folder = write_movielens(tmp_path_factory.mktemp("ml"), [], {m: f"M{m}" for m in range(1, MOVIES + 1)})
    (folder / "u.data").write_text("\n".join(line for line, _, _ in table) + "\n")
    bad_lines = {i + 1 for i, (_, valid, _) in enumerate(table) if not valid}
    try:
        loaded = ml.load_movielens(folder, allow_unverified=True)
    except ml.DataError as error:
        assert bad_lines, f"valid data refused: {error}"
        message = str(error)
        assert "u.data" in message and "\n" not in message
        reported = re.search(r"line (\d+)", message)
        assert reported and int(reported.group(1)) in bad_lines, message
        return
    # Accepted: only possible when every row is valid; then the values are exact.
    assert not bad_lines, f"malformed lines {sorted(bad_lines)} accepted"
    expected = np.array([values for _, _, values in table])
    np.testing.assert_array_equal(np.stack([loaded.user_id, loaded.movie_id, loaded.rating], 1), expected)


def _valid_document():
    run = {key: None for key in results.RUN_KEYS}
    run.update(loss="mse", seed=42, status="ok", compile_s=1.0, lists_per_s=10.0, items_per_s=50.0,
               step_ms={"median": 2.0, "p10": 1.0, "p90": 3.0, "n": 4}, peak_rss_mb=100.0,
               test={"ndcg@5": 0.9}, test_random={"ndcg@5": 0.89}, step_samples_ms=[1.0, 2.0])
    return {"schema": results.SCHEMA, "backend": "jax", "created": "2026-01-01T00:00:00+00:00",
            "versions": {"keras": "3"}, "machine": {"cpu": "x", "gpu": None},
            "config": {"protocol": "intended", "epochs": 5, "dataset": {"name": "ml-100k"}},
            "runs": [run]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)


@st.composite
def corrupted_documents(draw):
    document = _valid_document()
    run = document["runs"][0]
    how = draw(st.sampled_from(["replace_top", "replace_run", "delete_top", "delete_run", "truncate", "random"]))
    if how == "replace_top":
        document[draw(st.sampled_from(sorted(document)))] = draw(json_values)
    elif how == "replace_run":
        run[draw(st.sampled_from(sorted(run)))] = draw(json_values)
    elif how == "delete_top":
        del document[draw(st.sampled_from(sorted(document)))]
    elif how == "delete_run":
        del run[draw(st.sampled_from(sorted(run)))]
    elif how == "random":
        return json.dumps(draw(json_values))
    text = json.dumps(document)
    if how == "truncate":
        text = text[: draw(st.integers(0, len(text) - 1))]
    return text


@SETTINGS
@given(corrupted_documents())
def test_malformed_results_give_a_clear_error_or_render(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("r") / "r.json"
    path.write_text(text)
    try:
        document = results.load(path)
    except results.ResultsError as error:
        assert str(error).startswith(str(path)) and "\n" not in str(error)
        return
    markdown = report.render([(path, document)])  # whatever passes validation must render
    assert "# listrank benchmark results" in markdown
