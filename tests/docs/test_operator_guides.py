"""The guides an admin follows before and after the first deploy keep their promises.

Before you start (docs/before-you-start.md) is reached from the README's first screen, says
what Sonoran CAD needs with links to Sonoran's docs, where to run the commands, and the whole
monthly cost in one table whose figures add up and cite Google's pricing pages. Every
documented re-run of deploy/gcloud.sh is a complete command, and no page suggests
acknowledging what a replay still needs.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from tests.support.app import ROOT

DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
BEFORE = (DOCS / "before-you-start.md").read_text(encoding="utf-8")
TFVARS_EXAMPLE = (ROOT / "deploy" / "terraform" / "terraform.tfvars.example").read_text(
    encoding="utf-8"
)
# Cloud Run's idle rate for minimum instances (Tier 1), per vCPU-second and per GiB-second.
IDLE_CPU = Decimal("0.0000025")
IDLE_MEMORY = Decimal("0.0000025")
MONTH_SECONDS = 730 * 3600


def section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def cost_rows() -> dict[str, str]:
    """The cost table: first cell -> last cell."""
    rows = {}
    for line in section(BEFORE, "What it costs a month").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and not set(cells[0]) <= {"-"}:
            rows[cells[0]] = cells[2]
    return rows


def dollars(cell: str) -> Decimal:
    return Decimal(re.findall(r"\$(\d+\.\d\d)", cell)[0])


def row(label_start: str) -> str:
    [found] = [value for label, value in cost_rows().items() if label.startswith(label_start)]
    return found


def test_before_you_start_is_linked_from_the_readmes_first_screen() -> None:
    # A terminal's first screen: the two set-up commands come first, this link right after.
    first_screen = "\n".join(README.splitlines()[:24])
    assert "(docs/before-you-start.md)" in first_screen


def test_before_you_start_says_what_sonoran_cad_needs_with_links_to_sonorans_docs() -> None:
    needs = section(BEFORE, "What Sonoran CAD needs")
    for fact in (
        "Plus or higher",
        "`Advanced` > `In-Game Integration`",
        '"enablePushEventForwarding": true',
        '"pushEventForwardUrl"',
        "restart sonorancad",
    ):
        assert fact in needs, fact
    sonoran = set(re.findall(r"\((https://docs\.sonoransoftware\.com/[^)]+)\)", needs))
    assert "https://docs.sonoransoftware.com/cad/api-integration/push-events" in sonoran
    assert len(sonoran) >= 3


def test_before_you_start_deploys_from_cloud_shell_and_runs_locally_in_wsl() -> None:
    where = section(BEFORE, "Where to run the commands")
    assert "Cloud Shell" in where
    assert "deploy/gcloud.sh --project YOUR_PROJECT_ID --region us-central1 --dry-run" in where
    assert "wsl --install" in where


def test_the_monthly_cost_table_adds_up() -> None:
    monitoring = dollars(row("Monitoring"))
    warm = dollars(row("A warm instance"))
    direct = dollars(row("Direct delivery"))
    armor = dollars(row("... with its Cloud Armor"))
    assert (monitoring, direct, armor) == (Decimal("9.30"), Decimal("18.25"), Decimal("25.33"))
    assert dollars(row("**Default deployment**")) == monitoring
    assert dollars(row("**Everything on**")) == monitoring + warm + armor
    assert "$0" in row("The base deployment")


def test_the_warm_instance_price_is_one_idle_vcpu_and_half_a_gib_for_a_month() -> None:
    price = (IDLE_CPU * 1 + IDLE_MEMORY * Decimal("0.5")) * MONTH_SECONDS
    assert dollars(row("A warm instance")) == price.quantize(Decimal("0.01"))


def test_tfvars_example_states_the_warm_instance_price_where_it_recommends_it() -> None:
    before_setting = TFVARS_EXAMPLE.split("\nmin_instance_count", 1)[0]
    comment = before_setting.rsplit("\n\n", 1)[1]
    assert "Recommended" in comment
    assert f"${dollars(row('A warm instance'))} a month" in comment


def test_the_cost_cites_googles_pricing_pages() -> None:
    cited = set(re.findall(r"\((https://cloud\.google\.com/[a-z-]+/pricing)\)", BEFORE))
    for product in ("run", "pubsub", "secret-manager", "build", "stackdriver", "armor"):
        assert f"https://cloud.google.com/{product}/pricing" in cited, product
    assert "https://cloud.google.com/load-balancing/pricing" in cited


def gcloud_script_commands() -> list[tuple[Path, str]]:
    """Every deploy/gcloud.sh command the guides show: code-block lines and inline code."""
    found = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        blocks = text.split("```")
        for block in blocks[1::2]:
            joined = block.replace("\\\n", " ")
            found += [
                (page, line) for line in joined.splitlines() if line.startswith("deploy/gcloud.sh ")
            ]
        for prose in blocks[0::2]:
            found += [
                (page, " ".join(span.split()))
                for span in re.findall(r"`(deploy/gcloud\.sh [^`]+)`", prose)
            ]
    return found


def test_every_documented_run_of_the_gcloud_script_is_a_complete_command() -> None:
    # With the project and the region, the rest comes from the record, and a region or
    # prefix that differs from it is refused: the command cannot quietly build elsewhere.
    commands = [
        (page, command) for page, command in gcloud_script_commands() if "--help" not in command
    ]
    assert len(commands) >= 8
    for page, command in commands:
        assert "--project " in command, (page.name, command)
        assert "--region " in command, (page.name, command)


def test_no_page_suggests_acknowledging_dead_letters_or_quarantined_events() -> None:
    texts = {page.name: page.read_text(encoding="utf-8") for page in DOCS.glob("*.md")}
    texts["outputs.tf"] = (ROOT / "deploy" / "terraform" / "outputs.tf").read_text(encoding="utf-8")
    for name, text in texts.items():
        for pull in re.findall(r"gcloud pubsub subscriptions pull [^\n`\"(]*", text):
            target = pull.split()[4]
            if "dead-letter" in target or "quarantine" in target or target == "<this>":
                assert "--auto-ack" not in pull, (name, pull)


def test_the_cloud_armor_note_says_the_function_url_is_not_throttled() -> None:
    rate_limiting = section(
        (DOCS / "direct-delivery.md").read_text(encoding="utf-8"), "Rate limiting"
    )
    assert "direct-delivery address only" in rate_limiting
    assert "`run.app` URL stays public" in rate_limiting
    assert "`max_instance_count` is the only cap" in rate_limiting


def test_deploy_guide_says_which_gcloud_tracks_and_that_apt_installs_have_them() -> None:
    before = section((DOCS / "deploy.md").read_text(encoding="utf-8"), "Before you start")
    flat = " ".join(before.split())
    assert "`gcloud monitoring policies`" in flat
    assert "apt or dnf" in flat
    assert "component manager is disabled" in flat
