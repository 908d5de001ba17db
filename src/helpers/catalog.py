"""The stage catalog: every stage of a period's flow (number, notebook, the products it reads and
writes, the source kinds it needs) and every product (its file and what it holds), stated once.

The runner derives the order, the parallel lanes, the skipped stages and ``--only``'s downstream
stages from it; notebooks get every product path from :class:`StageRun`, which refuses a product the
stage does not declare; the report's links and the data dictionary come from it; a test checks the
table against what each notebook opens when the tiny fixture chain runs. No product file name is
spelled anywhere else.

A product is named by its key (``rfm``) or, for one per source, key and source (``clean:transactions``).
In a stage's reads and writes a trailing ``?`` marks a product that may be absent (an optional source,
a stage that may be skipped); without it the product must exist.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from helpers import paths
from helpers.config import LATEST, Params, list_periods, load_params
from helpers.privacy import encryption, permissions
from helpers.schema import OTHER_KINDS

LOG_ENV = "CA_CATALOG_LOG"  # a file: every product a notebook asks for is appended to it (tests)


class CatalogError(RuntimeError):
    """A notebook asked for a product its stage does not declare: fix the catalog or the notebook."""


class ProductError(RuntimeError):
    """An earlier stage's product is missing or unreadable; the message names the stage to re-run."""


@dataclass(frozen=True)
class Product:
    """One data product: its file (``{source}`` for one per source kind) and what it holds."""

    key: str
    file: str
    description: str
    customer_level: bool = False  # one row (or more) per customer: personal data
    in_report: bool = False  # published under reports/<dataset>/<period>/ instead of data/processed/
    # Facts that list single source rows (their row numbers and values) without being a customer table:
    # encrypted like the customer-level products.
    row_level: bool = False

    @property
    def personal(self) -> bool:
        """Whether the product holds personal data (customer rows or single source rows): encrypted
        when privacy.encrypt_products (privacy.encrypt_exports for the exports) is on."""
        return self.customer_level or self.row_level

    def file_for(self, source: str | None) -> str:
        if ("{source}" in self.file) != (source is not None):
            raise CatalogError(
                f"product '{self.key}' "
                + (
                    "is one per source: name it as '{self.key}:<source>'"
                    if source is None
                    else "is not one per source; name it without ':'"
                )
            )
        return self.file.format(source=source) if source else self.file


PRODUCTS: dict[str, Product] = {
    p.key: p
    for p in [
        Product(
            "ingested",
            "01_{source}.parquet",
            "the source's rows as received: mapped columns (text, or a typed "
            "source's timestamps and amounts), source_file and source_row; identifiers never copied",
            True,
        ),
        Product(
            "ingest_facts",
            "01_ingest.json",
            "what ingest read: sources, rows, column mapping, columns not copied",
        ),
        Product("clean", "02_{source}.parquet", "the rows cleaning kept, typed, with provenance", True),
        Product(
            "rejected",
            "02_{source}_rejected.parquet",
            "the rows cleaning set aside: original values, provenance and a reason code",
            True,
        ),
        Product(
            "quality",
            "02_quality.json",
            "rows in = kept + rejected by reason, and the flags cleaning set (with example rows)",
            row_level=True,
        ),
        Product(
            "rfm",
            "03_rfm.parquet",
            "per customer: recency, frequency, monetary value, R/F/M scores, segment",
            True,
        ),
        Product(
            "rfm_cut_points",
            "03_rfm_cutpoints.json",
            "the values that separate the R, F and M scores, the purchase cycle, and the customers left out "
            "because they only returned goods",
        ),
        Product(
            "segments", "03_segments.parquet", "per segment: its rule, customers, revenue, meaning and action"
        ),
        Product(
            "engagement",
            "04_engagement.parquet",
            "per customer (and potential customer): sessions, active days, views, searches, carts, last "
            "seen, channel shares, top category, browse-to-buy ratio",
            True,
        ),
        Product(
            "funnel",
            "04_funnel.parquet",
            "browse-to-buy funnel: sessions and customers reaching each step, conversion and drop-off, "
            "overall and by channel, segment and new/returning",
        ),
        Product(
            "search_terms", "04_search.parquet", "search terms: searches, sessions, conversion to purchase"
        ),
        Product("activity", "04_activity.parquet", "sessions and events by weekday and hour of the day"),
        Product("page_heat", "04_pages.parquet", "the most visited pages and products with their conversion"),
        Product(
            "channel_mix", "04_channels.parquet", "visits, buyers and purchases by channel (web, app, store)"
        ),
        Product(
            "pipeline",
            "04_pipeline.parquet",
            "sales pipeline per stage: leads entering, conversion to the next, median days in stage, "
            "weighted open value",
        ),
        Product(
            "pipeline_groups",
            "04_pipeline_groups.parquet",
            "sales pipeline by lead source, campaign and month of creation: leads, won, win rate",
        ),
        Product(
            "behaviour_facts",
            "04_behaviour.json",
            "the behaviour stage's figures for the page: sessions, the largest funnel drop, the pipeline's "
            "bottleneck, what was measured and what the dataset lacks",
        ),
        Product(
            "voice",
            "05_voice.parquet",
            "per customer: contacts by channel and direction, last contact, complaints (open), latest NPS, "
            "CSAT and stars",
            True,
        ),
        Product(
            "contacts",
            "05_contacts.parquet",
            "contacts by channel and direction: contacts and customers in the period and the last 12 months, "
            "median minutes",
        ),
        Product(
            "satisfaction",
            "05_satisfaction.parquet",
            "NPS, CSAT and stars with counts and NPS intervals: the period, the last 12 months, by segment "
            "and main order channel (12 months), by month",
        ),
        Product(
            "complaints",
            "05_complaints.parquet",
            "complaints by category (period, last 12 months): count, open, resolved, median days to resolve, "
            "repeat complainers; no complaint text",
        ),
        Product(
            "voice_value",
            "05_voice_value.parquet",
            "churn of customers with an unresolved complaint vs a resolved one and vs none, detractors vs "
            "promoters: counts, rates, ratio, test",
        ),
        Product(
            "voice_facts",
            "05_voice.json",
            "the voice stage's figures for the page: the complaint classifier and its accuracy, the tests' "
            "verdicts, what the dataset lacks",
        ),
        Product(
            "basket_rules",
            "06_rules.parquet",
            "association rules between products and between categories, on every basket and per RFM "
            "segment: support, confidence, lift, leverage, conviction and the baskets behind each",
        ),
        Product(
            "next_best_product",
            "06_next_best_product.parquet",
            "per customer: the product to offer next, the rule behind it (what they bought) and its lift",
            True,
        ),
        Product(
            "basket_facts",
            "06_basket.json",
            "the baskets mined per level and segment (all or a sample), items per basket, the thresholds",
        ),
        Product(
            "clv", "07_clv.parquet", "per customer: model inputs, P(alive), expected purchases, CLV", True
        ),
        Product(
            "clv_model",
            "07_model.json",
            "the purchase and spend models: comparison on the holdout, fits, status",
        ),
        Product(
            "clv_holdout",
            "07_clv_holdout.parquet",
            "holdout check by calibration repeat purchases: customers, actual and expected per model",
        ),
        Product("clusters", "08_clusters.parquet", "per customer: cluster number and name", True),
        Product("personas", "08_personas.parquet", "per cluster: size, share of value, centre and profile"),
        Product(
            "scores",
            "09_scores.parquet",
            "per customer: score 0-100, tier, two main drivers, status",
            True,
        ),
        Product(
            "score_facts",
            "09_scores.json",
            "how the score was built: the weights of the indicators used, their direction, missing values",
        ),
        Product(
            "churn_warning",
            "09_churn_warning.parquet",
            "every customer at risk or lapsed, largest value at stake first",
            True,
        ),
        Product(
            "churn_model",
            "09_churn_model.json",
            "the churn scores compared on a holdout (ROC AUC, PR AUC, Brier, reliability), the one chosen as "
            "the churn risk and why, and the features that drive the gradient boosting",
        ),
        Product(
            "actions",
            "09_actions.parquet",
            "the lists to act on in the next period: list, customer, group (contact or hold out), occasion",
            True,
        ),
        Product(
            "action_facts",
            "09_actions.json",
            "the action lists' period, hold-out share, customers to contact and held out per list, and the "
            "lists the dataset cannot have with the reason",
        ),
        Product(
            "action_effects",
            "09_action_effects.parquet",
            "the compared period's lists against their hold-outs on this period's orders: shares who "
            "ordered again, revenue per customer, intervals, verdicts",
        ),
        Product(
            "headline",
            "10_headline.json",
            "the period's headline numbers and status counts, raw and as reports/index.html shows them",
        ),
        Product(
            "exports",
            "exports",
            "lists for a CRM or an e-mail tool (CSV, Excel) and their data dictionary",
            True,
            in_report=True,
        ),
    ]
}


@dataclass(frozen=True)
class Stage:
    """One numbered notebook: what it needs, reads and writes (product references, ``?`` = optional).
    ``needs``: the stage runs when any of these source kinds (``events``) or mapped source columns
    (``transactions.product_id``) is configured. ``earlier``: products it reads from the compared or
    another earlier period of the same dataset."""

    number: str
    name: str
    title: str
    needs: tuple[str, ...]
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    earlier: tuple[str, ...] = ()

    @property
    def notebook(self) -> str:
        """The notebook's file stem, e.g. ``03_rfm``."""
        return f"{self.number}_{self.name}"

    def refs(self, kind: str) -> dict[str, bool]:
        """Declared references of ``reads``, ``writes`` or ``earlier`` -> whether they are required."""
        return {ref.rstrip("?"): not ref.endswith("?") for ref in getattr(self, kind)}


# The sources besides transactions (customers, events, interactions, feedback, leads) are optional:
# 01 and 02 write their products when the dataset configures them.
STAGES: list[Stage] = [
    Stage(
        "01",
        "ingest",
        "Ingest",
        needs=("transactions",),
        writes=("ingested:transactions", *(f"ingested:{kind}?" for kind in OTHER_KINDS), "ingest_facts"),
    ),
    Stage(
        "02",
        "cleaning",
        "Cleaning and data quality",
        needs=("transactions",),
        reads=("ingested:transactions", *(f"ingested:{kind}?" for kind in OTHER_KINDS)),
        writes=(
            "clean:transactions",
            "rejected:transactions",
            *(f"{product}:{kind}?" for kind in OTHER_KINDS for product in ("clean", "rejected")),
            "quality",
        ),
    ),
    Stage(
        "03",
        "rfm",
        "RFM segments",
        needs=("transactions",),
        reads=("clean:transactions", "quality"),
        writes=("rfm", "rfm_cut_points", "segments"),
        earlier=("rfm_cut_points?",),
    ),
    # 04 and 05 write what their sources allow (the funnel needs events, the pipeline leads).
    Stage(
        "04",
        "behaviour",
        "Behaviour and sales funnel",
        needs=("events", "leads"),
        reads=("rfm?", "clean:transactions", "clean:events?", "clean:leads?", "clean:customers?"),
        writes=(
            "engagement?",
            "funnel?",
            "search_terms?",
            "activity?",
            "page_heat?",
            "channel_mix?",
            "pipeline?",
            "pipeline_groups?",
            "behaviour_facts",
        ),
    ),
    Stage(
        "05",
        "voice",
        "Voice of the customer",
        needs=("interactions", "feedback"),
        reads=("rfm?", "clean:transactions", "clean:interactions?", "clean:feedback?"),
        writes=("voice", "contacts?", "satisfaction?", "complaints?", "voice_value?", "voice_facts"),
    ),
    Stage(
        "06",
        "basket",
        "Market basket",
        needs=("transactions.product_id",),
        reads=("clean:transactions", "rfm?"),
        writes=("basket_rules", "next_best_product", "basket_facts"),
    ),
    # 07 reads only the clean orders, so a second kernel runs it next to 03 and 08.
    Stage(
        "07",
        "clv",
        "Lifetime value",
        needs=("transactions",),
        reads=("clean:transactions",),
        writes=("clv", "clv_model", "clv_holdout"),
    ),
    Stage(
        "08",
        "clustering",
        "Clusters",
        needs=("transactions",),
        reads=("rfm", "clean:customers?", "engagement?", "voice?"),
        writes=("clusters", "personas"),
    ),
    Stage(
        "09",
        "scoring",
        "Scores, status and actions",
        needs=("transactions",),
        reads=(
            "rfm",
            "rfm_cut_points",
            "clv?",
            "clv_model?",
            "clusters?",
            "clean:customers?",
            "clean:interactions?",
            "clean:transactions",
            "quality",
            "clean:events?",
            "clean:feedback?",
            "clean:leads?",
            "next_best_product?",
            "engagement?",
            "voice?",
        ),
        writes=(
            "scores",
            "score_facts",
            "churn_warning",
            "churn_model",
            "actions",
            "action_facts",
            "action_effects",
        ),
        earlier=("actions?",),
    ),
    Stage(
        "10",
        "report",
        "Customer report",
        needs=("transactions",),
        reads=(
            "quality",
            "clean:transactions",
            "clean:customers?",
            "rfm",
            "rfm_cut_points",
            "segments",
            "personas?",
            "clusters?",
            "scores?",
            "churn_warning?",
            "churn_model?",
            "clv?",
            "clv_model?",
            "actions?",
            "action_facts?",
            "action_effects?",
            "basket_rules?",
            "basket_facts?",
            "next_best_product?",
            "score_facts?",
            "engagement?",
            "voice?",
            "contacts?",
            "satisfaction?",
            "complaints?",
            "voice_value?",
            "voice_facts?",
            "funnel?",
            "activity?",
            "pipeline?",
            "behaviour_facts?",
        ),
        writes=("headline", "exports"),
        earlier=("rfm?", "scores?", "headline?"),
    ),
]
REPORT_STAGE = "10"  # its page is the period's landing page (index.html)


def split_ref(ref: str) -> tuple[Product, str | None]:
    """A product reference (``rfm``, ``clean:transactions``, optional ``?`` dropped) -> product, source."""
    key, _, source = ref.rstrip("?").partition(":")
    if key not in PRODUCTS:
        raise CatalogError(f"'{ref}' is not a product of the stage catalog; use one of {sorted(PRODUCTS)}.")
    return PRODUCTS[key], source or None


def file_of(ref: str) -> str:
    """The file (or folder) name of a product reference, e.g. ``02_transactions.parquet``."""
    product, source = split_ref(ref)
    return product.file_for(source)


def stage(number_or_name: str) -> Stage:
    """A stage by number (``08``) or notebook stem (``08_clustering``)."""
    for candidate in STAGES:
        if number_or_name in (candidate.number, candidate.notebook, candidate.name):
            return candidate
    raise CatalogError(
        f"there is no stage '{number_or_name}'; the stages are {', '.join(s.notebook for s in STAGES)}."
    )


def writer_of(ref: str) -> Stage | None:
    """The stage that writes a product reference."""
    ref = ref.rstrip("?")
    return next((s for s in STAGES if ref in s.refs("writes")), None)


def stage_of_file(name: str) -> Stage | None:
    """The stage whose product has this file name (for messages that name the stage to re-run)."""
    for candidate in STAGES:
        for ref in candidate.refs("writes"):
            product, source = split_ref(ref)
            if ("{source}" in product.file and source is not None and product.file_for(source) == name) or (
                product.file == name
            ):
                return candidate
    return None


def depends_on(later: Stage, earlier: Stage) -> bool:
    """Whether ``later`` reads (required or optional) a product ``earlier`` writes."""
    return bool(set(later.refs("reads")) & set(earlier.refs("writes")))


def downstream(selected: list[Stage]) -> list[Stage]:
    """The stages that read, directly or through others, a product of ``selected`` (not ``selected``)."""
    found = list(selected)
    for candidate in STAGES:  # in flow order, so one pass sees every chain
        if candidate not in found and any(depends_on(candidate, s) for s in found):
            found.append(candidate)
    return [s for s in found if s not in selected]


def need_met(params: Params, need: str) -> bool:
    """Whether a source kind (``events``) or a mapped source column (``transactions.product_id``) is
    configured for the period."""
    kind, _, column = need.partition(".")
    source = getattr(params.sources, kind, None)
    if source is None or not column:
        return source is not None
    mapping = source.columns.mapped() if hasattr(source, "columns") else {}
    return column in mapping


def missing_need(params: Params, candidate: Stage) -> str | None:
    """Why a stage cannot run on this dataset's sources, or None when it can."""
    if any(need_met(params, need) for need in candidate.needs):
        return None
    words = []
    for need in candidate.needs:
        kind, _, column = need.partition(".")
        words.append(f"{kind} have no {column} column" if column else f"{kind}")
    if all("." in need for need in candidate.needs):
        return " and ".join(words)
    return "no " + " or ".join(words) + " source"


# ---------------------------------------------------------------------------------- comparisons

BUILT_MARKER = "headline"  # a period whose published products hold this was built to the end


def is_built(dataset: str, period: str, root: Path | None = None) -> bool:
    """Whether the period's products were published by a complete build."""
    return (paths.processed_dir(dataset, period, root) / file_of(BUILT_MARKER)).is_file()


def sources_changed_since_build(params: Params, root: Path | None = None) -> list[str]:
    """The source kinds configured now but not when the period was built, or the reverse, in words
    (``feedback removed``): a re-run of some stages would read the other stages' products of the old
    sources (01 writes ``ingested:<kind>`` for each source it was given)."""
    folder = paths.processed_dir(params.dataset, params.period, root)
    changes = []
    for kind in OTHER_KINDS:
        configured, built = need_met(params, kind), (folder / file_of(f"ingested:{kind}")).is_file()
        if configured != built:
            changes.append(f"{kind} {'added' if configured else 'removed'}")
    return changes


@dataclass(frozen=True)
class Comparison:
    """The period a report is compared with (``label`` None: none) and why: ``reason`` names the
    sentence in the label dictionary (``comparison_<reason>``) and ``values`` fill it in."""

    label: str | None
    reason: str
    values: dict = field(default_factory=dict)
    params: Params | None = None
    folder: Path | None = None

    def text(self, language: str) -> str:
        """The sentence saying which period is compared, or why none is, in the page's language."""
        from helpers import labels

        return labels.t(f"comparison_{self.reason}", language, **self.values)

    @property
    def sentence(self) -> str:
        return self.text("en")


def ids_pseudonymised(dataset: str, period: str, root: Path | None = None) -> bool:
    """Whether a built period's customer ids are keyed hashes (as its ingest recorded)."""
    facts = paths.processed_dir(dataset, period, root) / file_of("ingest_facts")
    if not facts.is_file():
        return False
    return bool(json.loads(encryption.read_bytes(facts)).get("customer_id_pseudonymised"))


def protection(product: Product, params: Params) -> encryption.Protection | None:
    """How a product is to be encrypted under the period's privacy settings, or None (written plain):
    products with personal data when ``privacy.encrypt_products`` is on, the exports when
    ``privacy.encrypt_exports`` is."""
    privacy = params.privacy
    if not product.personal:
        return None
    if product.in_report:
        return (
            encryption.Protection(privacy.encryption_key_env, "privacy.encrypt_exports")
            if (privacy.encrypt_exports)
            else None
        )
    if privacy.encrypt_products:
        return encryption.Protection(privacy.encryption_key_env, "privacy.encrypt_products")
    return None


def _ids(pseudonymised: bool) -> str:
    return "pseudonymised" if pseudonymised else "in clear"


def compared_period(params: Params, root: Path | None = None) -> Comparison:
    """The compared period: ``compare_with`` when it names one (if built), else the latest earlier
    period of the same dataset that has been built; never another dataset's, and never a period whose
    customer ids are pseudonymised when this one's are not (or the other way round): the same
    customer would be two different ids."""
    name = params.dataset_title
    if params.compare_with is None:
        return Comparison(None, "none")
    periods = list_periods(params.dataset, root)
    hashed = params.privacy.pseudonymise_customer_id
    ids = {"other": _ids(not hashed), "this": _ids(hashed)}
    if params.compare_with != LATEST:
        label = params.compare_with
        if not is_built(params.dataset, label, root):
            return Comparison(None, "not_built", {"label": label})
        if ids_pseudonymised(params.dataset, label, root) != hashed:
            return Comparison(None, "ids_differ", {"label": label, **ids})
        reason, values = "explicit", {"label": label}
    else:
        earlier = periods[: periods.index(params.period)] if params.period in periods else []
        built = [p for p in earlier if is_built(params.dataset, p, root)]
        alike = [p for p in built if ids_pseudonymised(params.dataset, p, root) == hashed]
        if not alike:
            if built:
                return Comparison(None, "earlier_ids_differ", {"title": name, **ids})
            if earlier:
                return Comparison(None, "none_built", {"title": name})
            return Comparison(None, "first", {"title": name})
        label = alike[-1]
        reason, values = "latest", {"label": label, "title": name}
    return Comparison(
        label,
        reason,
        values,
        load_params(params.dataset, label, root),
        paths.processed_dir(params.dataset, label, root),
    )


def built_periods(params: Params, how_many: int, root: Path | None = None) -> list[str]:
    """The periods of the dataset up to this one (this one included, oldest first, at most
    ``how_many``) that trends show: every earlier period that has been built, and this one."""
    periods = list_periods(params.dataset, root)
    earlier = periods[: periods.index(params.period)] if params.period in periods else []
    built = [p for p in earlier if is_built(params.dataset, p, root)]
    return (built + [params.period])[-how_many:]


# ---------------------------------------------------------------------------------- notebooks


@dataclass
class StageRun:
    """What a notebook of one stage reads and writes, for one period of one dataset: paths of the
    products its stage declares, in the runner's staging folder (``products_dir``) or, run by hand, in
    the published folder ``data/processed/<dataset>/<period>/``. The report's files go to the runner's
    staging folder (``report_dir``) or, by hand, to ``data/interim/<dataset>/<period>/``: a hand run
    never changes a published page."""

    stage: Stage
    dataset: str
    period: str
    products_dir: str | None = None
    report_dir: str | None = None
    root: Path | None = None
    accessed: list[tuple[str, str]] = field(default_factory=list)

    @cached_property
    def params(self) -> Params:
        return load_params(self.dataset, self.period, self.root)

    def _own_folder(self, given: str | None, published: Path) -> Path:
        """``given`` (the runner's staging folder, which it closed itself), else the folder of a hand run,
        created readable by its owner only (or the privacy.group)."""
        if given:
            folder = Path(given)
            folder.mkdir(parents=True, exist_ok=True)
            return folder
        return permissions.private_folder(published, permissions.Modes.of(self.params.privacy))

    @cached_property
    def folder(self) -> Path:
        """The products folder (created)."""
        return self._own_folder(self.products_dir, paths.processed_dir(self.dataset, self.period, self.root))

    @cached_property
    def pages(self) -> Path:
        """Where the report stage writes what is published under reports/ (exports)."""
        return self._own_folder(self.report_dir, paths.interim_dir(self.dataset, self.period, self.root))

    def _declared(self, ref: str, kind: str) -> bool:
        declared = self.stage.refs(kind)
        plain = ref.rstrip("?")
        if plain not in declared:
            verb = {"reads": "reads", "writes": "writes", "earlier": "reads from an earlier period"}[kind]
            raise CatalogError(
                f"{self.stage.notebook} {verb} '{plain}', which the stage catalog does not declare; add it "
                f"to "
                f"the stage's {kind} in helpers/catalog.py or use one of {sorted(declared) or 'none'}."
            )
        return declared[plain] and not ref.endswith("?")

    def _record(self, ref: str, mode: str, found: bool) -> None:
        self.accessed.append((ref.rstrip("?"), mode))
        log = os.environ.get(LOG_ENV)
        if log:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(
                    json.dumps(
                        {
                            "dataset": self.dataset,
                            "period": self.period,
                            "stage": self.stage.number,
                            "product": ref.rstrip("?"),
                            "mode": mode,
                            "found": found,
                        }
                    )
                    + "\n"
                )

    def input(self, ref: str) -> Path | None:
        """The path of a product the stage reads. A required one (no ``?``) must exist: else one sentence
        names the stage to run first. An optional one (``clusters?``) gives None when it is absent."""
        required = self._declared(ref, "reads")
        product, source = split_ref(ref)
        path = (self.pages if product.in_report else self.folder) / product.file_for(source)
        self._record(ref, "read", path.exists())
        if path.exists():
            return path
        if required:
            writer = writer_of(ref)
            raise ProductError(
                f"{path}: product not found; run notebook {writer.notebook if writer else '?'} first."
            )
        return None

    def output(self, ref: str) -> Path:
        """The path where the stage writes a product it declares (its folder created); marked to be
        written encrypted when the privacy settings ask for it (``helpers.io`` then encrypts it)."""
        self._declared(ref, "writes")
        product, source = split_ref(ref)
        path = (self.pages if product.in_report else self.folder) / product.file_for(source)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._record(ref, "write", True)
        return encryption.protect(path, protection(product, self.params))

    @property
    def written(self) -> list[str]:
        """The files the notebook has asked to write so far, for its last line."""
        return [file_of(ref) for ref, mode in self.accessed if mode == "write"]

    @cached_property
    def comparison(self) -> Comparison:
        """The period this one is compared with (same dataset), and the sentence saying which."""
        return compared_period(self.params, self.root)

    def earlier_input(self, ref: str, period: str | None = None) -> Path | None:
        """A product of an earlier period of the same dataset (the compared one unless ``period`` is
        given), as published; None when that period or product is absent and the reference is optional."""
        required = self._declared(ref, "earlier")
        label = period or self.comparison.label
        path = paths.processed_dir(self.dataset, label, self.root) / file_of(ref) if label else None
        found = path is not None and path.is_file()
        self._record(ref, "earlier", found)
        if found:
            return path
        if required:
            raise ProductError(f"{path}: product of period {label} not found; build {label} first.")
        return None

    def describe(self) -> str:
        """One line per direction for the notebook's first cell: what it reads and writes."""

        def names(kind: str) -> str:
            refs = getattr(self.stage, kind)
            return ", ".join(file_of(r) + (" (when present)" if r.endswith("?") else "") for r in refs) or "-"

        lines = [
            f"{self.params.dataset_title} · {self.period}: {self.params.period_start} to "
            f"{self.params.period_end}"
        ]
        if self.stage.number == "01":
            for kind, source in self.params.sources.configured().items():
                lines.append(f"Reads  {kind}: {source.path or source.url_env} ({source.format})")
        else:
            lines.append(f"Reads  {names('reads')}")
        lines.append(f"Writes {names('writes')}")
        return "\n".join(lines)


def open_stage(
    number: str,
    dataset: str,
    period: str,
    products_dir: str | None = None,
    report_dir: str | None = None,
    root: Path | None = None,
) -> StageRun:
    """The products of one stage of one period, for its notebook."""
    return StageRun(stage(number), dataset, period, products_dir, report_dir, root)


# ---------------------------------------------------------------------------------- the table


def stage_table() -> list[dict[str, str]]:
    """The catalog as rows (``python -m helpers stages`` and the README)."""

    def files(refs: tuple[str, ...]) -> str:
        return ", ".join(file_of(r) + ("?" if r.endswith("?") else "") for r in refs) or "-"

    return [
        {
            "stage": s.notebook,
            "needs": " or ".join(s.needs),
            "reads": files(s.reads),
            "writes": files(s.writes),
            "earlier period": files(s.earlier),
        }
        for s in STAGES
    ]


def format_stage_table() -> str:
    """The stage table as aligned text."""
    rows = stage_table()
    lines = []
    for row in rows:
        lines.append(f"{row['stage']:<14} needs {row['needs']}")
        lines.append(f"{'':<14} reads  {row['reads']}")
        lines.append(f"{'':<14} writes {row['writes']}")
        if row["earlier period"] != "-":
            lines.append(f"{'':<14} and from an earlier period {row['earlier period']}")
    lines.append("(? = read when present: an optional source or a stage that may be skipped)")
    return "\n".join(lines)
