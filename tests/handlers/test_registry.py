"""The handler registry: selection by `SONORAN_HANDLERS`, checks at start, failures logged."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from handlers import registry
from handlers.registry import build_plan, register
from sonoran_receiver.config import WORKER_TARGET, ConfigError, Settings, load_settings
from sonoran_receiver.publishing.message import CanonicalEvent

EVENT = CanonicalEvent.create(
    "EVENT_911", {"call": {"callId": 318, "caller": "Sam Poe"}}, server=None
)


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Handlers registered by a test vanish after it: the built-ins stay, nothing else."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry.registered()))


def settings(handlers: str, **more: str) -> Settings:
    return load_settings({"SONORAN_HANDLERS": handlers, **more}, WORKER_TARGET)


def names(plan: registry.HandlerPlan, event_type: str) -> list[str]:
    return [handler.name for handler in plan.for_type(event_type)]


def test_default_runs_log_for_every_type() -> None:
    plan = build_plan(load_settings({}, WORKER_TARGET))
    assert names(plan, "EVENT_911") == ["log"]
    assert names(plan, "EVENT_SOMETHING_NEW") == ["log"]


def test_handlers_are_selected_per_type_with_star_and_unknown() -> None:
    plan = build_plan(
        settings(
            "EVENT_911=log+discord,EVENT_UNIT_PANIC=discord,UNKNOWN=log",
            DISCORD_WEBHOOK_URL="https://discord.example/api/webhooks/1/t",
        )
    )
    assert names(plan, "EVENT_911") == ["log", "discord"]
    assert names(plan, "EVENT_UNIT_PANIC") == ["discord"]
    assert names(plan, "EVENT_SOMETHING_NEW") == ["log"]
    assert names(plan, "EVENT_UNIT_STATUS") == []


def test_handler_named_twice_for_a_type_refuses_the_start() -> None:
    with pytest.raises(ConfigError) as refused:
        build_plan(settings("*=log+log"))
    assert refused.value.variable == "SONORAN_HANDLERS"


def test_unknown_handler_refuses_the_start_listing_the_registered_ones() -> None:
    with pytest.raises(ConfigError) as refused:
        build_plan(settings("EVENT_911=dicsord"))
    assert refused.value.variable == "SONORAN_HANDLERS"
    assert "'dicsord'" in refused.value.problem
    assert "discord, forward, log" in refused.value.problem


def test_forward_needs_both_its_url_and_its_secret() -> None:
    with pytest.raises(ConfigError) as refused:
        build_plan(settings("*=forward", FORWARD_URL="https://example.org/hook"))
    assert refused.value.variable == "FORWARD_SECRET"


@pytest.mark.usefixtures("scratch_registry")
def test_handler_registered_for_some_types_runs_only_for_them() -> None:
    seen: list[str] = []

    @register("panic_only", types=("EVENT_UNIT_PANIC",))
    def panic_only(event: CanonicalEvent, settings: Settings) -> None:
        seen.append(event.type)

    plan = build_plan(settings("*=panic_only"))
    assert names(plan, "EVENT_UNIT_PANIC") == ["panic_only"]
    assert names(plan, "EVENT_911") == []
    with pytest.raises(ConfigError) as refused:
        build_plan(settings("EVENT_911=panic_only"))
    assert "does not handle EVENT_911" in refused.value.problem


@pytest.mark.parametrize(
    "bad_registration",
    [
        lambda: register("Not-A-Name"),
        lambda: register("x", requires=("NO_SUCH_VARIABLE",)),
        lambda: register("x", types=("EVENT_NOPE",)),
        lambda: register("log")(lambda event, settings: None),
    ],
    ids=["name", "requires", "types", "twice"],
)
@pytest.mark.usefixtures("scratch_registry")
def test_bad_registration_fails_at_import(bad_registration: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        bad_registration()


@pytest.mark.usefixtures("scratch_registry")
def test_failing_handler_is_logged_with_type_and_event_id_and_others_still_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ran: list[str] = []

    @register("explodes")
    def explodes(event: CanonicalEvent, settings: Settings) -> None:
        raise RuntimeError("https://secret.example/token " + event.data["call"]["caller"])

    @register("after")
    def after(event: CanonicalEvent, settings: Settings) -> None:
        ran.append(event.event_id)

    assert build_plan(settings("*=explodes+after")).run(EVENT) == ["explodes"]
    assert ran == [EVENT.event_id]
    [line] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert line == {
        "severity": "ERROR",
        "message": "handler failed",
        "handler": "explodes",
        "type": "EVENT_911",
        "event_id": EVENT.event_id,
        "error": "RuntimeError",
    }
