"""Who may be contacted: the action exports (the lists a CRM or an e-mail tool imports) leave out
customers without marketing consent and customers on a suppression list (a do-not-contact list, a
list of objections), and the page counts them.

Consent comes from the clean customers (product ``clean:customers``), whose ``marketing_consent`` is a
boolean when ``sources.customers.columns.marketing_consent`` maps a source column: cleaning reads yes
words as true, no words as false and anything else as missing (``values:`` maps other words). Consent is
explicit or absent: only true counts; false, missing, or no row of the customer counts as no.
Suppression lists are files named in ``privacy.suppression_lists``: one customer id a line as the
source writes it (blank lines and lines starting with ``#`` are skipped); with pseudonymised ids they
are hashed with the same key, so the list keeps the source's ids and matches the products' pseudonyms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers import paths

CONSENT_COLUMN = "marketing_consent"  # the clean customers' boolean (sources.customers.columns)


class ConsentError(ValueError):
    """A consent column or a suppression list cannot be read; the message names it and the fix."""


def has_consent(answers: pd.Series) -> pd.Series:
    """True where the clean customers' boolean answer is true; false and missing are no. A column that
    is not boolean (the clean product always gives one) is refused rather than guessed at."""
    try:
        flags = pd.array(answers, dtype="boolean")
    except (TypeError, ValueError):
        raise ConsentError(
            f"the clean customers' {CONSENT_COLUMN} holds values that are not true or false "
            f"({', '.join(map(repr, answers.dropna().astype(str).unique()[:3]))}); rebuild the period "
            "from stage 02, which reads the source's answers as booleans."
        ) from None
    return pd.Series(flags, index=answers.index).fillna(False).astype(bool)


def consented_customers(
    customers: pd.DataFrame, consent_column: str = CONSENT_COLUMN, id_column: str = "customer_id"
) -> set[str]:
    """The ids of the customers who gave marketing consent in the clean customers: every row of the
    customer says true (a customer kept twice, once true and once false, has not consented)."""
    for column in (id_column, consent_column):
        if column not in customers.columns:
            raise ConsentError(
                f"the clean customers have no column '{column}'; map the source's consent column to "
                f"sources.customers.columns.{consent_column} in params and rebuild the period."
            )
    answers = has_consent(customers[consent_column]).groupby(customers[id_column].astype(str)).all()
    return set(answers.index[answers.to_numpy()])


def read_id_list(path: Path) -> list[str]:
    """The ids of a suppression list file: one a line; blank lines and ``#`` comments skipped."""
    if not path.is_file():
        raise ConsentError(
            f"{path}: suppression list not found; privacy.suppression_lists names it: put the file there "
            "or remove it from the list."
        )
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def suppressed_ids(privacy, root: Path | None = None) -> set[str]:
    """Every id on the suppression lists, normalised as ingest normalises ids and pseudonymised when
    the products' ids are."""
    from helpers.privacy import keys
    from helpers.schema import normalised_ids

    raw = [i for name in privacy.suppression_lists for i in read_id_list(paths.resolve(name, root))]
    ids = {i for i in normalised_ids(raw) if i is not None}
    if privacy.pseudonymise_customer_id and ids:
        secret = keys.secret(privacy.key_env, "privacy.pseudonymise_customer_id")
        ids = {keys.keyed_hash(secret, i) for i in ids}
    return ids


@dataclass
class LeftOut:
    """Customers of the lists left out of the exports, by reason (a customer may have both)."""

    without_consent: set[str] = field(default_factory=set)
    suppressed: set[str] = field(default_factory=set)
    consent_known: bool = False
    lists: int = 0

    @property
    def customers(self) -> set[str]:
        return self.without_consent | self.suppressed

    def sentence(self, language: str = "en") -> str:
        """What the exports hold, in one sentence for the page (in its language)."""
        from helpers import formats, labels

        def t(key: str, **values: object) -> str:
            return labels.t(key, language, **values)

        n, consent, listed = len(self.customers), len(self.without_consent), len(self.suppressed)
        if not self.consent_known and not self.lists:
            return t("exports_left_out_none")
        if not n:
            reasons = [t("exports_all_consented")] * self.consent_known + [t("exports_none_listed")] * bool(
                self.lists
            )
            return t("exports_left_out_zero", reasons=labels.join(reasons, language))
        parts = [t("exports_without_consent", count=formats.count(consent))] * self.consent_known
        parts += [t("exports_on_list", count=formats.count(listed))] * bool(self.lists)
        both = consent + listed - n
        reasons = labels.join(parts, language) + (
            t("exports_both", count=formats.count(both)) if both else ""
        )
        return t(
            "exports_left_out_one" if n == 1 else "exports_left_out", count=formats.count(n), reasons=reasons
        )


def exportable(
    tables: dict[str, pd.DataFrame],
    suppressed: set[str],
    consented: set[str] | None = None,
    lists: int = 0,
    id_column: str = "customer_id",
) -> tuple[dict[str, pd.DataFrame], LeftOut]:
    """The export tables without the customers on a suppression list and, when consent is known
    (``consented`` not None), without those who did not consent; and who was left out. A table
    without an id column (none today) is kept whole."""
    left = LeftOut(consent_known=consented is not None, lists=lists)
    kept = {}
    for name, table in tables.items():
        if id_column not in table.columns:
            kept[name] = table
            continue
        ids = table[id_column].astype(str)
        on_list = ids.isin(suppressed)
        no_consent = ~ids.isin(consented) if consented is not None else pd.Series(False, index=table.index)
        left.suppressed |= set(ids[on_list])
        left.without_consent |= set(ids[no_consent])
        kept[name] = table[~(on_list | no_consent)].reset_index(drop=True)
    return kept, left


def consent_mapped(params) -> bool:
    """Whether the period's customers source maps a consent column
    (``sources.customers.columns.marketing_consent``)."""
    customers = getattr(getattr(params, "sources", None), "customers", None)
    return customers is not None and customers.columns.mapped().get(CONSENT_COLUMN) is not None


def for_exports(
    tables: dict[str, pd.DataFrame],
    params,
    customers: pd.DataFrame | None = None,
    root: Path | None = None,
) -> tuple[dict[str, pd.DataFrame], LeftOut]:
    """:func:`exportable` with the period's suppression lists and, when
    ``sources.customers.columns.marketing_consent`` is mapped, the consent of ``customers`` (the clean
    customers, ``clean:customers``): a customer of a list without a row saying true there is left out.
    Consent mapped but no clean customers to read it from is one sentence, not every customer exported."""
    consented = None
    if consent_mapped(params):
        if customers is None:
            raise ConsentError(
                f"sources.customers.columns.{CONSENT_COLUMN} is mapped but the clean customers "
                "(clean:customers) are missing; run stage 02 again before the report."
            )
        consented = consented_customers(customers)
    return exportable(
        tables,
        suppressed_ids(params.privacy, root),
        consented,
        lists=len(params.privacy.suppression_lists),
    )
