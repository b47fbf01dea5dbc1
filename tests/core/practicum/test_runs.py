"""A run's result as a record: JSON round trip, foreign files refused, results stored by earlier versions read."""

import json

import pytest

from core.practicum.runs import RESULT_FORMAT, RunConfig, RunResult

# a result exactly as the lab stored it before results had a format name (a dict with string keys):
# the configuration is what RunConfig held then, with every field written
LEGACY = {
    "model": "fc", "permuted": True, "dataset": "mnist", "params": 6442, "accuracy": 85.9, "test_loss": 0.47,
    "train_seconds": 12.5, "eval_seconds": 0.8, "device": "cpu", "device_name": "CPU (2 threads)", "threads": 2,
    "epochs": [{"epoch": 1, "accuracy": 85.9, "test_loss": 0.47}], "per_class": [90.0] * 10,
    "losses": [2.3, 1.1, 0.6], "report_every": 25, "filters": None, "erf": None, "trained_with": None,
    "config": {"model": "fc", "permuted": True, "dataset": "mnist", "epochs": 1, "lr": 0.01, "momentum": 0.5,
               "batch_size": 64, "seed": 0, "width": 8, "train_size": None, "perm_seed": 0, "perm_fraction": 1.0,
               "m1d_translation": None, "m1d_noise": None},
}
LEGACY["key"] = RunConfig(**LEGACY["config"]).key()


def test_a_result_stored_before_the_format_had_a_name_still_reads():
    r = RunResult.from_json(json.dumps(LEGACY), LEGACY["key"])
    assert (r.model, r.permuted, r.dataset, r.accuracy, r.params) == ("fc", True, "mnist", 85.9, 6442)
    assert r.config == RunConfig(model="fc", permuted=True, width=8)
    assert r.epochs[0]["test_loss"] == 0.47 and r.losses == [2.3, 1.1, 0.6] and r.filters is None
    # fields an early version did not write take their defaults
    early = {k: v for k, v in LEGACY.items() if k not in ("report_every", "erf", "epochs", "threads")}
    r = RunResult.from_dict(early)
    assert r.report_every == 25 and r.erf is None and r.epochs == [] and r.threads == 0


def test_json_round_trip_and_what_the_file_holds():
    r = RunResult.from_dict(LEGACY)
    d = json.loads(r.to_json())
    assert d["format"] == RESULT_FORMAT and d["key"] == LEGACY["key"]
    assert {k: d[k] for k in LEGACY} == LEGACY  # every field a reader of the old files used, unchanged
    assert RunResult.from_json(r.to_json()) == r


@pytest.mark.parametrize("change, why", [
    ({"format": "someone-else/2"}, "format"),
    ({"format": None}, "format"),
    ({"key": "0123456789abcdef"}, "key does not match"),
    ({"model": "cnn"}, "model does not match"),
    ({"accuracy": "99"}, "accuracy has the wrong type"),
    ({"params": 6442.5}, "params has the wrong type"),
    ({"params": True}, "params has the wrong type"),
    ({"accuracy": float("nan")}, "accuracy outside"),
    ({"config": {"model": "fc", "layers": 3}}, "unknown settings"),
    ({"config": "fc"}, "configuration"),
])
def test_foreign_or_damaged_records_are_refused(change, why):
    with pytest.raises(ValueError, match=why):
        RunResult.from_dict({**LEGACY, **change})


def test_a_record_without_format_or_key_is_not_ours_and_one_of_another_configuration_is_refused():
    with pytest.raises(ValueError, match="not a training result"):
        RunResult.from_dict({k: v for k, v in LEGACY.items() if k != "key"})
    with pytest.raises(ValueError, match="missing losses"):
        RunResult.from_dict({k: v for k, v in LEGACY.items() if k != "losses"})
    with pytest.raises(ValueError, match="another configuration"):
        RunResult.from_dict(LEGACY, RunConfig(model="cnn").key())
    for text in ("[]", "null", "3"):
        with pytest.raises(ValueError):
            RunResult.from_json(text)


def test_a_progress_event_is_read_back_as_it_was_written():
    from core.practicum.runs import Progress

    made = Progress()
    made.start(100)
    made.report(40, 0.5, 80.0)
    event = made.event("k1")
    assert event["key"] == "k1" and event["step"] == 40  # a Dask event: plain values
    seen = Progress()
    assert seen.follow_event(event) and (seen.step, seen.total, seen.loss, seen.accuracy) == (40, 100, 0.5, 80.0)
    assert not seen.follow_event(event)  # an older or repeated report moves nothing
    assert not seen.follow_event(Progress.start_event("k1", "CPU")) and seen.step == 40


def test_training_settings_left_out_are_the_data_sets_and_keys_stay_as_stored():
    from core.practicum.datasets import spec
    from core.practicum.runs import RunConfig

    one_d = RunConfig(model="fc", dataset="mnist1d")
    assert (one_d.epochs, one_d.lr, one_d.momentum) == (spec("mnist1d").epochs, spec("mnist1d").lr,
                                                         spec("mnist1d").momentum)
    assert one_d == RunConfig(model="fc", dataset="mnist1d", epochs=spec("mnist1d").epochs, lr=spec("mnist1d").lr,
                              momentum=spec("mnist1d").momentum)
    # an MNIST configuration keeps the key it was stored under when MNIST's settings were the class's defaults
    assert RunConfig(model="fc").key() == "ca7429cf00d3c196"
